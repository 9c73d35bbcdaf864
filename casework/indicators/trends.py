"""Trends over months or quarters (seed 002, "What further analysis are we interested in?").

New cases by protection concern, risk level, sex and age group; open and closed cases; how long
cases stay open, by risk level; caseload per caseworker; referral outcomes; participation and
satisfaction. Like the indicators, each figure comes from a grouped query and goes through
small-cell suppression before anyone sees it. These count cases (registrations, closures), not
persons: they describe the caseload, the indicators describe the people.

The range asked for is the trends' period: the cases, referrals and surveys of persons who
refuse anonymised reporting on its last day are in no table (queries.refusal_in_force), and
`left_out` says how many persons in case management during the range that leaves out.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.apps import apps
from django.db import connection
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    DateField,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models import Case as CaseWhen
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Coalesce, NullIf, TruncDate, TruncMonth, TruncQuarter
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from casework.cases.models import ClosureReason, RiskLevel
from casework.feedback.models import Rating
from casework.indicators import suppression
from casework.indicators.dimensions import (
    ATTRIBUTE_PREFIX,
    DIMENSIONS,
    UNKNOWN,
    Dimension,
    DisaggregationError,
    dimension_for,
    dimensions_for_agency,
)
from casework.indicators.periods import Period, buckets
from casework.indicators.queries import grouped_rows, refusal_in_force
from casework.indicators.report import percentage
from casework.indicators.rules import in_case_management

CASELOAD_BANDS = ((1, 9, "1-9"), (10, 19, "10-19"), (20, 29, "20-29"), (30, 39, "30-39"))
CASELOAD_TOP = (40, "40+")


@dataclass
class TrendTable:
    """Counts per bucket (month or quarter) × category, suppressed; None = suppressed."""

    code: str
    title: Promise
    buckets: list[Period]
    categories: list[str]
    labels: dict[str, Any] = field(default_factory=dict)
    # The disaggregation the categories are keys of ("" when the labels say it all).
    dimension: str = ""
    cells: dict[tuple[str, str], int | None] = field(default_factory=dict)
    bucket_totals: dict[str, int | None] = field(default_factory=dict)
    category_totals: dict[str, int | None] = field(default_factory=dict)
    total: int | None = 0

    def label(self, category: str) -> str:
        return str(self.labels.get(category, category))

    def row_for(self, category: str) -> list[int | None]:
        return [self.cells.get((str(bucket), category)) for bucket in self.buckets]


@dataclass
class Series:
    """Named figures per bucket (e.g. new, closed, open at the end), suppressed."""

    code: str
    title: Promise
    buckets: list[Period]
    names: list[str]
    values: dict[tuple[str, str], int | float | None] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    dimension: str = ""

    def label(self, name: str) -> str:
        return str(self.labels.get(name, name))


@dataclass
class Trends:
    start: datetime.date
    end: datetime.date
    step: str
    min_cell: int
    # The dimension every trend is also sliced by ("" for none).
    sliced_by: str = ""
    sliced: Dimension | None = None
    tables: list[TrendTable] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    caseload: dict[str, Any] = field(default_factory=dict)
    unavailable: list[Promise] = field(default_factory=list)
    # Persons in case management during the range who refuse anonymised reporting on its last
    # day, and whose cases are therefore in no figure (None: suppressed).
    left_out: int | None = 0

    def as_json(self) -> dict[str, Any]:
        """Plain data for the API; a suppressed figure is null."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "step": self.step,
            "sliced_by": self.sliced_by or None,
            "tables": [
                {
                    "code": table.code,
                    "dimension": table.dimension or None,
                    "title": str(table.title),
                    "periods": [str(p) for p in table.buckets],
                    "values": {category: table.row_for(category) for category in table.categories},
                    "period_totals": [table.bucket_totals.get(str(p)) for p in table.buckets],
                    "category_totals": table.category_totals,
                    "total": table.total,
                }
                for table in self.tables
            ],
            "series": [
                {
                    "code": item.code,
                    "dimension": item.dimension or None,
                    "title": str(item.title),
                    "periods": [str(p) for p in item.buckets],
                    "values": {
                        name: [item.values.get((name, str(p))) for p in item.buckets]
                        for name in item.names
                    },
                }
                for item in self.series
            ],
            "caseload": {**self.caseload, "on": str(self.caseload.get("on", ""))},
            "unavailable": [str(note) for note in self.unavailable],
            "left_out": self.left_out,
        }


