"""The indicator engine: grouped aggregate queries, computed in the database.

No case is ever loaded into Python. For each group of indicators that share their qualifying
cases (one group for INDIVIDUAL_PLAN and PARTICIPATION, one for CM_CHILDREN_YOUTH), one SQL
statement:

1. takes the qualifying cases of the agency (period semantics + the `cases` rule), numbers each
   person's cases with ROW_NUMBER() OVER (PARTITION BY person ORDER BY registered_on, reference)
   and keeps row 1: one row per person, carrying the attributes of the earliest-registered
   qualifying case (contract: "ties: the smallest case_ref"). Person-level facts ("at least one
   qualifying case has an individualised plan", "one is still open") are window MAX()es over
   the same partition, so they cost no second pass;
2. joins each person's latest participation survey inside the period (another ROW_NUMBER()
   query over the period's surveys), as one integer of answer bits;
3. counts persons per slice with GROUPING SETS on PostgreSQL, or on SQLite (which has none) with
   one GROUP BY per set over a materialised CTE: a few hundred aggregated rows come back.

Steps 1 and 2 are built with the ORM (Window, RowNumber, Max, Q from the rule language); step 3
wraps their compiled SQL in a fixed template whose only identifiers are generated column names.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Case as CaseWhen
from django.db.models import F, IntegerField, Max, Q, QuerySet, Value, When, Window
from django.db.models.expressions import Combinable
from django.db.models.functions import RowNumber

from casework.indicators import rules
from casework.indicators.definitions import MHPSS_PROGRAMME, IndicatorSpec
from casework.indicators.dimensions import DIMENSIONS
from casework.indicators.periods import Period

GroupingSet = tuple[str, ...]
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_:]*$")
Key = tuple[str, ...]


@dataclass
class Figures:
    """The aggregated figures of one slice (or the total) for one indicator."""

    persons: int = 0  # the count (count indicators) or the denominator (percentages)
    numerator: int = 0
    measures: dict[str, int] = field(default_factory=dict)


# indicator code → grouping set → key → figures
Counts = dict[str, dict[GroupingSet, dict[Key, Figures]]]


def flag(condition: Q) -> CaseWhen:
    """1 where the condition holds on the row, else 0 (so that SUM counts it)."""
    return CaseWhen(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def per_person(expression: Combinable) -> Window:
    """The largest value over all the person's qualifying cases: "at least one of them"."""
    return Window(Max(expression), partition_by=[F("person_id")])


def qualifying_cases(
    agency_id: int, period: Period, *, semantics: str, cases_rule: dict[str, Any] | None
) -> QuerySet[Any]:
    from casework.cases.models import Case

    cases = Case.objects.filter(agency_id=agency_id).filter(
        rules.PERIOD_SEMANTICS[semantics](period)
    )
    if cases_rule:
        cases = cases.filter(rules.condition_q(cases_rule, period))
    return cases


def earliest_case_per_person(cases: QuerySet[Any]) -> QuerySet[Any]:
    return cases.annotate(
        person_rank=Window(
            RowNumber(),
            partition_by=[F("person_id")],
            order_by=[F("registered_on").asc(), F("reference").asc()],
        )
    ).filter(person_rank=1)


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


