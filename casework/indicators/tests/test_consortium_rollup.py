"""The consortium roll-up: the members' reports added up, minus the persons a link counts once.

Issue 17, item 8 ("done when"): the roll-up of two agencies equals the single-agency reports
added up minus the linked persons. The linked persons' own figures are measured by writing
their records a third time, in an agency outside the consortium: its report is exactly what
the roll-up must take off.
"""

from __future__ import annotations

import datetime
import itertools
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from casework.accounts.models import Agency
from casework.indicators.consortium import build_consortium_report
from casework.indicators.consortium_models import ConsortiumAgreement, PersonLink
from casework.indicators.dimensions import parse_by
from casework.indicators.periods import parse_period
from casework.indicators.report import build_report
from casework.indicators.tests.builders import CaseRows

pytestmark = pytest.mark.django_db

Q3 = parse_period("2026-Q3")
BY = "sex,age_group,sex+age_group"
_refs = itertools.count(1)


def figures(report_json: dict[str, Any]) -> dict[tuple[str, str, str, str], int]:
    """Every figure of a report: (indicator, disaggregation, key, figure) → number."""
    found: dict[tuple[str, str, str, str], int] = {}
    for item in report_json["indicators"]:
        code = item["code"]
        names = ("numerator", "denominator") if "denominator" in item else ("value",)
        for name in names:
            found[(code, "", "", name)] = item[name] or 0
        for dimensions, rows in item["by"].items():
            for row in rows:
                key = row["key"] if isinstance(row["key"], str) else "+".join(row["key"])
                for name in names:
                    found[(code, dimensions, key, name)] = row[name] or 0
    return found


def added(*reports: dict, minus: dict | None = None) -> dict:
    total: dict = {}
    for report in reports:
        for position, value in report.items():
            total[position] = total.get(position, 0) + value
    for position, value in (minus or {}).items():
        total[position] = total.get(position, 0) - value
    return {position: value for position, value in total.items() if value}


def single(agency: Agency) -> dict:
    report = build_report(
        agency_id=agency.pk, agency_code=agency.code, period=Q3, by=parse_by(BY), min_cell=1
    )
    return figures(report.as_json())


PERSON = st.tuples(
    st.sampled_from(["lead", "member", "linked", "unlinked"]),
    st.sampled_from(["female", "male"]),
    st.sampled_from([10, 20, 30]),
    st.booleans(),  # has a plan
    st.booleans(),  # the member's record is registered first
)


@pytest.fixture
def consortium(agency, other_agency, make_user):
    admin = make_user("otto", agency=other_agency, role="none", is_administrator=True)
    ConsortiumAgreement.objects.create(
        member=other_agency,
        lead=agency,
        starts_on=datetime.date(2026, 1, 1),
        agreed_by=admin,
        agreed_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        accepted_by=admin,  # (the lead's administrator, in life)
        accepted_at=datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC),
    )
    shadow = Agency.objects.create(code="LNK", name="Linked persons, again", require_mfa=False)
    return agency, other_agency, shadow


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(persons=st.lists(PERSON, max_size=10))
@example(persons=[])
@example(persons=[("linked", "female", 10, True, False)])
@example(persons=[("linked", "male", 20, False, True), ("unlinked", "male", 20, True, False)])
def test_the_roll_up_is_the_reports_added_up_minus_the_linked_persons(consortium, persons):
    lead, member, shadow = consortium
    with transaction.atomic():
        rows = {agency.pk: CaseRows(agency) for agency in (lead, member, shadow)}
        for where, sex, age, planned, member_first in persons:
            number = next(_refs)
            fields = {
                "sex": sex,
                "age": age,
                "plan_on": "2026-07-20" if planned else None,
                "plan_text": f"Plan {number}: school, health visits and a caregiver meeting",
            }
            records = {}
            for agency in {
                "lead": [lead],
                "member": [member],
                "linked": [lead, member, shadow],
                "unlinked": [lead, member],
            }[where]:
                registered = "2026-07-10" if (agency == member) == member_first else "2026-07-12"
                records[agency.pk] = rows[agency.pk].case(
                    f"C{agency.code}-{number}",
                    f"P{agency.code}-{number}",
                    registered_on=registered,
                    **fields,
                )
            if where == "linked":
                first, second = sorted([records[lead.pk].person_id, records[member.pk].person_id])
                PersonLink.objects.create(first_id=first, second_id=second, kind="transfer")
        rolled = build_consortium_report(lead=lead, period=Q3, by=parse_by(BY), min_cell=1)
        expected = added(single(lead), single(member), minus=single(shadow))
        assert added(figures(rolled.as_json())) == expected
        counted_once = rolled.as_json()["consortium"]["linked_persons_counted_once"]
        assert counted_once["CM_CHILDREN_YOUTH"] == sum(
            1
            for where, _sex, age, planned, _first in persons
            if where == "linked" and age <= 24 and planned
        )
        transaction.set_rollback(True)
