"""The plan gate (casework/plans/access.py), called directly: a plan is read and written with its
case, and only a supervisor of the case's own team decides on it."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404

from casework.plans import access
from casework.plans.models import CasePlan

MISSING = 987654


def test_only_a_supervisor_of_the_cases_team_decides(
    plan: CasePlan, sam: Any, olga: Any, amina: Any, paul: Any
) -> None:
    case = plan.case
    assert access.can_decide(case, sam)
    for user in (olga, amina, paul):
        assert not access.can_decide(case, user), user.username
    sam.team_id = None
    assert not access.can_decide(case, sam)


def test_a_supervisor_of_another_agency_with_the_same_team_number_does_not_decide(
    plan: CasePlan, sam: Any, other_agency: Any
) -> None:
    sam.agency_id = other_agency.pk
    assert not access.can_decide(plan.case, sam)


def test_the_decider_reaches_the_case_and_the_plan(
    plan: CasePlan, sam: Any, olga: Any, amina: Any
) -> None:
    assert access.get_case_for_decider(sam, plan.case_id) == plan.case
    assert access.get_plan_for_decider(sam, plan.pk) == plan
    for user in (olga, amina):
        with pytest.raises(Http404):
            access.get_case_for_decider(user, plan.case_id)
        with pytest.raises(Http404):
            access.get_plan_for_decider(user, plan.pk)


def test_a_plan_is_read_and_written_with_its_case(
    plan: CasePlan, amina: Any, paul: Any, omar: Any, register: Any
) -> None:
    assert access.get_plan_for_user(amina, plan.pk, write=True) == plan
    assert access.get_plan_for_user(paul, plan.pk) == plan
    with pytest.raises(Http404):
        access.get_plan_for_user(paul, plan.pk, write=True)
    for plan_id in (plan.pk, MISSING):
        with pytest.raises(Http404):
            access.get_plan_for_user(omar, plan_id)
    other_case = register(amina)
    with pytest.raises(Http404):
        access.plan_of_case(other_case, plan.pk)
    found = access.plan_of_case(plan.case, plan.pk)
    assert found == plan and found.case is plan.case


def test_a_missing_plan_reads_no_case_on_the_way_to_the_404(plan: CasePlan, amina: Any) -> None:
    from casework.audit.models import AuditEntry

    before = AuditEntry.objects.filter(action="cases.case.viewed").count()
    with pytest.raises(Http404):
        access.get_plan_for_user(amina, MISSING)
    refused = AuditEntry.objects.filter(action="cases.case.denied", actor=amina)
    assert [entry.case_id for entry in refused] == [None]
    assert AuditEntry.objects.filter(action="cases.case.viewed").count() == before
