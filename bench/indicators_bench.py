"""Benchmark of the quarterly indicators report against hand-written SQL (the floor).

`bench_indicators(agency_code, period)` times, on the database Django is connected to:

- "report": the full report as users get it (casework.indicators.report.build_report): the three
  built-in indicators, every single disaggregation, small-cell suppression included;
- "floor": the same grouped query written by hand in raw SQL (same windows over one ordering,
  same GROUPING SETS, or UNION ALL on SQLite), so the ratio shows what the ORM (compiling the
  rule language), the reference look-ups, the roll-up into slices and suppression add.

Target: the report under 2 s on PostgreSQL at 1,000,000 cases, within 3x the floor.
Run alone: `python -m bench.indicators_bench --agency AGY --period 2026-Q3` (DATABASE_URL set).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# The raw columns the report groups by (every single disaggregation is read from one of them).
_RAW = {
    "sex": "p.sex",
    "age": "c.age_at_registration",
    "concern": "c.primary_concern_id",
    "mobility": "p.mobility_status",
    "disability": "p.disability",
    "location": "c.location_id",
    "programme": "c.programme_id",
    "risk": "c.risk_level",
}
_END = "%(end)s"
_ASSESSED_AND_PLANNED = f"c.assessed_on <= {_END} AND c.planned_on <= {_END}"
_ORDER = "PARTITION BY c.person_id ORDER BY c.registered_on, c.reference"
_SO_FAR = f"({_ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
_WHOLE = f"({_ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
_MHPSS = (
    "SELECT m.person_id FROM cases_case m JOIN reference_programme mp ON mp.id = m.programme_id "
    "WHERE m.agency_id = %(agency)s AND mp.code = 'MHPSS' AND m.registered_on <= %(end)s "
    "AND (m.closed_on IS NULL OR m.closed_on >= %(start)s)"
)
_MASK = (
    "(CASE WHEN s.q1_aware THEN 1 ELSE 0 END) + (CASE WHEN s.q2_involved THEN 2 ELSE 0 END) "
    "+ (CASE WHEN s.q3_expressed_needs THEN 8 ELSE 0 END) + (CASE WHEN s.q3_chose_services THEN 16 ELSE 0 END) "
    "+ (CASE WHEN s.q3_set_goals THEN 32 ELSE 0 END) + (CASE WHEN s.q3_agreed_plan THEN 64 ELSE 0 END) "
    "+ (CASE WHEN s.q3_declined_services THEN 128 ELSE 0 END) + (CASE WHEN s.q3_other THEN 256 ELSE 0 END)"
)
_SURVEYS_IN_PERIOD = (
    "FROM feedback_participationsurvey s JOIN cases_case c2 ON c2.id = s.case_id "
    "WHERE c2.agency_id = %(agency)s AND s.surveyed_on BETWEEN %(start)s AND %(end)s"
)
# PostgreSQL: every person's latest survey ranked once, hash-joined to the cases.
_LATEST_SURVEYS = (
    f"SELECT person_id, mask FROM (SELECT c2.person_id, {_MASK} AS mask, "
    "ROW_NUMBER() OVER (PARTITION BY c2.person_id ORDER BY s.surveyed_on DESC, s.id DESC) AS rn "
    f"{_SURVEYS_IN_PERIOD}) t WHERE rn = 1"
)
# SQLite: no automatic index for that join (it would scan every survey for every case), so the
# latest survey is asked per case row through the indexes, as the report does on SQLite.
_LATEST_SURVEY_OF_ROW = (
    f"(SELECT {_MASK} {_SURVEYS_IN_PERIOD} AND c2.person_id = c.person_id "
    "ORDER BY s.surveyed_on DESC, s.id DESC LIMIT 1)"
)


def floor_statement(vendor: str) -> str:
    """The report's grouped query, by hand: the three indicators in one pass over the cases."""
    raw = ", ".join(f"{sql} AS {name}" for name, sql in _RAW.items())
    per_row = vendor == "sqlite"
    latest = "x.mask" if per_row else "s.mask"
    cases = (
        f"SELECT c.person_id, {raw}, "
        f"CASE WHEN {_ASSESSED_AND_PLANNED} THEN 1 ELSE 0 END AS cm_case, "
        f"SUM(CASE WHEN {_ASSESSED_AND_PLANNED} THEN 1 ELSE 0 END) OVER {_SO_FAR} AS cm_so_far, "
        f"ROW_NUMBER() OVER {_SO_FAR} AS first, "
        f"MAX(CASE WHEN {_ASSESSED_AND_PLANNED} AND (c.closed_on IS NULL OR c.closed_on > {_END}) "
        f"THEN 1 ELSE 0 END) OVER {_WHOLE} AS still_open, "
        f"MAX(CASE WHEN c.planned_on <= {_END} AND NOT c.plan_is_group AND c.plan_fold_hash <> '' "
        f"AND NOT c.plan_text_shared THEN 1 ELSE 0 END) OVER {_WHOLE} AS planned, "
        f"CASE WHEN c.person_id IN ({_MHPSS}) THEN 1 ELSE 0 END AS mhpss"
        + (f", {_LATEST_SURVEY_OF_ROW} AS mask " if per_row else " ")
        + "FROM cases_case c JOIN people_person p ON p.id = c.person_id "
        "WHERE c.agency_id = %(agency)s AND c.service_type = 'case_management' "
        "AND c.registered_on <= %(end)s AND (c.closed_on IS NULL OR c.closed_on >= %(start)s)"
    )
    child = "(x.cm_case = 1 AND x.cm_so_far = 1 AND x.age BETWEEN 0 AND 24)"
    involved = f"({latest} IS NOT NULL AND ({latest} & 3) = 3)"
    q3 = ", ".join(
        f"CASE WHEN x.first = 1 AND {involved} AND ({latest} & {bit}) = {bit} THEN 1 ELSE 0 END AS q3_{bit}"
        for bit in (8, 16, 32, 64, 128, 256)
    )
    rows = (
        f"SELECT {', '.join(f'x.{name}' for name in _RAW)}, "
        f"CASE WHEN {child} THEN 1 ELSE 0 END AS children, "
        f"CASE WHEN {child} AND x.still_open = 1 THEN 1 ELSE 0 END AS children_open, "
        f"CASE WHEN {child} AND x.mhpss = 1 THEN 1 ELSE 0 END AS children_mhpss, "
        "CASE WHEN x.first = 1 THEN 1 ELSE 0 END AS persons, "
        "CASE WHEN x.first = 1 AND x.planned = 1 THEN 1 ELSE 0 END AS planned, "
        f"CASE WHEN x.first = 1 AND {involved} THEN 1 ELSE 0 END AS involved, "
        f"CASE WHEN x.first = 1 AND {latest} IS NOT NULL THEN 1 ELSE 0 END AS surveyed, "
        f"{q3} FROM ({cases}) x "
        + ("" if per_row else f"LEFT JOIN ({_LATEST_SURVEYS}) s ON s.person_id = x.person_id ")
        + "WHERE x.first = 1 OR (x.cm_case = 1 AND x.cm_so_far = 1)"
    )
    sums = ", ".join(
        f"SUM({name})"
        for name in [
            "children", "children_open", "children_mhpss", "persons", "planned", "involved",
            "surveyed", *(f"q3_{bit}" for bit in (8, 16, 32, 64, 128, 256)),
        ]
    )  # fmt: skip
    columns = list(_RAW)
    if vendor == "postgresql":
        sets = ", ".join(["()"] + [f"({name})" for name in columns])
        return (
            f"SELECT {', '.join(columns)}, {sums} FROM ({rows}) r GROUP BY GROUPING SETS ({sets})"
        )
    parts = [f"SELECT {', '.join('NULL' for _ in columns)}, {sums} FROM r"]
    for name in columns:
        keys = ", ".join(name if other == name else "NULL" for other in columns)
        parts.append(f"SELECT {keys}, {sums} FROM r GROUP BY {name}")
    return f"WITH r AS MATERIALIZED ({rows}) " + " UNION ALL ".join(parts)