def _bucket(expression: Combinable, step: str) -> Combinable:
    if step == "month":
        return TruncMonth(expression, output_field=DateField())
    return TruncQuarter(expression, output_field=DateField())


def _key(value: Any) -> str:
    return str(value)[:10]


def _all_cm_cases(agency_id: int) -> QuerySet[Any]:
    from casework.cases.models import Case

    return Case.objects.filter(agency_id=agency_id, service_type="case_management")


def _counted(rows: QuerySet[Any], last: datetime.date, person: str = "person_id") -> QuerySet[Any]:
    """`rows` less those of persons who refuse anonymised reporting on `last`, the range's end."""
    return rows.exclude(refusal_in_force(last, person))


def _cm_cases(agency_id: int, last: datetime.date) -> QuerySet[Any]:
    """The case-management cases the trends of a range ending on `last` count."""
    return _counted(_all_cm_cases(agency_id), last)


def opening_and_left_out(
    agency_id: int, start: datetime.date, end: datetime.date
) -> tuple[int, int]:
    """In one statement: the counted cases open when the range starts (the running count of open
    cases starts from it), and the persons in case management during the range left out."""
    refused = refusal_in_force(end)
    open_at_start = Q(registered_on__lt=start) & (
        Q(closed_on__isnull=True) | Q(closed_on__gte=start)
    )
    found = _all_cm_cases(agency_id).aggregate(
        before=Count("pk", filter=open_at_start & ~refused),
        left_out=Count(
            "person_id", distinct=True, filter=refused & in_case_management(Period(start, end))
        ),
    )
    return int(found["before"]), int(found["left_out"])


class Margins(Protocol):
    """The state of a table's bucket totals and total, decided by another figure of the page
    that publishes the same numbers: the table keeps it, so that neither lets a hidden figure
    be worked out from the other."""

    def column_of(self, periods: list[Period]) -> tuple[set[str], bool]: ...


@dataclass(frozen=True)
class Fixed:
    """One category's column of a published table: the margins of a table that slices it."""

    table: TrendTable
    category: str

    def column_of(self, periods: list[Period]) -> tuple[set[str], bool]:
        hidden = {
            str(p.start) for p in periods if self.table.cells.get((str(p), self.category)) is None
        }
        return hidden, self.table.category_totals.get(self.category) is None


@dataclass(frozen=True)
class Remainder:
    """A table's bucket totals less one category's column (e.g. closures for every reason but
    needs met): hidden wherever either is, since the one gives the other away."""

    table: TrendTable
    category: str

    def column_of(self, periods: list[Period]) -> tuple[set[str], bool]:
        hidden, total_hidden = Fixed(self.table, self.category).column_of(periods)
        hidden |= {str(p.start) for p in periods if self.table.bucket_totals.get(str(p)) is None}
        return hidden, total_hidden or self.table.total is None


@dataclass(frozen=True)
class Totals:
    """The bucket totals and total of a published table (a table slicing the same rows)."""

    table: TrendTable

    def column_of(self, periods: list[Period]) -> tuple[set[str], bool]:
        hidden = {str(p.start) for p in periods if self.table.bucket_totals.get(str(p)) is None}
        return hidden, self.table.total is None


@dataclass(frozen=True)
class Line:
    """One line of a published series (its value per bucket): registered or closed cases."""

    series: Series
    name: str

    def column_of(self, periods: list[Period]) -> tuple[set[str], bool]:
        hidden = {
            str(p.start) for p in periods if self.series.values.get((self.name, str(p))) is None
        }
        return hidden, False


