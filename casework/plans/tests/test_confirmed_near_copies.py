"""A near copy a supervisor confirmed stops counting as individualised from the day of the
confirmation (seed 001): the date is kept on both cases, through every path that decides a
finding or changes a plan's text, and INDIVIDUAL_PLAN uses it per period."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from casework.cases.models import Case
from casework.plans import confirmations, services
from casework.plans.models import CasePlan, PlanMatch
from casework.plans.tests.conftest import assess, content
from casework.plans.tests.test_individualised_plans import COPIED_ACTIONS, COPIED_GOALS

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(register: Any, amina: Any) -> tuple[CasePlan, CasePlan]:
    """Two persons' plans, the second a near copy of the first (a pending finding)."""
    first_case = assess(register(amina), amina)
    second_case = assess(register(amina, given_name="Mariam", family_name="Keita"), amina)
    original = services.create_plan(
        first_case, by=amina, content=content(goals=COPIED_GOALS, actions=COPIED_ACTIONS)
    )
    edited = [COPIED_GOALS[0].replace("Bamako", "Ségou"), *COPIED_GOALS[1:]]
    copy = services.create_plan(
        second_case, by=amina, content=content(goals=edited, actions=COPIED_ACTIONS)
    )
    assert PlanMatch.objects.filter(decision="pending").count() == 1
    return original, copy


def _dates(*plans: CasePlan) -> list[datetime.date | None]:
    return [
        Case.objects.values_list("plan_duplicate_confirmed_on", flat=True).get(pk=plan.case_id)
        for plan in plans
    ]


def test_it_dates_both_cases_when_a_supervisor_confirms(
    pair: tuple[CasePlan, CasePlan], sam: Any
) -> None:
    assert _dates(*pair) == [None, None]  # a finding waiting for a decision changes nothing
    services.decide_match(PlanMatch.objects.get(), by=sam, decision="confirmed")
    today = timezone.localdate()
    assert _dates(*pair) == [today, today]
    assert confirmations.stale_cases(pair[0].case.agency_id) == []


def test_it_leaves_no_date_when_the_finding_is_dismissed(
    pair: tuple[CasePlan, CasePlan], sam: Any
) -> None:
    services.decide_match(
        PlanMatch.objects.get(), by=sam, decision="dismissed", note="Sisters, on purpose."
    )
    assert _dates(*pair) == [None, None]


def test_it_keeps_the_date_over_a_new_version_and_ends_it_when_the_text_is_rewritten(
    pair: tuple[CasePlan, CasePlan], sam: Any, amina: Any
) -> None:
    original, copy = pair
    services.decide_match(PlanMatch.objects.get(), by=sam, decision="confirmed")
    earlier = timezone.localdate() - datetime.timedelta(days=20)
    # Confirmed twenty days ago: the date is the decision's, not the day of a later version.
    PlanMatch.objects.update(decided_at=timezone.now() - datetime.timedelta(days=20))
    assert confirmations.refresh({copy.case_id}) == 2
    CasePlan.objects.filter(pk=copy.pk).update(status="approved")
    copy.refresh_from_db()
    new = services.revise_plan(copy, by=amina)
    assert services.individualisation(new).confirmed
    assert _dates(original, new) == [earlier, earlier]
    assert confirmations.stale_cases(copy.case.agency_id) == []

    services.update_plan(
        new,
        by=amina,
        content=content(goals=["Her own goal, in her words"], actions=["Her own first step"]),
        expected_revision=new.revision,
    )
    assert _dates(original, new) == [None, None]  # neither plan is a confirmed copy any more
    assert confirmations.stale_cases(copy.case.agency_id) == []


def test_it_is_dated_for_confirmations_made_before_the_date_was_kept(
    pair: tuple[CasePlan, CasePlan], sam: Any
) -> None:
    """`stale_cases` finds a case whose date is missing, and `casework index_plans` sets it."""
    services.decide_match(PlanMatch.objects.get(), by=sam, decision="confirmed")
    Case.objects.update(plan_duplicate_confirmed_on=None)
    agency_id = pair[0].case.agency_id
    assert confirmations.stale_cases(agency_id) == sorted(plan.case_id for plan in pair)
    out = StringIO()
    call_command("index_plans", stdout=out)
    assert "Corrected 2 dates of confirmed near copies." in out.getvalue()
    assert confirmations.stale_cases(agency_id) == []
    assert _dates(*pair) == [timezone.localdate()] * 2


def test_it_changes_individual_plan_from_the_confirmation_date(
    pair: tuple[CasePlan, CasePlan], sam: Any, paul: Any, login: Any
) -> None:
    """Over the API: a period ending the day before the confirmation keeps counting both plans
    as individualised; one ending on the day of the confirmation or later counts neither."""
    today = timezone.localdate()
    start = today - datetime.timedelta(days=60)
    # Both cases registered, assessed and planned two months ago.
    Case.objects.update(
        identified_on=start,
        registered_on=start,
        assessed_on=start,
        planned_on=start + datetime.timedelta(days=1),
    )
    CasePlan.objects.update(planned_on=start + datetime.timedelta(days=1))
    services.decide_match(PlanMatch.objects.get(), by=sam, decision="confirmed")
    client = login(paul)

    def individual_plan(end: datetime.date) -> tuple[int, int]:
        answer = client.get(
            "/api/v1/indicators", {"period": f"{start}..{end}", "min_cell": 1}
        ).json()
        found = next(i for i in answer["indicators"] if i["code"] == "INDIVIDUAL_PLAN")
        return found["numerator"], found["denominator"]

    assert individual_plan(today - datetime.timedelta(days=1)) == (2, 2)
    assert individual_plan(today) == (0, 2)


def test_refreshing_many_dates_writes_one_statement_per_date(
    pair: tuple[CasePlan, CasePlan], sam: Any, django_assert_num_queries: Any
) -> None:
    """Both cases' dates are missing and are set to the same day: one UPDATE for the two (the
    two reads: the confirmed findings and the cases' current dates, then the dates wanted)."""
    services.decide_match(PlanMatch.objects.get(), by=sam, decision="confirmed")
    Case.objects.update(plan_duplicate_confirmed_on=None)
    with django_assert_num_queries(4):
        assert confirmations.refresh({pair[0].case_id}) == 2
    assert _dates(*pair) == [timezone.localdate()] * 2