def latest_surveys(agency_id: int, period: Period) -> QuerySet[Any]:
    """Each person's latest participation survey inside the period, over all their cases."""
    from casework.feedback.models import ParticipationSurvey

    return (
        ParticipationSurvey.objects.filter(
            case__agency_id=agency_id, surveyed_on__range=(period.start, period.end)
        )
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


# --- the SQL around the ORM ------------------------------------------------------------------------


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _survey_test(required: int, forbidden: int = 0) -> str:
    """SQL that is 1 when the person has a survey with these bits set (and those clear)."""
    mask = _quote("s_mask")
    test = f"{mask} IS NOT NULL AND ({mask} & {int(required)}) = {int(required)}"
    if forbidden:
        test += f" AND ({mask} & {int(forbidden)}) = 0"
    return f"(CASE WHEN {test} THEN 1 ELSE 0 END)"


def grouped_rows(
    rows: QuerySet[Any],
    *,
    dimensions: dict[str, str],
    sets: Sequence[GroupingSet],
    aggregates: dict[str, str],
    surveys: QuerySet[Any] | None = None,
) -> list[tuple[GroupingSet, Key, dict[str, int]]]:
    """Run the aggregates over `rows` (one row per unit) for every grouping set.

    `dimensions` maps each dimension to the column of `rows` that holds it (never NULL: an
    empty value is already `unknown`); `aggregates` maps a generated alias to SQL built in this
    app from generated names and integers only, never from input.
    """
    for name in [*dimensions.values(), *aggregates]:
        if not _IDENTIFIER.match(name):  # generated here; a guard, not an expected failure
            raise ValueError(f"Not a generated column name: {name!r}")
    sql, params = rows.query.sql_with_params()
    params = list(params)
    if surveys is not None:
        survey_sql, survey_params = surveys.query.sql_with_params()
        source = (
            f"SELECT r.*, s.{_quote('s_mask')} FROM ({sql}) r LEFT JOIN ({survey_sql}) s "  # noqa: S608
            f"ON s.{_quote('s_person')} = r.{_quote('p_person')}"
        )
        params += list(survey_params)
    else:
        source = sql
    names = list(dimensions)
    columns = [dimensions[name] for name in names]
    measures = ", ".join(f"{sql} AS {_quote(alias)}" for alias, sql in aggregates.items())

    def select(grouped: set[str]) -> str:
        keys = [_quote(c) if c in grouped else f"NULL AS {_quote(c)}" for c in columns]
        return ", ".join([*keys, measures])

    if connection.vendor == "postgresql":
        sets_sql = ", ".join(
            "(" + ", ".join(_quote(dimensions[name]) for name in grouping_set) + ")"
            for grouping_set in sets
        )
        statement = (
            f"SELECT {select(set(columns))} FROM ({source}) p "  # noqa: S608
            f"GROUP BY GROUPING SETS ({sets_sql})"
        )
    else:
        # SQLite has no GROUPING SETS: the rows are computed once (MATERIALIZED) and grouped
        # once per set.
        parts = []
        for grouping_set in sets:
            grouped = [_quote(dimensions[name]) for name in grouping_set]
            group_by = f" GROUP BY {', '.join(grouped)}" if grouped else ""
            chosen = {dimensions[name] for name in grouping_set}
            parts.append(f"SELECT {select(chosen)} FROM p{group_by}")  # noqa: S608
        statement = f"WITH p AS MATERIALIZED ({source}) " + " UNION ALL ".join(parts)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        fetched = cursor.fetchall()
    result: list[tuple[GroupingSet, Key, dict[str, int]]] = []
    by_columns = {frozenset(s): s for s in sets}
    aliases = list(aggregates)
    for row in fetched:
        present = {name: row[i] for i, name in enumerate(names) if row[i] is not None}
        grouping_set = by_columns.get(frozenset(present))
        if grouping_set is None:
            continue
        key = tuple(str(present[name]) for name in grouping_set)
        values = {alias: int(row[len(columns) + i] or 0) for i, alias in enumerate(aliases)}
        result.append((grouping_set, key, values))
    return result


# --- indicators --------------------------------------------------------------------------------------


def _population_groups(specs: Iterable[IndicatorSpec]) -> list[list[IndicatorSpec]]:
    groups: dict[str, list[IndicatorSpec]] = defaultdict(list)
    for spec in specs:
        groups[spec.population_key()].append(spec)
    return list(groups.values())


def count_persons(
    *, agency_id: int, period: Period, specs: Sequence[IndicatorSpec], sets: Sequence[GroupingSet]
) -> Counts:
    """Every indicator's figures for the total (the empty set) and every grouping set given.

    One query per group of indicators sharing their qualifying cases, whatever the number of
    cases, indicators in the group or grouping sets.
    """
    all_sets: list[GroupingSet] = [()]
    all_sets += [s for s in sets if s and s not in all_sets]
    counts: Counts = {spec.code: {s: {} for s in all_sets} for spec in specs}
    dimensions = sorted({name for s in all_sets for name in s})
    for group in _population_groups(specs):
        first = group[0]
        cases = qualifying_cases(
            agency_id,
            period,
            semantics=first.period_semantics,
            cases_rule=first.population.get("cases"),
        )
        columns, aggregates, needs_surveys = _columns_and_aggregates(
            group, agency_id=agency_id, period=period
        )
        for name in dimensions:
            columns[DIMENSIONS[name].column] = DIMENSIONS[name].expression()
        names = list(columns)
        rows = earliest_case_per_person(cases.annotate(**columns)).values(*names)
        surveys = latest_surveys(agency_id, period) if needs_surveys else None
        for grouping_set, key, values in grouped_rows(
            rows,
            dimensions={name: DIMENSIONS[name].column for name in dimensions},
            sets=all_sets,
            aggregates=aggregates,
            surveys=surveys,
        ):
            for number, spec in enumerate(group):
                persons = values[f"d{number}"]
                if persons == 0 and grouping_set:
                    continue  # a slice of another indicator of the group only
                counts[spec.code][grouping_set][key] = Figures(
                    persons=persons,
                    numerator=values.get(f"n{number}", 0),
                    measures={
                        name.split("_", 1)[1]: value
                        for name, value in values.items()
                        if name.startswith(f"m{number}_")
                    },
                )
    return counts


class _Columns:
    """The per-person columns, each expression selected once.

    Django's window filtering (the QUALIFY emulation) keys the selected columns by expression,
    so two aliases of one expression would lose one of them: equal expressions share an alias.
    """

    def __init__(self) -> None:
        self.expressions: dict[str, Combinable] = {"p_person": F("person_id")}
        self._aliases: dict[Any, str] = {}

    def add(self, alias: str, expression: Combinable) -> str:
        existing = self._aliases.get(expression)
        if existing is not None:
            return existing
        self._aliases[expression] = alias
        self.expressions[alias] = expression
        return alias


def _columns_and_aggregates(
    group: Sequence[IndicatorSpec], *, agency_id: int, period: Period
) -> tuple[dict[str, Combinable], dict[str, str], bool]:
    """The per-person columns the group needs (ORM) and the SQL aggregates over them."""
    from casework.cases.models import Case

    q = _quote
    columns = _Columns()
    aggregates: dict[str, str] = {}
    needs_surveys = False
    for number, spec in enumerate(group):
        persons_rule = spec.population.get("persons")
        keep = (
            q(columns.add(f"k{number}", flag(rules.condition_q(persons_rule, period))))
            if persons_rule
            else "1"
        )
        aggregates[f"d{number}"] = f"SUM({keep})"
        factors = [keep]
        numerator = spec.numerator or {}
        if "any_case" in numerator:
            any_case = per_person(flag(rules.condition_q(numerator["any_case"], period)))
            factors.append(q(columns.add(f"n{number}_any", any_case)))
        if "person" in numerator:
            person = flag(rules.condition_q(numerator["person"], period))
            factors.append(q(columns.add(f"n{number}_person", person)))
        if "latest_survey" in numerator:
            needs_surveys = True
            factors.append(_survey_test(*rules.survey_bits(numerator["latest_survey"])))
        in_numerator = " * ".join(factors)
        if spec.is_percentage:
            aggregates[f"n{number}"] = f"SUM({in_numerator})"
        for measure in spec.measures:
            alias = f"m{number}_{measure}"
            if measure == "open":
                column = columns.add(alias, per_person(flag(rules.open_at_end(period))))
                aggregates[alias] = f"SUM({keep} * {q(column)})"
            elif measure == "also_mhpss":
                # Any service type, any case of the person overlapping the period; the
                # qualifying case itself counts when it is in MHPSS (contract).
                mhpss = Case.objects.filter(
                    agency_id=agency_id, programme__code=MHPSS_PROGRAMME
                ).filter(rules.overlapping(period))
                column = columns.add(alias, flag(Q(person_id__in=mhpss.values("person_id"))))
                aggregates[alias] = f"SUM({keep} * {q(column)})"
            elif measure == "surveyed":
                needs_surveys = True
                aggregates[alias] = f"SUM({keep} * {_survey_test(0)})"
            elif measure == "q3":
                needs_surveys = True
                for way in rules.Q3_WAYS:
                    bit = rules.SURVEY_BITS[f"q3_{way}"]
                    aggregates[f"m{number}_q3:{way}"] = f"SUM({in_numerator} * {_survey_test(bit)})"
            # "closed" is the count minus "open": no column of its own.
    return columns.expressions, aggregates, needs_surveys
