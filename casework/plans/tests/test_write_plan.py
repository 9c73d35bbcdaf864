"""Writing the case action plan: its parts, the text the indicator compares, the case's step."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.cases.models import Case, Status
from casework.core.errors import CaseworkError, Conflict, FieldErrors
from casework.core.text import fold_hash
from casework.plans import services
from casework.plans.models import CasePlan, PlanAction, PlanBand
from casework.plans.tests.conftest import ACTIONS, GOALS, content


def test_it_moves_an_assessed_case_to_planned_with_the_first_plan(
    assessed: Case, amina: Any
) -> None:
    plan = services.create_plan(assessed, by=amina, content=content())
    assessed.refresh_from_db()
    assert assessed.status == Status.PLANNED
    assert assessed.planned_on == timezone.localdate()
    assert plan.version == 1 and plan.status == CasePlan.Status.DRAFT
    assert AuditEntry.objects.filter(action="plans.plan.created", case_id=assessed.pk).exists()


def test_it_dates_the_case_planned_on_from_a_backdated_plan(
    assessed: Case, amina: Any, yesterday: Any
) -> None:
    Case.objects.filter(pk=assessed.pk).update(assessed_on=yesterday)
    assessed.refresh_from_db()
    services.create_plan(assessed, by=amina, content=content(planned_on=yesterday))
    assessed.refresh_from_db()
    assert assessed.planned_on == yesterday


def test_it_composes_the_text_from_goals_and_actions_and_summarises_it_on_the_case(
    plan: CasePlan,
) -> None:
    plan.refresh_from_db()
    assert plan.text == "\n".join(GOALS + ACTIONS)
    assert plan.fold_hash == fold_hash(plan.text)
    case = Case.objects.get(pk=plan.case_id)
    assert case.plan_fold_hash == plan.fold_hash
    assert case.plan_is_group is False
    assert PlanBand.objects.filter(plan=plan).count() == 16


def test_it_keeps_the_parts_of_the_plan(plan: CasePlan) -> None:
    plan.refresh_from_db()
    assert plan.safety_plan.startswith("Call the hotline")
    assert plan.client_responsibilities and plan.caseworker_responsibilities
    assert [n.domain for n in plan.needs.all()] == ["shelter"]
    goals = list(plan.goals.all())
    assert [g.term for g in goals] == ["short", "long"]
    actions = list(plan.actions.all())
    assert actions[0].responsible == PlanAction.Responsible.ORGANISATION
    assert actions[0].responsible_name == "Association Kéné"
    assert actions[0].goal == goals[0] and actions[1].goal == goals[1]


def test_it_refuses_a_plan_before_the_assessment(case: Case, amina: Any) -> None:
    with pytest.raises(CaseworkError) as error:
        services.create_plan(case, by=amina, content=content())
    assert error.value.code == "not_ready_for_planning"
    assert not CasePlan.objects.filter(case=case).exists()


def test_it_refuses_a_second_first_plan(plan: CasePlan, amina: Any) -> None:
    with pytest.raises(CaseworkError):
        services.create_plan(plan.case, by=amina, content=content())


def test_it_names_the_organisation_responsible(assessed: Case, amina: Any) -> None:
    bad = content()
    bad.actions[0].responsible_name = ""
    with pytest.raises(FieldErrors) as error:
        services.create_plan(assessed, by=amina, content=bad)
    assert "actions" in error.value.errors


def test_it_refuses_an_action_for_a_goal_not_in_the_plan(assessed: Case, amina: Any) -> None:
    bad = content()
    bad.actions[0].goal_ref = "7"
    with pytest.raises(FieldErrors):
        services.create_plan(assessed, by=amina, content=bad)


def test_it_updates_the_case_summary_when_the_group_flag_changes(
    plan: CasePlan, amina: Any
) -> None:
    services.update_plan(plan, by=amina, content=content(is_group=True), expected_revision=1)
    assert Case.objects.get(pk=plan.case_id).plan_is_group is True


def test_a_stale_edit_does_not_overwrite_a_newer_one(plan: CasePlan, amina: Any) -> None:
    services.update_plan(plan, by=amina, content=content(goals=["New goal"]), expected_revision=1)
    with pytest.raises(Conflict):
        services.update_plan(
            plan, by=amina, content=content(goals=["Older goal"]), expected_revision=1
        )
    plan.refresh_from_db()
    assert plan.text.startswith("New goal")


def test_it_edits_rows_in_place_and_removes_the_missing_ones(plan: CasePlan, amina: Any) -> None:
    goals = list(plan.goals.all())
    edited = content(goals=["Safe housing, in her words"], actions=[ACTIONS[0]])
    edited.goals[0].id = goals[0].pk
    services.update_plan(plan, by=amina, content=edited, expected_revision=1)
    assert [g.pk for g in plan.goals.all()] == [goals[0].pk]
    assert plan.actions.count() == 1


def test_the_editor_writes_a_plan_over_http(login: Any, amina: Any, assessed: Case) -> None:
    client = login(amina)
    assert client.get(f"/cases/{assessed.pk}/plans/new/").status_code == 200
    today = timezone.localdate().isoformat()
    data = {
        "planned_on": today,
        "summary": "First meeting.",
        "client_responsibilities": "Attend school.",
        "caseworker_responsibilities": "Pay the school fees.",
        "needs-TOTAL_FORMS": "1",
        "needs-INITIAL_FORMS": "0",
        "needs-0-domain": "education",
        "needs-0-description": "Out of school for a year",
        "goals-TOTAL_FORMS": "2",
        "goals-INITIAL_FORMS": "0",
        "goals-0-text": "Back at school by March",
        "goals-0-term": "short",
        "goals-1-text": "",
        "goals-1-term": "short",
        "actions-TOTAL_FORMS": "2",
        "actions-INITIAL_FORMS": "0",
        "actions-0-description": "Enrol at the community school",
        "actions-0-goal": "1",
        "actions-0-responsible": "caseworker",
        "actions-0-status": "planned",
        "actions-1-status": "planned",
    }
    response = client.post(f"/cases/{assessed.pk}/plans/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    plan = CasePlan.objects.get(case=assessed)
    assert plan.text == "Back at school by March\nEnrol at the community school"
    assert plan.actions.get().goal == plan.goals.get()
    page = client.get(f"/cases/{assessed.pk}/plans/{plan.pk}/edit/")
    assert "Back at school by March" in page.content.decode()


def test_the_editor_shows_errors_next_to_the_rows(login: Any, amina: Any, assessed: Case) -> None:
    data = {
        "planned_on": timezone.localdate().isoformat(),
        "needs-TOTAL_FORMS": "0",
        "needs-INITIAL_FORMS": "0",
        "goals-TOTAL_FORMS": "0",
        "goals-INITIAL_FORMS": "0",
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "0",
        "actions-0-description": "Do something",
        "actions-0-status": "planned",
    }
    response = login(amina).post(f"/cases/{assessed.pk}/plans/new/", data)
    assert response.status_code == 400
    assert "Say who is responsible." in response.content.decode()
    assert not CasePlan.objects.filter(case=assessed).exists()


def test_the_case_page_shows_the_plan_section(login: Any, amina: Any, plan: CasePlan) -> None:
    body = login(amina).get(f"/cases/{plan.case_id}/").content.decode()
    assert "Case action plan" in body
    assert f"/cases/{plan.case_id}/plans/{plan.pk}/" in body


def test_the_plan_of_a_closed_case_is_kept_as_it_was(plan: CasePlan, amina: Any) -> None:
    from casework.cases import services as case_services

    case = Case.objects.get(pk=plan.case_id)
    case_services.transition_case(case, to=Status.CLOSED, by=amina, closure_reason="needs_met")
    plan.case.refresh_from_db()
    with pytest.raises(CaseworkError) as error:
        services.update_plan(plan, by=amina, content=content(), expected_revision=1)
    assert error.value.code == "case_closed"


def _as_posted(editor: Any) -> dict[str, Any]:
    """The editor's forms as a browser would send them back untouched."""
    data: dict[str, Any] = {}
    forms = [editor.form]
    for formset in (editor.needs, editor.goals, editor.actions):
        management = formset.management_form
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data[management.add_prefix(name)] = management.initial.get(name, "")
        forms.extend(formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if value is None or value is False:
                continue
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


def test_saving_the_editor_untouched_changes_nothing(
    login: Any, amina: Any, plan: CasePlan
) -> None:
    client = login(amina)
    url = f"/cases/{plan.case_id}/plans/{plan.pk}/edit/"
    editor = client.get(url).context["editor"]
    goal_ids = [g.pk for g in plan.goals.all()]
    text = CasePlan.objects.get(pk=plan.pk).text
    response = client.post(url, _as_posted(editor))
    assert response.status_code == 302, response.content.decode()[:2000]
    plan.refresh_from_db()
    assert plan.text == text and plan.revision == 2
    assert [g.pk for g in plan.goals.all()] == goal_ids
    assert [a.goal_id for a in plan.actions.all()] == goal_ids


def test_the_api_writes_a_plan_with_goals_referenced_by_actions(
    login: Any, amina: Any, assessed: Case
) -> None:
    client = login(amina)
    body: dict[str, Any] = {
        "client_responsibilities": "Come to the Tuesday sessions.",
        "caseworker_responsibilities": "Book the clinic.",
        "needs": [{"domain": "health", "description": "Untreated injury"}],
        "goals": [
            {"text": "Injury treated", "term": "short", "ref": "health"},
            {"text": "Back at work", "term": "long"},
        ],
        "actions": [
            {"description": "Clinic visit", "responsible": "caseworker", "goal": "health"},
            {"description": "Job search", "responsible": "client", "goal": "2"},
        ],
    }
    response = client.post(
        f"/api/v1/plans/cases/{assessed.pk}", body, content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert [a["goal_number"] for a in data["actions"]] == [1, 2]
    assert data["text"] == "Injury treated\nBack at work\nClinic visit\nJob search"
    body["goals"][1]["ref"] = "health"
    response = client.put(
        f"/api/v1/plans/{data['id']}",
        body,
        content_type="application/json",
        headers={"If-Match": response.headers["ETag"]},
    )
    assert response.status_code == 400
    assert "goals" in response.json()["fields"]