def bucket_table(
    rows: QuerySet[Any],
    *,
    code: str,
    title: Promise,
    date: Combinable,
    category: Combinable,
    periods: list[Period],
    step: str,
    k: int,
    categories: Sequence[str] = (),
    labels: dict[str, Any] | None = None,
    dimension: str = "",
    fixed: Margins | None = None,
    decode: Callable[[str], str] = str,
) -> TrendTable:
    """Count `rows` per bucket of `date` × `category`, with margins, then suppress.

    `fixed`: the bucket totals and the total are cells another table of the page publishes
    (its column for one category): they keep the state that table gave them, so neither table
    lets a hidden figure be worked out from the other."""
    values = rows.annotate(t_bucket=_bucket(date, step), t_category=category).values(
        "t_bucket", "t_category"
    )
    found = grouped_rows(
        values,
        columns=["t_bucket", "t_category"],
        sets=[(), ("t_bucket",), ("t_category",), ("t_bucket", "t_category")],
        contributions={"n": "1"},
    )
    counts: dict[tuple[str, ...], dict[tuple[str, ...], int]] = {}
    for grouping_set, key, figures in found:
        named = tuple(column[2:] for column in grouping_set)
        texts = tuple(
            _key(part) if name == "bucket" else decode(str(part))
            for name, part in zip(named, key, strict=True)
        )
        counts.setdefault(named, {})[texts] = figures["n"]
    total = counts.get((), {}).get((), 0)
    by_bucket = {key[0]: n for key, n in counts.get(("bucket",), {}).items() if n}
    by_category = {key[0]: n for key, n in counts.get(("category",), {}).items() if n}
    ordered = list(categories) + sorted(c for c in by_category if c not in categories)
    table = TrendTable(
        code=code,
        title=title,
        buckets=periods,
        categories=ordered,
        labels=labels or {},
        dimension=dimension,
    )
    bucket_keys = [str(p.start) for p in periods]
    if fixed is None:
        hidden_buckets, total_hidden = suppression.one_way(
            {b: (n,) for b, n in by_bucket.items()}, total=(total,), k=k
        )
    else:
        hidden_buckets, total_hidden = fixed.column_of(periods)
        total_hidden = total_hidden or suppression.is_small(total, k)
    hidden_categories, _ = suppression.one_way(
        {c: (n,) for c, n in by_category.items()}, total=(total,), k=k
    )
    pair = counts.get(("bucket", "category"), {})
    cells = {(b, c): (pair.get((b, c), 0),) for b in bucket_keys for c in ordered}
    hidden_cells = suppression.two_way(
        cells,
        rows={b: (by_bucket.get(b, 0),) for b in bucket_keys},
        columns={c: (by_category.get(c, 0),) for c in ordered},
        hidden_rows=hidden_buckets,
        hidden_columns=hidden_categories,
        total=(total,),
        total_hidden=total_hidden,
        k=k,
    )
    labels = {str(p.start): str(p) for p in periods}
    for (b, c), (n,) in cells.items():
        table.cells[(labels[b], c)] = None if (b, c) in hidden_cells else n
    for b in bucket_keys:
        table.bucket_totals[labels[b]] = None if b in hidden_buckets else by_bucket.get(b, 0)
    for c in ordered:
        table.category_totals[c] = None if c in hidden_categories else by_category.get(c, 0)
    table.total = None if total_hidden else total
    return table


def open_and_closed(
    agency_id: int, periods: list[Period], *, step: str, k: int, before: int
) -> Series:
    """Per bucket: cases registered, cases closed, cases open at the end (case management),
    from `before`, the cases open when the range starts (`opening_and_left_out`)."""
    start, end = periods[0].start, periods[-1].end
    cases = _cm_cases(agency_id, end)
    new = _per_bucket(cases.filter(registered_on__range=(start, end)), "registered_on", step)
    closed = _per_bucket(
        cases.filter(closed_on__range=(start, end), registered_on__isnull=False), "closed_on", step
    )
    series = Series(
        code="open_closed",
        title=_("Cases registered, closed and open at the end"),
        buckets=periods,
        names=["new", "closed", "open"],
        labels={"new": _("Registered"), "closed": _("Closed"), "open": _("Open at the end")},
    )
    running = before
    cells: dict[tuple[str, str], tuple[int]] = {}
    lines: dict[tuple[str, str], tuple[Any, ...]] = {}
    for number, period in enumerate(periods):
        key = str(period.start)
        running += new.get(key, 0) - closed.get(key, 0)
        cells[("new", key)] = (new.get(key, 0),)
        cells[("closed", key)] = (closed.get(key, 0),)
        cells[("open", key)] = (running,)
        # open(b) = open(b-1) + new(b) - closed(b): each bucket is a line; open(b) is also in
        # the next bucket's line. The count before the range is treated as published.
        # The buckets also add up to the range's total, which the tables publish.
        lines[("new", key)] = (("bucket", number), "new in the range")
        lines[("closed", key)] = (("bucket", number), "closed in the range")
        lines[("open", key)] = (("bucket", number), ("bucket", number + 1))
    hidden = suppression.series(cells, lines, k=k)
    for (name, key), (value,) in cells.items():
        label = next(str(p) for p in periods if str(p.start) == key)
        series.values[(name, label)] = None if (name, key) in hidden else value
    return series


