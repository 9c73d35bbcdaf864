"""The indicator engine: grouped aggregate queries, computed in the database.

No case is ever loaded into Python. All the indicators that read the period the same way (the
three built-ins: "in case management during the period") are computed by ONE SQL statement:

1. the agency's cases of the period, in the order (person, registered_on, reference), each with
   window functions over that single ordering (so one sort, or none with the covering index):
   - for each distinct `cases` rule, a running count of the person's cases that meet it; the
     case where that count first reaches 1 is the person's earliest-registered qualifying case
     (contract: "ties: the smallest case_ref"), whose attributes the person is counted with;
   - person-level facts ("at least one qualifying case has an individualised plan", "one is
     still open at the end") as MAX() over the whole person;
   - whether the person refuses anonymised reporting on the period's last day (a subquery of
     the same statement): such a person counts in no figure, only among those left out;
2. each person's latest participation survey inside the period is joined, as one integer of
   answer bits (another ROW_NUMBER() query over the period's surveys);
3. each kept row turns into small integers ("counts for indicator i", "in its numerator", …),
   and GROUPING SETS (one GROUP BY per set over a materialised CTE on SQLite, which has none)
   sum them by the raw columns: sex, age, concern id, location id … A few hundred aggregated
   rows come back; Python adds them up into the requested slices (age → age group, location →
   each admin level), which is exact because every figure is a sum.

Steps 1 and 2 are ORM querysets (Window, RowNumber, Max, Sum and Q objects compiled from the
rule language); step 3 wraps their compiled SQL in a fixed template whose only identifiers are
column names generated here.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case as CaseWhen
from django.db.models import (
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.expressions import Combinable, RowRange
from django.db.models.functions import RowNumber

from casework.indicators import rules
from casework.indicators.definitions import MHPSS_PROGRAMME, IndicatorSpec
from casework.indicators.dimensions import (
    DIMENSIONS,
    RAW_COLUMNS,
    UNKNOWN,
    Dimension,
    age_group,
    dimension_for,
)
from casework.indicators.periods import Period

GroupingSet = tuple[str, ...]
Key = tuple[str, ...]
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_:]*$")


@dataclass
class Figures:
    """The aggregated figures of one slice (or the total) for one indicator."""

    persons: int = 0  # the count (count indicators) or the denominator (percentages)
    numerator: int = 0
    measures: dict[str, int] = field(default_factory=dict)
    # The persons the indicator would count but leaves out: they refused anonymised reporting.
    left_out: int = 0

    def add(self, other: Figures) -> None:
        self.persons += other.persons
        self.numerator += other.numerator
        self.left_out += other.left_out
        for name, value in other.measures.items():
            self.measures[name] = self.measures.get(name, 0) + value


# indicator code → grouping set of dimensions → key → figures
Counts = dict[str, dict[GroupingSet, dict[Key, Figures]]]


def flag(condition: Q) -> CaseWhen:
    """1 where the condition holds on the row, else 0 (so that SUM and MAX count it)."""
    return CaseWhen(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def by_person(expression: Any, *, whole: bool) -> Window:
    """Over the person's cases, earliest registered first (ties: smallest reference); every
    window of the query uses this one ordering, so the database sorts once (or not at all)."""
    return Window(
        expression,
        partition_by=[F("person_id")],
        order_by=[F("registered_on"), F("reference")],
        frame=RowRange(start=None, end=None if whole else 0),
    )


def whole_person(expression: Combinable) -> Window:
    """The largest value over all the person's cases of the period: "at least one of them"."""
    return by_person(Max(expression), whole=True)


def so_far(expression: Combinable) -> Window:
    """A running sum over the person's cases up to this one."""
    return by_person(Sum(expression), whole=False)


def refusal_in_force(on: datetime.date, person: str = "person_id") -> Q:
    """Rows of the persons who, on `on`, refuse to be counted in anonymised reports.

    Every indicator, trend and aggregate export leaves them out through this one condition:
    a period's figures leave out whoever refuses on the period's last day. The rule that reads
    the consents (what a refusal, a withdrawal or a later consent means) is
    `cases.selectors.persons_refusing_reporting`. It is a subquery inside the report's own
    statement, so a report takes no more queries than before.
    """
    from casework.cases.selectors import persons_refusing_reporting

    return Q(**{f"{person}__in": persons_refusing_reporting(on)})


