"""The benchmark's hand-written floor (bench/indicators_bench.py) counts what the report counts.

`make bench` divides the report's time by the floor's; the ratio means something only if the two
statements compute the same figures. Checked on demo data (plans copied and grouped, surveys,
several cases per person) on whichever database the suite runs on.
"""

from __future__ import annotations

from io import StringIO
from typing import Any

from django.core.management import call_command
from django.db import connection

from bench.indicators_bench import _RAW, floor_statement
from casework.accounts.models import Agency
from casework.indicators.definitions import (
    CM_CHILDREN_YOUTH,
    INDIVIDUAL_PLAN,
    PARTICIPATION,
)
from casework.indicators.periods import parse_period
from casework.indicators.queries import count_persons
from casework.indicators.selectors import load_specs

SUMS = ["children", "children_open", "children_mhpss", "persons", "planned", "involved", "surveyed"]
SUMS += [f"q3_{bit}" for bit in (8, 16, 32, 64, 128, 256)]


def test_the_floor_adds_up_to_the_reports_totals(db: Any) -> None:
    call_command("demo", "--cases", "400", "--seed", "5", stdout=StringIO())
    agency = Agency.objects.get(code="AGY")
    period = parse_period("2026-Q3")
    counts = count_persons(
        agency_id=agency.pk, period=period, specs=load_specs(agency.pk, None), sets=[]
    )
    params: dict[str, Any] = {"agency": agency.pk, "start": period.start, "end": period.end}
    with connection.cursor() as cursor:
        cursor.execute(floor_statement(connection.vendor), params)
        rows = cursor.fetchall()
    # Only the "by programme" slices have a programme (every case has one): they add up to the
    # totals, whatever the database does with the empty grouping set.
    at = list(_RAW).index("programme")
    floor = dict.fromkeys(SUMS, 0)
    for row in rows:
        if row[at] is not None:
            for number, name in enumerate(SUMS):
                floor[name] += int(row[len(_RAW) + number] or 0)

    children = counts[CM_CHILDREN_YOUTH][()][()]
    plans = counts[INDIVIDUAL_PLAN][()][()]
    participation = counts[PARTICIPATION][()][()]
    assert children.persons > 0 and plans.numerator > 0 and participation.numerator > 0
    assert floor["children"] == children.persons
    assert floor["children_open"] == children.measures["open"]
    assert floor["children_mhpss"] == children.measures["also_mhpss"]
    assert (floor["persons"], floor["planned"]) == (plans.persons, plans.numerator)
    assert (floor["persons"], floor["involved"]) == (participation.persons, participation.numerator)
    assert floor["surveyed"] == participation.measures["surveyed"]
