"""Follow-up, reassignment, transfer to another agency, closure with checklist and approval,
reopening — services and screens."""

from __future__ import annotations

import datetime
from typing import Any, TypedDict

import pytest
from django.utils import timezone

from casework.accounts.models import Team
from casework.cases import services, workflow
from casework.cases.models import (
    Case,
    CasePolicy,
    ClosureReason,
    ClosureRequest,
    Status,
    TransferRequest,
)
from casework.core.errors import ConsentRequired, FieldErrors, NotAllowed


class Checklist(TypedDict):
    """The closure checklist, as keyword arguments of `workflow.request_closure`."""

    goals_reviewed: bool
    closure_explained: bool
    follow_up_arranged: bool


def _to_planned(case: Case, by: Any) -> Case:
    services.transition_case(case, to=Status.ASSESSED, by=by)
    services.transition_case(case, to=Status.PLANNED, by=by)
    return case


def test_a_follow_up_moves_a_planned_case_to_follow_up_and_reschedules_by_risk(
    case: Case, amina: Any
) -> None:
    _to_planned(case, amina)
    workflow.record_follow_up(
        case, by=amina, risk_changed=True, new_risk_level="high", service_received="yes"
    )
    case.refresh_from_db()
    assert case.status == Status.IN_FOLLOW_UP
    assert case.risk_level == "high"
    assert case.next_due_at is not None
    assert case.next_due_at - timezone.now() <= datetime.timedelta(hours=48)
    assert case.last_contact_on == timezone.localdate()


def test_a_changed_risk_needs_its_new_level(case: Case, amina: Any) -> None:
    with pytest.raises(FieldErrors) as error:
        workflow.record_follow_up(case, by=amina, risk_changed=True)
    assert "new_risk_level" in error.value.errors


def test_only_the_teams_supervisor_reassigns_within_the_team(
    case: Case, amina: Any, sam: Any, olga: Any, omar: Any, make_user: Any
) -> None:
    colleague = make_user("bintou", agency=amina.agency, team=amina.team, role="caseworker")
    with pytest.raises(NotAllowed):
        workflow.reassign_case(case, to=colleague, by=amina)
    with pytest.raises(NotAllowed):
        workflow.reassign_case(case, to=colleague, by=olga)
    with pytest.raises(FieldErrors):
        workflow.reassign_case(case, to=omar, by=sam)
    workflow.reassign_case(case, to=colleague, by=sam, reason="Leave")
    case.refresh_from_db()
    assert case.caseworker == colleague
    assert case.assignments.get().from_user == amina


@pytest.fixture
def receiving(make_user: Any, other_agency: Any) -> Any:
    team = Team.objects.create(agency=other_agency, name="Intake")
    supervisor = make_user("rita", agency=other_agency, team=team, role="supervisor")
    worker = make_user("ravi", agency=other_agency, team=team, role="caseworker")
    return supervisor, worker


def _consent_to_transfer(case: Case, by: Any, agency: Any) -> None:
    services.record_consent(
        case,
        by=by,
        details=services.ConsentDetails(
            receive_services=True,
            recipients=[
                services.RecipientDetails(
                    organisation_name=agency.name, organisation_code=agency.code, purpose="transfer"
                )
            ],
        ),
    )


def test_a_transfer_needs_consent_covering_the_receiving_agency(
    case: Case, amina: Any, other_agency: Any
) -> None:
    with pytest.raises(ConsentRequired):
        workflow.request_transfer(case, to_agency=other_agency, by=amina, reason="Moving")
    case.refresh_from_db()
    assert case.status == Status.REGISTERED and not TransferRequest.objects.exists()


