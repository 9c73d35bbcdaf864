"""A report: the indicators of one agency for one period, disaggregated and suppressed.

`build_report` runs the grouped queries (queries.py), applies small-cell suppression
(suppression.py) and returns plain data that every output (page, JSON, CSV, HXL, XLSX, DHIS2)
renders. Only aggregates ever reach this module: no name, no case reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from casework.indicators import suppression
from casework.indicators.definitions import IndicatorSpec, load_specs
from casework.indicators.dimensions import DIMENSIONS, spec_name
from casework.indicators.periods import Period
from casework.indicators.queries import Counts, Figures, GroupingSet, Key, count_persons
from casework.indicators.rules import Q3_WAYS


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
        if self.total.suppressed or any(value is None for value in self.measures.values()):
            data["suppressed"] = True
        return data


@dataclass
class Report:
    agency_code: str
    period: Period
    min_cell: int
    disaggregations: list[GroupingSet]
    indicators: list[IndicatorReport]

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


def _sorted_keys(dimension: str, keys: Sequence[str]) -> list[str]:
    return sorted(keys, key=DIMENSIONS[dimension].sort_key)


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
    singles = {(d,) for dimensions in by for d in dimensions}
    sets = sorted(singles | set(by), key=lambda s: (len(s), s))
    counts = count_persons(agency_id=agency_id, period=period, specs=specs, sets=sets)
    indicators = [
        _indicator_report(spec, counts, by=list(by), k=min_cell)
        for spec in sorted(specs, key=lambda s: s.code)
    ]
    return Report(
        agency_code=agency_code,
        period=period,
        min_cell=min_cell,
        disaggregations=list(by),
        indicators=indicators,
    )


def _indicator_report(
    spec: IndicatorSpec, counts: Counts, *, by: list[GroupingSet], k: int
) -> IndicatorReport:
    figures = counts[spec.code]
    total_figures = figures[()].get((), None) or Figures()
    total = Row((), _figures(spec, total_figures))
    # One-way tables are decided first and on their own, so each reads the same whatever else
    # the report holds; two-way tables then take them as fixed margins.
    one_way: dict[str, tuple[dict[str, tuple[int, ...]], set[str]]] = {}
    total_hidden = suppression.needs_primary(total.figures, k)
    for dimensions in by:
        for dimension in dimensions:
            if dimension in one_way:
                continue
            cells = {key[0]: _figures(spec, f) for key, f in figures[(dimension,)].items()}
            hidden, total_hidden = suppression.one_way(cells, total=total.figures, k=k)
            one_way[dimension] = (cells, hidden)
    total.suppressed = total_hidden
    report = IndicatorReport(spec=spec, total=total)
    for dimensions in by:
        if not spec.allows(dimensions):
            continue
        if len(dimensions) == 1:
            (dimension,) = dimensions
            cells, hidden = one_way[dimension]
            report.by[dimensions] = [
                Row((key,), cells[key], key in hidden)
                for key in _sorted_keys(dimension, list(cells))
            ]
            continue
        first, second = dimensions
        rows, hidden_rows = one_way[first]
        columns, hidden_columns = one_way[second]
        zero = (0, 0) if spec.is_percentage else (0,)
        pair_cells = {
            (row, column): _figures(spec, figures[dimensions][(row, column)])
            if (row, column) in figures[dimensions]
            else zero
            for row in _sorted_keys(first, list(rows))
            for column in _sorted_keys(second, list(columns))
        }
        hidden_pairs = suppression.two_way(
            pair_cells,
            rows=rows,
            columns=columns,
            hidden_rows=hidden_rows,
            hidden_columns=hidden_columns,
            total=total.figures,
            total_hidden=total_hidden,
            k=k,
        )
        report.by[dimensions] = [
            Row(key, cell, key in hidden_pairs) for key, cell in pair_cells.items()
        ]
    _add_measures(report, total_figures, k=k)
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
        # Its complement among the persons counted is a count of persons too.
        if suppression.is_small(value, k) or suppression.is_small(persons - value, k):
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
