"""A new version copies the previous one; earlier versions stay, read-only."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from casework.cases.models import Case, Status
from casework.core.errors import CaseworkError
from casework.core.text import fold_hash
from casework.plans import services
from casework.plans.models import CasePlan, PlanBand
from casework.plans.tests.conftest import content


def test_it_copies_the_approved_plan_into_a_new_draft_version(
    approved: CasePlan, amina: Any
) -> None:
    new = services.revise_plan(approved, by=amina)
    assert (new.version, new.status) == (2, CasePlan.Status.DRAFT)
    assert new.text == approved.text and new.fold_hash == approved.fold_hash
    assert new.safety_plan == approved.safety_plan
    old_goals = list(approved.goals.all())
    new_goals = list(new.goals.all())
    assert [g.text for g in new_goals] == [g.text for g in old_goals]
    assert [g.copied_from_id for g in new_goals] == [g.pk for g in old_goals]
    assert [a.goal_id for a in new.actions.all()] == [g.pk for g in new_goals]
    assert [n.domain for n in new.needs.all()] == ["shelter"]


def test_it_keeps_the_earlier_version_as_it_was(approved: CasePlan, amina: Any) -> None:
    text_before = approved.text
    new = services.revise_plan(approved, by=amina)
    services.update_plan(
        new, by=amina, content=content(goals=["A different goal"]), expected_revision=1
    )
    approved.refresh_from_db()
    assert approved.status == CasePlan.Status.APPROVED
    assert approved.text == text_before
    assert CasePlan.objects.filter(case_id=approved.case_id).count() == 2
    # The case now describes the newest version, and only it is a candidate for comparisons.
    case = Case.objects.get(pk=approved.case_id)
    assert case.plan_fold_hash == fold_hash(
        "A different goal\n" + "\n".join(a.description for a in new.actions.all())
    )
    assert not PlanBand.objects.filter(plan=approved).exists()
    assert PlanBand.objects.filter(plan=new).exists()


def test_an_earlier_version_cannot_be_changed(approved: CasePlan, amina: Any) -> None:
    new = services.revise_plan(approved, by=amina)
    services.update_plan(new, by=amina, content=content(), expected_revision=1)
    with pytest.raises(CaseworkError):
        services.update_plan(approved, by=amina, content=content(), expected_revision=1)
    with pytest.raises(CaseworkError):
        services.revise_plan(approved, by=amina)


def test_an_open_version_is_edited_not_copied(plan: CasePlan, amina: Any) -> None:
    with pytest.raises(CaseworkError) as error:
        services.revise_plan(plan, by=amina)
    assert error.value.code == "plan_open"


def test_a_new_version_after_reassessment_moves_the_case_back_to_planned(
    approved: CasePlan, amina: Any
) -> None:
    from casework.cases import services as case_services

    case = Case.objects.get(pk=approved.case_id)
    case_services.transition_case(case, to=Status.ASSESSED, by=amina)
    approved.case.refresh_from_db()
    services.revise_plan(approved, by=amina)
    case.refresh_from_db()
    assert case.status == Status.PLANNED


def test_an_imported_plan_keeps_its_text_in_the_new_version(assessed: Case, amina: Any) -> None:
    imported = CasePlan.objects.create(
        case=assessed,
        version=1,
        status=CasePlan.Status.APPROVED,
        planned_on=timezone.localdate(),
        text="Shelter and school support as agreed",
        fold_hash=fold_hash("Shelter and school support as agreed"),
    )
    new = services.revise_plan(imported, by=amina)
    assert new.text == imported.text
    assert [g.text for g in new.goals.all()] == ["Shelter and school support as agreed"]


def test_old_versions_are_read_only_on_screen(login: Any, amina: Any, approved: CasePlan) -> None:
    client = login(amina)
    response = client.post(f"/cases/{approved.case_id}/plans/{approved.pk}/new-version/")
    assert response.status_code == 302
    new = CasePlan.objects.get(case_id=approved.case_id, version=2)
    assert response["Location"] == f"/cases/{approved.case_id}/plans/{new.pk}/edit/"
    old_page = client.get(f"/cases/{approved.case_id}/plans/{approved.pk}/").content.decode()
    assert "Earlier version, kept as it was" in old_page
    assert f"/plans/{approved.pk}/edit/" not in old_page
    edit = client.get(f"/cases/{approved.case_id}/plans/{approved.pk}/edit/")
    assert edit.status_code == 302
