"""A report: the indicators of one agency for one period, disaggregated and suppressed.

`build_report` runs the grouped queries (queries.py), applies small-cell suppression
(suppression.py) and returns plain data that every output (page, JSON, CSV, HXL, XLSX, DHIS2)
renders. Only aggregates ever reach this module: no name, no case reference. Persons who refuse
anonymised reporting on the period's last day are in no figure; each indicator says how many
it left out (`left_out`, suppressed like any count).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from casework.indicators import suppression
from casework.indicators.definitions import CONTAIN_NUMERATOR, IndicatorSpec
from casework.indicators.dimensions import DIMENSIONS, Dimension, dimension_for, spec_name
from casework.indicators.periods import Period
from casework.indicators.queries import Counts, Figures, GroupingSet, Key, count_persons
from casework.indicators.rules import Q3_WAYS
from casework.indicators.selectors import load_specs


def percentage(numerator: int, denominator: int) -> float | None:
    """100 × n / d to one decimal, halves rounded up (31.25 → 31.3); None when d is 0."""
    if not denominator:
        return None
    exact = Decimal(100 * numerator) / Decimal(denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass
class Row:
    key: Key
    # (count,) for a count indicator, (numerator, denominator) for a percentage
    figures: tuple[int, ...]
    suppressed: bool = False

    @property
    def is_percentage(self) -> bool:
        return len(self.figures) == 2

    @property
    def count(self) -> int | None:
        return None if self.suppressed else self.figures[-1]

    @property
    def numerator(self) -> int | None:
        return None if self.suppressed else self.figures[0]

    @property
    def denominator(self) -> int | None:
        return None if self.suppressed else self.figures[1]

    @property
    def value(self) -> int | float | None:
        if self.suppressed:
            return None
        if self.is_percentage:
            return percentage(*self.figures)
        return self.figures[0]

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key[0] if len(self.key) == 1 else list(self.key)}
        if self.is_percentage:
            data.update(numerator=self.numerator, denominator=self.denominator)
        data["value"] = self.value
        if self.suppressed:
            data["suppressed"] = True
        return data


@dataclass
class IndicatorReport:
    spec: IndicatorSpec
    total: Row
    # "open", "closed", "also_mhpss", "surveyed": None when suppressed
    measures: dict[str, int | None] = field(default_factory=dict)
    q3: dict[str, int | None] | None = None
    by: dict[GroupingSet, list[Row]] = field(default_factory=dict)
    # Persons left out because they refuse anonymised reporting (None: suppressed).
    left_out: int | None = 0

    @property
    def code(self) -> str:
        return self.spec.code

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code}
        if self.spec.is_percentage:
            data.update(numerator=self.total.numerator, denominator=self.total.denominator)
        data["value"] = self.total.value
        if not self.spec.is_percentage:
            data.update(self.measures)
        data["by"] = {
            spec_name(dimensions): [row.as_json() for row in rows]
            for dimensions, rows in self.by.items()
        }
        if self.spec.is_percentage:
            data.update(self.measures)
        if self.q3 is not None:
            q3: dict[str, Any] = dict(self.q3)
            if any(value is None for value in self.q3.values()):
                q3["suppressed"] = True
            data["q3"] = q3
        # Said only when someone was left out, so that a report without refusals (every import
        # in the interchange format) keeps exactly the contract's shape.
        if self.left_out != 0:
            data["left_out"] = self.left_out
        if (
            self.total.suppressed
            or any(value is None for value in self.measures.values())
            or self.left_out is None
        ):
            data["suppressed"] = True
        return data


@dataclass
class Report:
    agency_code: str
    period: Period
    min_cell: int
    disaggregations: list[GroupingSet]
    indicators: list[IndicatorReport]
    # Every dimension of the report by name (the built-ins and the agency's `attr:` ones).
    dimensions: dict[str, Dimension] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Exactly the contract's shape (`casework indicators --format json`)."""
        return {
            "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
            "indicators": [indicator.as_json() for indicator in self.indicators],
        }