def test_an_accepted_transfer_hands_the_case_over_with_its_history(
    login: Any, case: Case, amina: Any, other_agency: Any, receiving: Any
) -> None:
    rita, ravi = receiving
    _consent_to_transfer(case, amina, other_agency)
    services.transition_case(case, to=Status.ASSESSED, by=amina)
    transfer = workflow.request_transfer(
        case, to_agency=other_agency, by=amina, reason="Family moved", summary="Needs school"
    )
    case.refresh_from_db()
    assert case.status == Status.TRANSFERRED
    # Before acceptance: the receiving supervisor sees the offer, not the case.
    assert login(rita).get(f"/cases/{case.pk}/").status_code == 404
    assert login(amina).get(f"/cases/{case.pk}/").status_code == 200
    page = login(rita).get(f"/cases/transfers/{transfer.pk}/")
    assert page.status_code == 200 and "Needs school" in page.content.decode()
    response = login(rita).post(
        f"/cases/transfers/{transfer.pk}/", {"decision": "accept", "caseworker": ravi.pk}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.agency, case.caseworker, case.status) == (other_agency, ravi, Status.ASSESSED)
    assert case.reference.startswith("OTH-") and case.person.agency == other_agency
    assert login(amina).get(f"/cases/{case.pk}/").status_code == 404
    assert login(ravi).get(f"/cases/{case.pk}/").status_code == 200
    assert case.transitions.count() == 5  # identified, registered, assessed, transferred, assessed


def test_a_refused_transfer_resumes_where_the_case_was(
    case: Case, amina: Any, other_agency: Any, receiving: Any
) -> None:
    rita, _ravi = receiving
    _consent_to_transfer(case, amina, other_agency)
    transfer = workflow.request_transfer(case, to_agency=other_agency, by=amina, reason="Moving")
    with pytest.raises(FieldErrors):
        workflow.decide_transfer(transfer, by=rita, accept=False)
    workflow.decide_transfer(transfer, by=rita, accept=False, comment="No capacity")
    case.refresh_from_db()
    assert case.status == Status.REGISTERED and case.agency == amina.agency


@pytest.mark.parametrize("reason", ClosureReason.values)
def test_each_closure_reason_with_its_checklist(
    case: Case, amina: Any, sam: Any, reason: str
) -> None:
    if reason == ClosureReason.CONTACT_LOST:
        Case.objects.filter(pk=case.pk).update(
            last_contact_on=timezone.localdate() - datetime.timedelta(days=31)
        )
        case.refresh_from_db()
    checklist: Checklist = {
        "goals_reviewed": True,
        "closure_explained": True,
        "follow_up_arranged": True,
    }
    closure = workflow.request_closure(case, by=amina, reason=reason, **checklist)
    case.refresh_from_db()
    assert closure.status == ClosureRequest.Status.PENDING and case.status == Status.REGISTERED
    workflow.decide_closure(closure, by=sam, approve=True)
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.closure_reason == reason and case.closed_on


def test_the_checklist_is_enforced(case: Case, amina: Any) -> None:
    with pytest.raises(FieldErrors) as error:
        workflow.request_closure(case, by=amina, reason=ClosureReason.NEEDS_MET)
    assert {"goals_reviewed", "closure_explained", "follow_up_arranged"} <= set(error.value.errors)
    with pytest.raises(FieldErrors) as error:
        workflow.request_closure(case, by=amina, reason=ClosureReason.CONTACT_LOST)
    assert "reason" in error.value.errors  # registered today: not 30 days without contact


def test_a_childs_closure_on_request_records_best_interests(register: Any, amina: Any) -> None:
    child = register(amina, age=12)
    checklist: Checklist = {
        "goals_reviewed": True,
        "closure_explained": True,
        "follow_up_arranged": True,
    }
    with pytest.raises(FieldErrors) as error:
        workflow.request_closure(child, by=amina, reason=ClosureReason.CLIENT_REQUEST, **checklist)
    assert "best_interests" in error.value.errors
    workflow.request_closure(
        child,
        by=amina,
        reason=ClosureReason.CLIENT_REQUEST,
        best_interests="Safe with aunt",
        **checklist,
    )


def test_a_returned_closure_needs_a_comment_and_leaves_the_case_open(
    case: Case, amina: Any, sam: Any, olga: Any
) -> None:
    closure = workflow.request_closure(case, by=amina, reason=ClosureReason.RELOCATED)
    with pytest.raises(NotAllowed):
        workflow.decide_closure(closure, by=olga, approve=True)
    with pytest.raises(FieldErrors):
        workflow.decide_closure(closure, by=sam, approve=False)
    workflow.decide_closure(closure, by=sam, approve=False, comment="Try the new number first")
    case.refresh_from_db()
    assert case.status == Status.REGISTERED