def survey_mask() -> Combinable:
    """A participation survey's answers as bits (rules.SURVEY_BITS), added up in one integer."""
    bits = rules.SURVEY_BITS
    parts: list[Combinable] = [
        flag(Q(q1_aware=True)) * bits["q1_aware"],
        flag(Q(q2_involved=True)) * bits["q2_involved"],
        flag(Q(q2_involved=False)) * bits["q2_not_involved"],
    ]
    parts += [flag(Q(**{f"q3_{way}": True})) * bits[f"q3_{way}"] for way in rules.Q3_WAYS]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def latest_surveys(
    agency_id: int, period: Period, persons: PersonRange = (None, None)
) -> QuerySet[Any]:
    """Each person's latest participation survey inside the period, over all their cases (of the
    persons in the range only: the range is applied before the ranking, so each part of a split
    report ranks its own persons' surveys, not the whole quarter's)."""
    from casework.feedback.models import ParticipationSurvey

    surveys = ParticipationSurvey.objects.filter(
        case__agency_id=agency_id, surveyed_on__range=(period.start, period.end)
    )
    return (
        _persons_between(surveys, "case__person_id", persons)
        .annotate(
            survey_rank=Window(
                RowNumber(),
                partition_by=[F("case__person_id")],
                order_by=[F("surveyed_on").desc(), F("pk").desc()],
            )
        )
        .filter(survey_rank=1)
        .values(s_person=F("case__person_id"), s_mask=survey_mask())
    )


def latest_survey_mask(agency_id: int, period: Period) -> Subquery:
    """The same figure as `latest_surveys`, asked per case row (SQLite's way).

    SQLite builds no automatic index to join the cases' windowed rows to the ranked surveys, and
    then scans every survey for every case (hours at 1,000,000 cases). Asked per row, the
    person's latest survey is two index searches (the person's cases, each case's surveys in
    the period): 7 s for the 535,000 cases of a quarter.
    """
    from casework.feedback.models import ParticipationSurvey

    return Subquery(
        ParticipationSurvey.objects.filter(
            case__agency_id=agency_id,
            case__person_id=OuterRef("person_id"),
            surveyed_on__range=(period.start, period.end),
        )
        .order_by("-surveyed_on", "-pk")
        .annotate(s_mask=survey_mask())
        .values("s_mask")[:1],
        output_field=IntegerField(),
    )


# --- the SQL around the ORM ------------------------------------------------------------------------


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _when(condition: str, then: str = "1") -> str:
    return f"(CASE WHEN {condition} THEN {then} ELSE 0 END)"


def _survey_test(required: int, forbidden: int = 0) -> str:
    """SQL true when the person has a survey with these bits set (and those clear)."""
    mask = _quote("s_mask")
    test = f"{mask} IS NOT NULL AND ({mask} & {int(required)}) = {int(required)}"
    if forbidden:
        test += f" AND ({mask} & {int(forbidden)}) = 0"
    return test