def _figures(spec: IndicatorSpec, figures: Figures) -> tuple[int, ...]:
    if spec.is_percentage:
        return (figures.numerator, figures.persons)
    return (figures.persons,)


def _sorted_keys(
    dimension: str, keys: Sequence[str], known: dict[str, Dimension] | None = None
) -> list[str]:
    found = (known or {}).get(dimension) or DIMENSIONS[dimension]
    return sorted(keys, key=found.sort_key)


def build_report(
    *,
    agency_id: int,
    agency_code: str,
    period: Period,
    by: Sequence[GroupingSet] = (),
    min_cell: int,
    codes: list[str] | None = None,
) -> Report:
    specs = load_specs(agency_id, codes)
    known = {name: dimension_for(name, agency_id) for dimensions in by for name in dimensions}
    singles = {(d,) for dimensions in by for d in dimensions}
    sets = sorted(singles | set(by), key=lambda s: (len(s), s))
    counts = count_persons(agency_id=agency_id, period=period, specs=specs, sets=sets)
    # Indicators over the same persons publish the same denominators: were each suppressed on
    # its own, one could show a cell that the other hides to protect a third, and the two
    # together would give it back. They share one pattern of hidden cells instead.
    sharing: dict[str, list[IndicatorSpec]] = defaultdict(list)
    for spec in specs:
        sharing[spec.denominator_key()].append(spec)
    patterns: dict[str, Pattern] = {}
    for members in sharing.values():
        pattern = _pattern(members, counts, by=list(by), k=min_cell, known=known)
        patterns.update((spec.code, pattern) for spec in members)
    indicators = [
        _indicator_report(spec, counts, patterns[spec.code], by=list(by), k=min_cell)
        for spec in sorted(specs, key=lambda s: s.code)
    ]
    return Report(
        agency_code=agency_code,
        period=period,
        min_cell=min_cell,
        disaggregations=list(by),
        indicators=indicators,
        dimensions=known,
    )


@dataclass
class Pattern:
    """Which cells are hidden, decided once for indicators that share a denominator."""

    total_hidden: bool
    # dimension → (every key published, the hidden ones)
    one_way: dict[str, tuple[list[str], set[str]]] = field(default_factory=dict)
    # (first, second) dimensions → the hidden (row, column) pairs
    two_way: dict[GroupingSet, set[tuple[str, str]]] = field(default_factory=dict)


_EMPTY = Figures()


def _joint(
    members: list[IndicatorSpec], counts: Counts, dimensions: GroupingSet, key: Key
) -> tuple[int, ...]:
    """Every figure the members publish for one cell: their numerators, then the persons."""
    found = [counts[spec.code][dimensions].get(key, _EMPTY) for spec in members]
    numerators = [f.numerator for spec, f in zip(members, found, strict=True) if spec.is_percentage]
    return (*numerators, max(f.persons for f in found))


def _pattern(
    members: list[IndicatorSpec],
    counts: Counts,
    *,
    by: list[GroupingSet],
    k: int,
    known: dict[str, Dimension] | None = None,
) -> Pattern:
    total = _joint(members, counts, (), ())
    # One-way tables are decided first and on their own, so each reads the same whatever else
    # the report holds; two-way tables then take them as fixed margins.
    pattern = Pattern(total_hidden=suppression.needs_primary(total, k))
    cells_of: dict[str, dict[str, tuple[int, ...]]] = {}
    for dimension in sorted({d for dimensions in by for d in dimensions}):
        keys = {key for spec in members for key in counts[spec.code][(dimension,)]}
        cells = {key[0]: _joint(members, counts, (dimension,), key) for key in keys}
        hidden, _total_hidden = suppression.one_way(cells, total=total, k=k)
        cells_of[dimension] = cells
        pattern.one_way[dimension] = (_sorted_keys(dimension, list(cells), known), hidden)
    for dimensions in by:
        if len(dimensions) != 2:
            continue
        first, second = dimensions
        (rows, hidden_rows), (columns, hidden_columns) = (
            pattern.one_way[first],
            pattern.one_way[second],
        )
        pair_cells = {
            (row, column): _joint(members, counts, dimensions, (row, column))
            for row in rows
            for column in columns
        }
        pattern.two_way[dimensions] = suppression.two_way(
            pair_cells,
            rows=cells_of[first],
            columns=cells_of[second],
            hidden_rows=hidden_rows,
            hidden_columns=hidden_columns,
            total=total,
            total_hidden=pattern.total_hidden,
            k=k,
        )
    return pattern