def bench_indicators(
    agency_code: str = "AGY", period: str = "2026-Q3", *, repeat: int = 5
) -> dict[str, Any]:
    """Timings of the full quarterly report and of its hand-written SQL floor."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casework.accounts.models import Agency
    from casework.cases.models import Case
    from casework.core.benchmarking import timed
    from casework.indicators.dimensions import ALL_SINGLE
    from casework.indicators.models import ReportingPolicy
    from casework.indicators.periods import parse_period
    from casework.indicators.report import build_report

    agency = Agency.objects.get(code=agency_code)
    reporting = parse_period(period)
    k = ReportingPolicy.min_cell_for(agency.pk)
    by = [(name,) for name in ALL_SINGLE]

    def report() -> None:
        build_report(
            agency_id=agency.pk, agency_code=agency.code, period=reporting, by=by, min_cell=k
        )

    params: dict[str, Any] = {"agency": agency.pk, "start": reporting.start, "end": reporting.end}
    statement = floor_statement(connection.vendor)

    def floor() -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            cursor.fetchall()

    with CaptureQueriesContext(connection) as captured:
        report()  # also the report's warm-up run
    timings = {
        "report": timed(report, repeat=repeat, warm=False),
        "floor": timed(floor, repeat=repeat),
    }
    return {
        "database": connection.vendor,
        "agency": agency_code,
        "period": str(reporting),
        "cases": Case.objects.filter(agency=agency).count(),
        "report": {**timings["report"], "queries": len(captured)},
        "floor": {**timings["floor"], "queries": 1},
        "ratio": round(timings["report"]["median_ms"] / max(timings["floor"]["median_ms"], 0.1), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agency", default="AGY")
    parser.add_argument("--period", default="2026-Q3")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import django

    django.setup()
    print(json.dumps(bench_indicators(args.agency, args.period, repeat=args.repeat), indent=1))


if __name__ == "__main__":
    main()


def run(repeat: int = 5) -> dict[str, Any]:
    """Entry point for bench/suite.py (`make bench`): the demo agency's last full quarter.

    Five timed runs of each on PostgreSQL; two on SQLite, where one report over 1,000,000 cases
    takes about a minute (BENCH_REPORT_REPEAT overrides both).
    """
    from django.db import connection

    default = 5 if connection.vendor == "postgresql" else 2
    times = int(os.environ.get("BENCH_REPORT_REPEAT", default))
    return bench_indicators(agency_code="AGY", period="2026-Q3", repeat=min(repeat, times))
