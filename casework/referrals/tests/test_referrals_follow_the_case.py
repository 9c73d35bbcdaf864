"""Closing a case, or handing it to another agency, cancels the referrals nobody answered yet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from casework.audit.models import AuditEntry
from casework.cases import services as case_services
from casework.cases import workflow
from casework.cases.models import Case, ClosureReason, Status
from casework.referrals.models import Referral, Service
from casework.referrals.services import move_referral

S = Referral.Status


class Checklist(TypedDict):
    """The closure checklist, as keyword arguments of `workflow.request_closure`."""

    goals_reviewed: bool
    closure_explained: bool
    follow_up_arranged: bool


CHECKLIST: Checklist = {
    "goals_reviewed": True,
    "closure_explained": True,
    "follow_up_arranged": True,
}


def _two_referrals(
    case: Case, amina: Any, priya: Any, service: Service, consent_to: Any, refer: Any
) -> tuple[Referral, Referral]:
    consent_to(case, amina, "PRT", ("case_summary",))
    counselling = Service.objects.create(
        organisation=service.organisation, name="Counselling", sector="mhpss", nationwide=True
    )
    waiting = refer(case, amina, service, summary="Check-up")
    under_way = refer(case, amina, counselling, summary="Counselling")
    move_referral(under_way, to=S.ACCEPTED, by=priya)
    return waiting, under_way


def test_closing_the_case_cancels_the_unanswered_referral_and_keeps_the_accepted_one(
    case: Case,
    amina: Any,
    sam: Any,
    priya: Any,
    clinic_care: Service,
    consent_to: Callable[..., Any],
    refer: Callable[..., Referral],
    login: Any,
) -> None:
    waiting, under_way = _two_referrals(case, amina, priya, clinic_care, consent_to, refer)
    closure = workflow.request_closure(
        case, by=amina, reason=ClosureReason.CLIENT_REQUEST, **CHECKLIST
    )
    workflow.decide_closure(closure, by=sam, approve=True)
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    waiting.refresh_from_db()
    under_way.refresh_from_db()
    assert waiting.status == S.CANCELLED and under_way.status == S.ACCEPTED
    event = waiting.events.get(status=S.CANCELLED)
    assert event.by == sam and event.comment == "The case was closed."
    assert AuditEntry.objects.filter(
        action="referrals.referral.cancelled", case_id=case.pk, object_id=str(waiting.pk)
    ).exists()
    # The partner sees it cancelled, and can still record the accepted one as delivered.
    inbox = login(priya).get(f"/referrals/{waiting.pk}/")
    assert inbox.status_code == 200 and "Cancelled" in inbox.content.decode()
    move_referral(under_way, to=S.DELIVERED, by=priya)


def test_an_accepted_transfer_cancels_the_unanswered_referral(
    case: Case,
    amina: Any,
    priya: Any,
    clinic_care: Service,
    consent_to: Callable[..., Any],
    refer: Callable[..., Referral],
    make_user: Any,
    other_agency: Any,
) -> None:
    from casework.accounts.models import Team

    team = Team.objects.create(agency=other_agency, name="Intake")
    rita = make_user("rita", agency=other_agency, team=team, role="supervisor")
    waiting, under_way = _two_referrals(case, amina, priya, clinic_care, consent_to, refer)
    case_services.record_consent(
        case,
        by=amina,
        details=case_services.ConsentDetails(
            receive_services=True,
            recipients=[
                case_services.RecipientDetails(
                    organisation_name=other_agency.name,
                    organisation_code=other_agency.code,
                    purpose="transfer",
                )
            ],
        ),
    )
    transfer = workflow.request_transfer(case, to_agency=other_agency, by=amina, reason="Moving")
    waiting.refresh_from_db()
    assert waiting.status == S.SENT  # an offer alone changes nothing
    workflow.decide_transfer(transfer, by=rita, accept=True)
    waiting.refresh_from_db()
    under_way.refresh_from_db()
    assert waiting.status == S.CANCELLED and under_way.status == S.ACCEPTED
    assert waiting.events.get(status=S.CANCELLED).by == rita