def _indicator_report(
    spec: IndicatorSpec, counts: Counts, pattern: Pattern, *, by: list[GroupingSet], k: int
) -> IndicatorReport:
    figures = counts[spec.code]
    total_figures = figures[()].get((), None) or Figures()
    total = Row((), _figures(spec, total_figures), pattern.total_hidden)
    report = IndicatorReport(spec=spec, total=total)
    for dimensions in by:
        if not spec.allows(dimensions):
            continue
        if len(dimensions) == 1:
            (dimension,) = dimensions
            keys, hidden = pattern.one_way[dimension]
            report.by[dimensions] = [
                Row((key,), _figures(spec, figures[dimensions].get((key,), _EMPTY)), key in hidden)
                for key in keys
            ]
            continue
        rows, _hidden_rows = pattern.one_way[dimensions[0]]
        columns, _hidden_columns = pattern.one_way[dimensions[1]]
        hidden_pairs = pattern.two_way[dimensions]
        report.by[dimensions] = [
            Row(
                (row, column),
                _figures(spec, figures[dimensions].get((row, column), _EMPTY)),
                (row, column) in hidden_pairs,
            )
            for row in rows
            for column in columns
        ]
    _add_measures(report, total_figures, k=k)
    # A count of persons like any other: a small one would single out who refused. It adds up
    # with no published figure (the value leaves these persons out), so it needs no partner.
    left_out = total_figures.left_out
    report.left_out = None if suppression.is_small(left_out, k) else left_out
    return report


def _add_measures(report: IndicatorReport, figures: Figures, *, k: int) -> None:
    """The figures reported beside the value, each suppressed like any other count."""
    spec = report.spec
    persons = figures.persons
    hidden_total = report.total.suppressed
    values: dict[str, int] = {}
    for name in spec.measures:
        if name == "closed":
            values[name] = persons - figures.measures.get("open", 0)
        elif name != "q3":
            values[name] = figures.measures.get(name, 0)
    hidden: set[str] = set()
    if "open" in values and "closed" in values:
        # open + closed = the published total: hiding one alone would give it back.
        hidden |= suppression.series(
            {"open": (values["open"],), "closed": (values["closed"],)},
            {"open": ("open+closed",), "closed": ("open+closed",)},
            k=k,
        )
    for name, value in values.items():
        if name in ("open", "closed") and "open" in values and "closed" in values:
            continue
        # Its complement among the persons counted is a count of persons too, and so is what
        # it holds beyond the numerator when it contains it (everyone involved was surveyed).
        implied = [persons - value]
        if name in CONTAIN_NUMERATOR:
            implied.append(value - figures.numerator)
        if suppression.is_small(value, k) or any(suppression.is_small(n, k) for n in implied):
            hidden.add(name)
    report.measures = {
        name: None if hidden_total or name in hidden else value for name, value in values.items()
    }
    if "q3" in spec.measures:
        numerator = figures.numerator
        report.q3 = {}
        for way in Q3_WAYS:
            count = figures.measures.get(f"q3:{way}", 0)
            small = suppression.is_small(count, k) or suppression.is_small(numerator - count, k)
            report.q3[way] = None if hidden_total or small else count