def grouped_rows(
    rows: QuerySet[Any],
    *,
    columns: Sequence[str],
    sets: Sequence[GroupingSet],
    contributions: dict[str, str],
    totals_only: Iterable[str] = (),
    where: str = "",
    surveys: QuerySet[Any] | None = None,
) -> list[tuple[GroupingSet, tuple[Any, ...], dict[str, int]]]:
    """Sum `contributions` (SQL over the columns of `rows`) for every grouping set of `columns`.

    The contributions named in `totals_only` are summed for the empty set (the total) only.
    `contributions` and `where` are built in this app from generated column names and integers
    only, never from input; the names are checked once more here.
    """
    for name in [*columns, *contributions]:
        if not _IDENTIFIER.match(name):
            raise ValueError(f"Not a generated column name: {name!r}")
    sql, row_params = rows.query.sql_with_params()
    params = list(row_params)
    source = f"({sql}) r"
    if surveys is not None:
        survey_sql, survey_params = surveys.query.sql_with_params()
        source += f" LEFT JOIN ({survey_sql}) s ON s.{_quote('s_person')} = r.{_quote('p_person')}"
        params += list(survey_params)
    quoted = [_quote(column) for column in columns]
    # Indicators that share a figure (two percentages over the same persons share their
    # denominator) share its sum: each distinct contribution is summed once per set.
    distinct = list(dict.fromkeys(contributions.values()))
    summed = {part: f"v{number}" for number, part in enumerate(distinct)}
    sliced_parts = {part for alias, part in contributions.items() if alias not in totals_only}
    each_row = ", ".join([*quoted, *(f"{part} AS {summed[part]}" for part in distinct)])
    middle = f"SELECT {each_row} FROM {source}" + (f" WHERE {where}" if where else "")  # noqa: S608

    def sums(grouping_set: GroupingSet) -> str:
        # Every figure is summed for the total; per slice, only those that are published there.
        return ", ".join(
            f"SUM({summed[part]})" if not grouping_set or part in sliced_parts else "NULL"
            for part in distinct
        )

    def mask(grouping_set: GroupingSet) -> int:
        # GROUPING()'s bits: the first column is the highest bit, 1 = not grouped by it.
        return sum(
            1 << (len(columns) - 1 - i) for i, c in enumerate(columns) if c not in grouping_set
        )

    slices = [grouping_set for grouping_set in sets if grouping_set]
    total = f"SELECT {mask(())}, {', '.join([*('NULL' for _ in columns), sums(())])} FROM m"  # noqa: S608
    if connection.vendor == "postgresql" and slices:
        sets_sql = ", ".join("(" + ", ".join(_quote(c) for c in s) + ")" for s in slices)
        grouped = [
            f"SELECT GROUPING({', '.join(quoted)}), {', '.join([*quoted, sums(slices[0])])} "  # noqa: S608
            f"FROM m GROUP BY GROUPING SETS ({sets_sql})"
        ]
    else:
        # SQLite has no GROUPING SETS: one GROUP BY per set over the same materialised rows.
        grouped = [
            f"SELECT {mask(s)}, "  # noqa: S608
            + ", ".join([*(_quote(c) if c in s else "NULL" for c in columns), sums(s)])
            + f" FROM m GROUP BY {', '.join(_quote(c) for c in s)}"
            for s in slices
        ]
    # The rows are computed once (MATERIALIZED) for the slices and for the total.
    statement = f"WITH m AS MATERIALIZED ({middle}) " + " UNION ALL ".join(
        [*grouped, total] if () in sets else grouped
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        fetched = cursor.fetchall()
    by_mask = {mask(grouping_set): grouping_set for grouping_set in sets}
    position = {part: number for number, part in enumerate(distinct)}
    result = []
    for row in fetched:
        grouping_set = by_mask[int(row[0])]
        values = dict(zip(columns, row[1 : len(columns) + 1], strict=True))
        key = tuple(values[c] for c in grouping_set)
        sums_row = {
            alias: int(row[len(columns) + 1 + position[part]] or 0)
            for alias, part in contributions.items()
        }
        result.append((grouping_set, key, sums_row))
    return result


# --- from raw columns to the dimensions' keys -------------------------------------------------------


class KeyMaker:
    """Turns raw values (an age, a location id …) into dimension keys, reading each small
    reference table at most once."""

    def __init__(self, dimensions: dict[str, Dimension] | None = None) -> None:
        self._tables: dict[str, dict[Any, Any]] = {}
        # The report's agency-defined dimensions (dimensions.dimension_for), beside the built-ins.
        self._dimensions = dimensions or {}

    def dimension(self, name: str) -> Dimension:
        return self._dimensions.get(name) or DIMENSIONS[name]

    def _table(self, name: str) -> dict[Any, Any]:
        if name not in self._tables:
            from casework.reference.models import Location, Programme, ProtectionConcern

            if name == "location":
                self._tables[name] = {
                    row[0]: row[1:]
                    for row in Location.objects.values_list(
                        "pk", "code", "adm1_code", "adm2_code", "adm3_code"
                    )
                }
            else:
                model = ProtectionConcern if name == "concern" else Programme
                self._tables[name] = dict(model.objects.values_list("pk", "code"))
        return self._tables[name]

    def key(self, dimension: str, raw: Any) -> str:
        how = self.dimension(dimension).key_from
        if raw is None or raw == "":
            return UNKNOWN
        if how == "attribute":
            return self.dimension(dimension).key_of(str(raw))
        if how == "age_group":
            return age_group(int(raw))
        if how in ("concern", "programme"):
            return self._table(how).get(int(raw)) or UNKNOWN
        if how in ("location", "adm1", "adm2", "adm3"):
            codes = self._table("location").get(int(raw))
            if codes is None:
                return UNKNOWN
            position = ("location", "adm1", "adm2", "adm3").index(how)
            return codes[position] or UNKNOWN
        return str(raw)


def _raw_order(raw: str) -> tuple[int, str]:
    # The built-in columns first, in their order; then the attributes' (attr_<id>).
    names = list(RAW_COLUMNS)
    return (names.index(raw), "") if raw in RAW_COLUMNS else (len(names), raw)


def raw_set(dimensions: GroupingSet, keys: KeyMaker | None = None) -> GroupingSet:
    """The raw columns a set of dimensions is read from (location_code+adm1 → location)."""
    keys = keys or KeyMaker()
    raws: list[str] = []
    for name in dimensions:
        raw = keys.dimension(name).raw
        if raw not in raws:
            raws.append(raw)
    return tuple(sorted(raws, key=_raw_order))


def roll_up(
    found: Iterable[tuple[GroupingSet, tuple[Any, ...], Any]],
    sets: Sequence[GroupingSet],
    keys: KeyMaker,
    add: Callable[[Any, Any], None],
    new: Callable[[], Any],
) -> dict[GroupingSet, dict[Key, Any]]:
    """Add the raw groups up into each requested set of dimensions."""
    wanted: dict[GroupingSet, list[GroupingSet]] = defaultdict(list)
    for dimensions in sets:
        wanted[raw_set(dimensions, keys)].append(dimensions)
    result: dict[GroupingSet, dict[Key, Any]] = {dimensions: {} for dimensions in sets}
    for raws, raw_key, figures in found:
        values = dict(zip(raws, raw_key, strict=True))
        for dimensions in wanted.get(raws, []):
            key = tuple(keys.key(d, values[keys.dimension(d).raw]) for d in dimensions)
            slot = result[dimensions].setdefault(key, new())
            add(slot, figures)
    return result


# --- indicators --------------------------------------------------------------------------------------


def _by_period_semantics(specs: Iterable[IndicatorSpec]) -> list[list[IndicatorSpec]]:
    groups: dict[str, list[IndicatorSpec]] = defaultdict(list)
    for spec in specs:
        groups[spec.period_semantics].append(spec)
    return list(groups.values())


def count_persons(
    *, agency_id: int, period: Period, specs: Sequence[IndicatorSpec], sets: Sequence[GroupingSet]
) -> Counts:
    """Every indicator's figures for the total (the empty set) and every set of dimensions.

    One query per period semantics (one for the three built-ins), whatever the number of cases,
    indicators or disaggregations.
    """
    from casework.cases.models import Case

    all_sets: list[GroupingSet] = [()]
    all_sets += [s for s in sets if s and s not in all_sets]
    counts: Counts = {spec.code: {s: {} for s in all_sets} for spec in specs}
    keys = KeyMaker({name: dimension_for(name, agency_id) for s in all_sets for name in s})
    raw_sets = list(dict.fromkeys(raw_set(s, keys) for s in all_sets))
    raw_columns = sorted({raw for s in raw_sets for raw in s}, key=_raw_order)
    # An attribute's column is its dimension's expression (a subquery on its values).
    raw_expressions = {
        keys.dimension(name).raw: keys.dimension(name).expression()
        for s in all_sets
        for name in s
        if keys.dimension(name).raw not in RAW_COLUMNS
    }
    for group in _by_period_semantics(specs):
        cases = Case.objects.filter(agency_id=agency_id).filter(
            rules.PERIOD_SEMANTICS[group[0].period_semantics](period)
        )

        def part(
            persons: PersonRange,
            cases: QuerySet[Any] = cases,
            group: list[IndicatorSpec] = group,
        ) -> list[tuple[GroupingSet, tuple[Any, ...], dict[str, int]]]:
            plan = _Plan(agency_id=agency_id, period=period, persons=persons)
            for number, spec in enumerate(group):
                plan.add_indicator(number, spec)
            for raw in raw_columns:
                plan.columns[f"g_{raw}"] = raw_expressions.get(raw) or F(RAW_COLUMNS[raw])
            surveys = None
            if plan.needs_surveys and connection.vendor == "sqlite":
                plan.columns["s_mask"] = latest_survey_mask(agency_id, period)
            elif plan.needs_surveys:
                surveys = latest_surveys(agency_id, period, persons)
            return grouped_rows(
                _persons_between(cases, "person_id", persons)
                .annotate(**plan.columns)
                .values(*plan.columns),
                columns=[f"g_{raw}" for raw in raw_columns],
                sets=[tuple(f"g_{raw}" for raw in s) for s in raw_sets],
                contributions=plan.contributions,
                # The figures beside a value (open, closed, also_mhpss, surveyed, q3) and the
                # persons left out are published for the indicator as a whole, never per slice.
                totals_only=[alias for alias in plan.contributions if alias[0] in "ml"],
                where=" OR ".join(plan.representatives),
                surveys=surveys,
            )

        found = [row for rows in side_by_side(part, person_ranges(agency_id)) for row in rows]
        named = [
            (tuple(column[2:] for column in grouping_set), key, values)
            for grouping_set, key, values in found
        ]
        for number, spec in enumerate(group):
            per_indicator = [(raws, key, _figures(values, number)) for raws, key, values in named]
            rolled = roll_up(
                per_indicator, all_sets, keys, add=lambda slot, f: slot.add(f), new=Figures
            )
            for dimensions, slices in rolled.items():
                counts[spec.code][dimensions] = {
                    key: figures
                    for key, figures in slices.items()
                    if figures.persons or not dimensions
                }
            counts[spec.code][()].setdefault((), Figures())
    return counts


# --- one agency's persons in ranges, side by side (PostgreSQL) -------------------------------------

PersonRange = tuple[int | None, int | None]  # [low, high); None = open


def person_ranges(agency_id: int) -> list[PersonRange]:
    """The agency's persons in CASEWORK_REPORT_WORKERS ranges of ids, or one open range.

    Every figure is a sum over persons (a person's cases all fall in one range), so the ranges'
    grouped rows add up to exactly the single statement's. The ends are open: a person outside
    the agency's usual span (say, moved in by a transfer) still falls in the first or last.
    """
    from casework.people.models import Person

    workers = settings.CASEWORK_REPORT_WORKERS
    if connection.vendor != "postgresql" or workers < 2:
        return [(None, None)]
    span = Person.objects.filter(agency_id=agency_id).aggregate(low=Min("pk"), high=Max("pk"))
    low, high = span["low"], span["high"]
    if low is None or high - low < settings.CASEWORK_REPORT_PARALLEL_FROM:
        return [(None, None)]
    step = (high - low) // workers + 1
    bounds = [low + step * number for number in range(1, workers)]
    return list(zip([None, *bounds], [*bounds, None], strict=True))


def _persons_between(queryset: QuerySet[Any], field: str, persons: PersonRange) -> QuerySet[Any]:
    low, high = persons
    if low is not None:
        queryset = queryset.filter(**{f"{field}__gte": low})
    if high is not None:
        queryset = queryset.filter(**{f"{field}__lt": high})
    return queryset


_SNAPSHOT = re.compile(r"^[0-9A-Fa-f-]+$")
T = TypeVar("T")


def side_by_side(job: Callable[[PersonRange], T], ranges: list[PersonRange]) -> list[T]:
    """`job(range)` for every range: here when there is one, else each in its own thread and
    connection, all reading the same snapshot of the database (exported by this connection and
    imported by the others), so the parts add up as if read by one statement."""
    if len(ranges) == 1:
        return [job(ranges[0])]
    from django.db import connections

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = str(cursor.fetchone()[0])
        if not _SNAPSHOT.match(snapshot):
            raise ValueError("Unexpected snapshot id.")

        def run(persons: PersonRange) -> T:
            try:
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                        # JIT compiles each part's expressions on every run (0.17 s a part at
                        # 1,000,000 cases) and wins back less: the report measured 0.7-1 s
                        # faster without it on two cores.
                        cursor.execute("SET LOCAL jit = off")
                    return job(persons)
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=len(ranges)) as pool:
            return list(pool.map(run, ranges))