def _per_bucket(rows: QuerySet[Any], date_field: str, step: str) -> dict[str, int]:
    found = (
        rows.annotate(b=_bucket(F(date_field), step))
        .values("b")
        .annotate(n=Count("id"))
        .values_list("b", "n")
    )
    return {_key(bucket): n for bucket, n in found}


class DaysBetween(Func):
    """Whole days from the second date to the first."""

    arity = 2
    output_field = IntegerField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # PostgreSQL: date - date is a number of days.
        return super().as_sql(
            compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            template="CAST(JULIANDAY(%(expressions)s) AS INTEGER)",
            arg_joiner=") - JULIANDAY(",
            **extra,
        )


class Median(Aggregate):
    """PostgreSQL's median; SQLite has none, so durations come back as a histogram there."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def time_open(agency_id: int, periods: list[Period], *, step: str, k: int) -> Series:
    """Median days from registration to closure of the cases closed in each bucket, by risk."""
    start, end = periods[0].start, periods[-1].end
    closed = _cm_cases(agency_id, end).filter(
        closed_on__range=(start, end), registered_on__isnull=False
    )
    return median_series(
        closed,
        code="time_open",
        title=_("Median days open of the cases closed, by risk level"),
        date="closed_on",
        value=DaysBetween(F("closed_on"), F("registered_on")),
        category=DIMENSIONS["risk_level"].expression(),
        names=list(DIMENSIONS["risk_level"].order),
        labels={**dict(RiskLevel.choices), UNKNOWN: _("Unknown")},
        periods=periods,
        step=step,
        k=k,
    )


def median_series(
    rows: QuerySet[Any],
    *,
    code: str,
    title: Promise,
    date: str,
    value: Combinable,
    category: Combinable,
    names: list[str],
    periods: list[Period],
    step: str,
    k: int,
    labels: dict[str, Any] | None = None,
    dimension: str = "",
    decode: Callable[[str], str] = str,
) -> Series:
    """The median of `value` per bucket of `date` × `category`; a median of fewer than k rows
    is not shown (a median is no count, so nothing adds up to recover it, but a median of one
    or two rows is their value). Categories found beyond `names` are added after them."""
    medians: dict[tuple[str, str], float] = {}
    sizes: dict[tuple[str, str], int] = {}
    grouped = rows.annotate(b=_bucket(F(date), step), r=category)
    if connection.vendor == "postgresql":
        for row in grouped.values("b", "r").annotate(n=Count("pk"), median=Median(value)):
            medians[(_key(row["b"]), decode(str(row["r"])))] = float(row["median"])
            sizes[(_key(row["b"]), decode(str(row["r"])))] = row["n"]
    else:
        histogram: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for row in grouped.annotate(d=value).values("b", "r", "d").annotate(n=Count("pk")):
            key = (_key(row["b"]), decode(str(row["r"])))
            histogram.setdefault(key, []).append((row["d"], row["n"]))
        for key, counts in histogram.items():
            sizes[key] = sum(n for _, n in counts)
            medians[key] = _median_of_histogram(counts)
    found = sorted({name for _, name in medians} - set(names))
    series = Series(
        code=code,
        title=title,
        buckets=periods,
        names=[*names, *found],
        labels=labels or {},
        dimension=dimension,
    )
    bucket_labels = {str(p.start): str(p) for p in periods}
    for (bucket, name), median in medians.items():
        if bucket in bucket_labels:
            small = suppression.is_small(sizes[(bucket, name)], k)
            series.values[(name, bucket_labels[bucket])] = None if small else round(median, 1)
    return series


def _median_of_histogram(counts: list[tuple[int, int]]) -> float:
    values: list[int] = []
    for value, n in sorted(counts):
        values.extend([value] * n)  # a few hundred aggregated rows at most per group
    return float(statistics.median(values))


def caseload(agency_id: int, on: datetime.date, *, k: int, last: datetime.date) -> dict[str, Any]:
    """How many caseworkers carry how many open cases on `on` (never who), of the persons the
    trends of a range ending on `last` count."""
    open_cases = (
        _cm_cases(agency_id, last)
        .filter(registered_on__lte=on, caseworker__isnull=False)
        .filter(Q(closed_on__isnull=True) | Q(closed_on__gt=on))
    )
    sizes = open_cases.values("caseworker_id").annotate(n=Count("id")).values_list("n", flat=True)
    sql, params = sizes.query.sql_with_params()
    with connection.cursor() as cursor:
        # One row per caseload size: the per-caseworker counts stay in the database.
        cursor.execute(f"SELECT n, COUNT(*) FROM ({sql}) s GROUP BY n", params)  # noqa: S608
        histogram = [(int(size), int(workers)) for size, workers in cursor.fetchall()]
    bands: dict[str, int] = {label: 0 for _, _, label in CASELOAD_BANDS}
    bands[CASELOAD_TOP[1]] = 0
    for size, workers in histogram:
        label = next(
            (label for low, high, label in CASELOAD_BANDS if low <= size <= high),
            CASELOAD_TOP[1],
        )
        bands[label] += workers
    workers = sum(bands.values())
    hidden, total_hidden = suppression.one_way(
        {label: (n,) for label, n in bands.items() if n}, total=(workers,), k=k
    )
    return {
        "on": on,
        "caseworkers": None if total_hidden else workers,
        "bands": {
            label: None if label in hidden or total_hidden else n for label, n in bands.items()
        },
        "median": None if total_hidden or not histogram else _median_of_histogram(histogram),
    }


def _optional_model(app_label: str, name: str) -> Any:
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


# What every trend can also be sliced by (seed 002: "trends in diversity"), besides the
# agency's own attributes (dimensions.dimension_for).
SLICEABLE = (
    "sex",
    "age_group",
    "disability",
    "nationality",
    "mobility_status",
    "protection_concern",
    "risk_level",
    "adm1",
    "programme",
)


def slice_dimension(code: str, agency_id: int) -> Dimension:
    """The dimension `code` names, if trends may be sliced by it (a built-in of SLICEABLE or
    one of the agency's attributes, `attr:<code>`); refused (naming the field) otherwise, so
    nothing unknown reaches SQL."""
    if code in SLICEABLE:
        return DIMENSIONS[code]
    if code.startswith(ATTRIBUTE_PREFIX):
        try:
            return dimension_for(code, agency_id)
        except DisaggregationError:
            pass
    raise DisaggregationError(_("Trends cannot be sliced by this."), field="slice")


def slice_choices(agency_id: int | None) -> list[tuple[str, str]]:
    """(code, label) of what the agency's trends can be sliced by, its attributes last."""
    built_in = [(code, str(DIMENSIONS[code].label)) for code in SLICEABLE]
    if agency_id is None:
        return built_in
    return built_in + [
        (dimension.code, str(dimension.label))
        for dimension in dimensions_for_agency(agency_id)
        if dimension.code.startswith(ATTRIBUTE_PREFIX)
    ]


def _through_case(dimension: Dimension) -> Combinable:
    """`dimension` of the case a row (a survey, an exit interview) belongs to."""
    from casework.cases.models import Case

    cases = Case.objects.filter(pk=OuterRef("case_id")).annotate(d=dimension.expression())
    return Subquery(cases.values("d")[:1], output_field=CharField())


def build_trends(
    *,
    agency_id: int,
    start: datetime.date,
    end: datetime.date,
    step: str,
    min_cell: int,
    slice_by: str = "",
) -> Trends:
    sliced = slice_dimension(slice_by, agency_id) if slice_by else None
    periods = buckets(start, end, step=step)
    first, last = periods[0].start, periods[-1].end
    k = min_cell
    trends = Trends(start=first, end=last, step=step, min_cell=k, sliced_by=slice_by, sliced=sliced)
    registered = _cm_cases(agency_id, last).filter(registered_on__range=(first, last))
    # The registered and closed cases per bucket are published by the series and again as the
    # totals of every table below: decided once, in the series (with the line that adds the
    # buckets up to the range's total), and kept by the tables.
    before, left_out = opening_and_left_out(agency_id, first, last)
    trends.left_out = None if suppression.is_small(left_out, k) else left_out
    flow = open_and_closed(agency_id, periods, step=step, k=k, before=before)
    for code, title, name in [
        ("new_by_concern", _("New cases by protection concern"), "protection_concern"),
        ("new_by_risk", _("New cases by risk level"), "risk_level"),
        ("new_by_sex", _("New cases by sex"), "sex"),
        ("new_by_age", _("New cases by age group"), "age_group"),
    ]:
        trends.tables.append(
            bucket_table(
                registered,
                code=code,
                title=title,
                date=F("registered_on"),
                category=DIMENSIONS[name].expression(),
                periods=periods,
                step=step,
                k=k,
                categories=DIMENSIONS[name].order,
                dimension=name,
                fixed=Line(flow, "new"),
            )
        )
    closures = _cm_cases(agency_id, last).filter(
        closed_on__range=(first, last), registered_on__isnull=False
    )
    outcome = bucket_table(
        closures,
        code="closure_outcome",
        title=_("Cases closed, by closure reason"),
        date=F("closed_on"),
        category=Coalesce(NullIf(F("closure_reason"), Value("")), Value(UNKNOWN)),
        periods=periods,
        step=step,
        k=k,
        categories=[*ClosureReason.values, UNKNOWN],
        labels={**dict(ClosureReason.choices), UNKNOWN: _("Unknown")},
        fixed=Line(flow, "closed"),
    )
    trends.tables.append(outcome)
    trends.series.append(needs_met_share(outcome, outcome, periods, code="needs_met_share"))
    trends.series.append(flow)
    trends.series.append(time_open(agency_id, periods, step=step, k=k))
    trends.caseload = caseload(agency_id, min(last, timezone.localdate()), k=k, last=last)
    referral = _optional_model("referrals", "Referral")
    if referral is not None and hasattr(referral, "Status"):
        trends.tables.append(
            bucket_table(
                _counted(
                    referral.objects.filter(case__agency_id=agency_id), last, "case__person_id"
                ),
                code="referrals",
                title=_("Referrals sent, by where they stand now"),
                date=TruncDate("sent_at"),
                category=F("status"),
                periods=periods,
                step=step,
                k=k,
                categories=[str(value) for value in referral.Status.values],
                labels=dict(referral.Status.choices),
            )
        )
    else:
        trends.unavailable.append(_("Referral outcomes (no referral records yet)."))
    from casework.feedback.models import ParticipationSurvey

    surveys = _counted(
        ParticipationSurvey.objects.filter(case__agency_id=agency_id), last, "case__person_id"
    )
    involved = CaseWhen(
        When(q2_involved=True, then=Value("yes")),
        When(q2_involved=False, then=Value("no")),
        default=Value("not_asked"),
        output_field=CharField(),
    )
    participation = bucket_table(
        surveys,
        code="participation",
        title=_("Participation surveys: felt involved in decisions (Q2)"),
        date=F("surveyed_on"),
        category=involved,
        periods=periods,
        step=step,
        k=k,
        categories=["yes", "no", "not_asked"],
        labels={
            "yes": _("Involved"),
            "no": _("Not involved"),
            "not_asked": _("Not asked (did not know of their plan)"),
        },
    )
    trends.tables.append(participation)
    exit_interview = _optional_model("feedback", "ExitInterview")
    if exit_interview is not None:
        trends.tables.append(
            bucket_table(
                _counted(
                    exit_interview.objects.filter(case__agency_id=agency_id),
                    last,
                    "case__person_id",
                ),
                code="satisfaction",
                title=_(
                    "Exit interviews: overall satisfaction (1 = very dissatisfied, 5 = very satisfied)"
                ),
                date=F("interviewed_on"),
                category=Cast(F("overall"), CharField()),
                periods=periods,
                step=step,
                k=k,
                categories=["1", "2", "3", "4", "5"],
                labels={str(value): label for value, label in Rating.choices},
            )
        )
    else:
        trends.unavailable.append(_("Satisfaction at closure (no exit interviews yet)."))
    if sliced is not None:
        _slice(
            trends,
            sliced,
            registered,
            closures,
            outcome,
            participation,
            surveys,
            flow,
            agency_id,
            last,
            k,
        )
    return trends


def needs_met_share(
    met: TrendTable,
    closed: TrendTable,
    periods: list[Period],
    *,
    code: str,
    met_category: str = ClosureReason.NEEDS_MET,
    names: Sequence[str] = ("all",),
    dimension: str = "",
) -> Series:
    """The share of closures with needs met, per bucket (`closed` the table of all closures),
    or per slice (`names` the slices, `closed` the table of the other closures), worked out
    from published counts only: none where either count is hidden."""
    series = Series(
        code=code,
        title=_("Share of the cases closed with needs met (%)"),
        buckets=periods,
        names=list(names),
        labels={"all": _("All cases closed")},
        dimension=dimension,
    )
    for period in periods:
        bucket = str(period)
        for name in names:
            if name == "all":
                part, whole = (
                    met.cells.get((bucket, met_category)),
                    closed.bucket_totals.get(bucket),
                )
            else:
                # `closed` holds the other closures of the slice: the share of two published
                # counts, none where either is hidden.
                part, other = met.cells.get((bucket, name)), closed.cells.get((bucket, name))
                whole = None if part is None or other is None else part + other
            series.values[(name, bucket)] = share(part, whole) if whole else None
    return series


def _slice(
    trends: Trends,
    dimension: Dimension,
    registered: QuerySet[Any],
    closures: QuerySet[Any],
    outcome: TrendTable,
    participation: TrendTable,
    surveys: QuerySet[Any],
    flow: Series,
    agency_id: int,
    last: datetime.date,
    k: int,
) -> None:
    """Every trend again, by `dimension`: new cases, closures with needs met and closures for
    the other reasons (two tables, never the closures and a part of them, whose difference
    would be a figure nobody protected), their share, days open, satisfaction and surveys.
    Each sliced table's bucket totals and total are figures the page already publishes, and
    keep the state they have there, so no hidden cell is recovered across tables."""
    periods, step = outcome.buckets, trends.step
    code, label = dimension.code, dimension.label
    common: dict[str, Any] = {
        "periods": periods,
        "step": step,
        "k": k,
        "categories": dimension.order,
        "dimension": code,
        "decode": dimension.key_of,
    }
    expression = dimension.expression()
    trends.tables.append(
        bucket_table(
            registered,
            code="new_by_slice",
            title=format_lazy(_("New cases by {dimension}"), dimension=label),
            date=F("registered_on"),
            category=expression,
            fixed=Line(flow, "new"),
            **common,
        )
    )
    met = bucket_table(
        closures.filter(closure_reason=ClosureReason.NEEDS_MET),
        code="needs_met_by_slice",
        title=format_lazy(_("Cases closed with needs met, by {dimension}"), dimension=label),
        date=F("closed_on"),
        category=expression,
        fixed=Fixed(outcome, ClosureReason.NEEDS_MET),
        **common,
    )
    not_met = bucket_table(
        closures.exclude(closure_reason=ClosureReason.NEEDS_MET),
        code="other_closures_by_slice",
        title=format_lazy(_("Cases closed for other reasons, by {dimension}"), dimension=label),
        date=F("closed_on"),
        category=expression,
        fixed=Remainder(outcome, ClosureReason.NEEDS_MET),
        **common,
    )
    trends.tables += [met, not_met]
    names = list(dict.fromkeys([*met.categories, *not_met.categories]))
    trends.series.append(
        needs_met_share(
            met, not_met, periods, code="needs_met_share_by_slice", names=names, dimension=code
        )
    )
    trends.series.append(
        median_series(
            closures,
            code="time_open_by_slice",
            title=format_lazy(
                _("Median days open of the cases closed, by {dimension}"), dimension=label
            ),
            date="closed_on",
            value=DaysBetween(F("closed_on"), F("registered_on")),
            category=expression,
            names=list(dimension.order),
            periods=periods,
            step=step,
            k=k,
            dimension=code,
            decode=dimension.key_of,
        )
    )
    exit_interview = _optional_model("feedback", "ExitInterview")
    if exit_interview is not None:
        trends.series.append(
            median_series(
                _counted(
                    exit_interview.objects.filter(case__agency_id=agency_id, overall__isnull=False),
                    last,
                    "case__person_id",
                ),
                code="satisfaction_by_slice",
                title=format_lazy(
                    _("Median overall satisfaction at exit (1 to 5), by {dimension}"),
                    dimension=label,
                ),
                date="interviewed_on",
                value=F("overall"),
                category=_through_case(dimension),
                names=list(dimension.order),
                periods=periods,
                step=step,
                k=k,
                dimension=code,
                decode=dimension.key_of,
            )
        )
    trends.tables.append(
        bucket_table(
            surveys,
            code="surveys_by_slice",
            title=format_lazy(_("Participation surveys, by {dimension}"), dimension=label),
            date=F("surveyed_on"),
            category=_through_case(dimension),
            fixed=Totals(participation),
            **common,
        )
    )


def share(part: int | None, whole: int | None) -> float | None:
    """A percentage of two published counts (None if either is suppressed)."""
    if part is None or whole is None:
        return None
    return percentage(part, whole)