def test_without_required_approval_the_case_closes_at_once(case: Case, amina: Any) -> None:
    CasePolicy.objects.create(agency=case.agency, closure_approval_reasons=[])
    workflow.request_closure(case, by=amina, reason=ClosureReason.DEATH)
    case.refresh_from_db()
    assert case.status == Status.CLOSED


def test_reopening_keeps_the_closure_on_record(
    login: Any, case: Case, amina: Any, sam: Any
) -> None:
    workflow.request_closure(case, by=sam, reason=ClosureReason.RELOCATED)  # the supervisor closes
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    workflow.reopen_case(case, by=amina, reason="Came back")
    case.refresh_from_db()
    assert case.status == Status.REOPENED and case.closed_on is None
    assert ClosureRequest.objects.filter(case=case, status="approved").exists()
    assert "Relocated" in login(amina).get(f"/cases/{case.pk}/").content.decode()


def test_the_move_form_cannot_bypass_the_closure_checklist(
    login: Any, case: Case, amina: Any
) -> None:
    response = login(amina).post(
        f"/cases/{case.pk}/move/",
        {"to": "closed", "closure_reason": "other", "version": case.version},
    )
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/close/"
    case.refresh_from_db()
    assert case.status == Status.REGISTERED
    api = login(amina).post(
        f"/api/v1/cases/{case.pk}/transitions",
        {"to": "closed"},
        content_type="application/json",
        headers={"If-Match": f'"{case.version}"'},
    )
    assert api.status_code == 400 and api.json()["code"] == "use_closure"


def test_the_closure_screen_shows_errors_by_field(login: Any, case: Case, amina: Any) -> None:
    response = login(amina).post(f"/cases/{case.pk}/close/", {"reason": "needs_met"})
    assert response.status_code == 400
    assert 'id="id_goals_reviewed_error"' in response.content.decode()


def test_the_team_view_shows_caseloads_in_a_bounded_number_of_queries(
    login: Any,
    register: Any,
    amina: Any,
    sam: Any,
    make_user: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for number in range(5):
        colleague = make_user(
            f"cw{number}", agency=amina.agency, team=amina.team, role="caseworker"
        )
        for _ in range(3):
            register(sam, caseworker=colleague)
    for _ in range(4):
        register(amina, risk_level="high")
    client = login(sam)
    client.get("/cases/team/")
    # 16: the lines of later apps included (overdue cases and tasks; the supervision setting
    # and the high-risk cases not discussed lately), however many caseworkers and cases.
    with django_assert_max_num_queries(16):
        response = client.get("/cases/team/")
    body = response.content.decode()
    assert response.status_code == 200 and "Amina" in body and "Cw4" in body
    assert login(amina).get("/cases/team/").status_code == 404


def test_relatives_who_are_no_ones_client_go_along_with_a_transferred_case(
    register: Any, amina: Any, other_agency: Any, receiving: Any
) -> None:
    from casework.people.models import Person, Relationship
    from casework.people.services import caregivers_of, link_persons

    rita, ravi = receiving
    child = register(amina, given_name="Mariam", age=9)  # her caregiver Hawa, no case of hers
    sister = register(amina, given_name="Awa", age=16)  # a client herself
    link_persons(child.person, sister.person, kind="sibling", by=amina)
    services.record_consent(
        child,
        by=amina,
        details=services.ConsentDetails(
            receive_services=True,
            given_by="caregiver",
            child_assent=True,
            recipients=[
                services.RecipientDetails(
                    organisation_name=other_agency.name,
                    organisation_code=other_agency.code,
                    purpose="transfer",
                )
            ],
        ),
    )
    transfer = workflow.request_transfer(child, to_agency=other_agency, by=amina, reason="Moved")
    workflow.decide_transfer(transfer, by=rita, accept=True, caseworker=ravi)
    child.refresh_from_db()
    moved = child.person
    assert moved.agency == other_agency
    caregiver = caregivers_of(moved).get().relative
    assert caregiver.agency == other_agency and caregiver.given_name == "Hawa"
    assert Relationship.objects.filter(person=moved).count() == 1  # not the sister: a client here
    old_hawa = Person.objects.get(agency=amina.agency, reference__endswith="-P-0000002")
    assert old_hawa.given_name == "Hawa"  # the sending agency keeps its own record