def _figures(values: dict[str, int], number: int) -> Figures:
    prefix = f"m{number}_"
    return Figures(
        persons=values[f"d{number}"],
        numerator=values.get(f"n{number}", 0),
        left_out=values.get(f"l{number}", 0),
        measures={
            alias[len(prefix) :]: value
            for alias, value in values.items()
            if alias.startswith(prefix)
        },
    )


class _Plan:
    """The per-case columns (ORM) and per-row contributions (SQL) of a group of indicators.

    Django's window filtering keys selected columns by expression, so equal expressions share
    one alias here instead of being selected twice.
    """

    def __init__(
        self, *, agency_id: int, period: Period, persons: PersonRange = (None, None)
    ) -> None:
        self.agency_id = agency_id
        self.period = period
        self.persons = persons
        # 1 on every case of a person who refuses anonymised reporting on the period's last
        # day: such a person is left out of every figure, and counted among those left out.
        self.refused = _quote("r_refused")
        self.columns: dict[str, Combinable] = {
            "p_person": F("person_id"),
            "r_refused": flag(refusal_in_force(period.end)),
        }
        self.contributions: dict[str, str] = {}
        self.representatives: list[str] = []
        self.needs_surveys = False
        self._aliases: dict[Any, str] = {}
        self._rules: dict[str, str] = {}

    def column(self, alias: str, expression: Combinable) -> str:
        existing = self._aliases.get(expression)
        if existing is None:
            self._aliases[expression] = alias
            self.columns[alias] = expression
            existing = alias
        return _quote(existing)

    def q(self, condition: dict[str, Any]) -> Q:
        return rules.condition_q(condition, self.period, self.agency_id)

    def representative(self, cases_rule: dict[str, Any] | None) -> tuple[str, Q]:
        """SQL true on the person's earliest qualifying case for this rule, and the rule's Q."""
        qualifies = self.q(cases_rule) if cases_rule else Q()
        key = repr(cases_rule)
        if key not in self._rules:
            number = len(self._rules)
            if cases_rule:
                meets = self.column(f"q{number}", flag(qualifies))
                count = self.column(f"c{number}", so_far(flag(qualifies)))
                self._rules[key] = f"({meets} = 1 AND {count} = 1)"
            else:
                # The same window (and frame) as the running counts: one pass computes all.
                first = self.column(f"c{number}", by_person(RowNumber(), whole=False))
                self._rules[key] = f"({first} = 1)"
            self.representatives.append(self._rules[key])
        return self._rules[key], qualifies

    def add_indicator(self, number: int, spec: IndicatorSpec) -> None:
        chosen, qualifies = self.representative(spec.population.get("cases"))
        persons_rule = spec.population.get("persons")
        eligible = chosen
        if persons_rule:
            keep = self.column(f"k{number}", flag(self.q(persons_rule)))
            eligible = f"({chosen} AND {keep} = 1)"
        # Every figure below is built on `counted`, so a refusing person is in none of them.
        counted = f"({eligible} AND {self.refused} = 0)"
        self.contributions[f"d{number}"] = _when(counted)
        self.contributions[f"l{number}"] = _when(f"{eligible} AND {self.refused} = 1")
        tests = [counted]
        numerator = spec.numerator or {}
        if "any_case" in numerator:
            # "At least one of the person's qualifying cases" meets it.
            met = whole_person(flag(qualifies & self.q(numerator["any_case"])))
            tests.append(f"{self.column(f'n{number}_any', met)} = 1")
        if "person" in numerator:
            tests.append(
                f"{self.column(f'n{number}_person', flag(self.q(numerator['person'])))} = 1"
            )
        if "latest_survey" in numerator:
            self.needs_surveys = True
            tests.append(_survey_test(*rules.survey_bits(numerator["latest_survey"])))
        in_numerator = " AND ".join(tests)
        if spec.is_percentage:
            self.contributions[f"n{number}"] = _when(in_numerator)
        # "closed" is the count minus "open", so either one needs the open column.
        wanted = set(spec.measures) | ({"open"} if "closed" in spec.measures else set())
        for measure in sorted(wanted):
            alias = f"m{number}_{measure}"
            if measure == "open":
                still_open = whole_person(flag(qualifies & rules.open_at_end(self.period)))
                self.contributions[alias] = _when(
                    f"{counted} AND {self.column(f'o{number}', still_open)} = 1"
                )
            elif measure == "also_mhpss":
                from casework.cases.models import Case

                # Any service type, any case of the person overlapping the period; the
                # qualifying case itself counts when it is in MHPSS (contract).
                mhpss = _persons_between(
                    Case.objects.filter(
                        agency_id=self.agency_id, programme__code=MHPSS_PROGRAMME
                    ).filter(rules.overlapping(self.period)),
                    "person_id",
                    self.persons,
                )
                also = self.column(f"a{number}", flag(Q(person_id__in=mhpss.values("person_id"))))
                self.contributions[alias] = _when(f"{counted} AND {also} = 1")
            elif measure == "surveyed":
                self.needs_surveys = True
                self.contributions[alias] = _when(f"{counted} AND {_survey_test(0)}")
            elif measure == "q3":
                self.needs_surveys = True
                for way in rules.Q3_WAYS:
                    bit = rules.SURVEY_BITS[f"q3_{way}"]
                    self.contributions[f"m{number}_q3:{way}"] = _when(
                        f"{in_numerator} AND {_survey_test(bit)}"
                    )
