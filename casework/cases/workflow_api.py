"""/api/v1/cases: follow-up, reassignment, transfer, closure and the team caseload.

The same services as the screens in workflow_views.py; every case is loaded through the gate.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from casework.accounts.access import agency_of, require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm
from casework.cases import access, caseload, workflow
from casework.cases.models import ClosureRequest, FollowUp, TransferRequest
from casework.core.api import (
    READ_LATER,
    DocumentedAs,
    RawBody,
    answers,
    checked_body,
    if_match,
    send_version,
)

# Mounted beside casework/cases/api.py's router under /cases (casework/api.py).
router = Router(tags=["cases"])


class FollowUpIn(Schema):
    occurred_on: datetime.date | None = None
    contact_type: str = "home_visit"
    service_received: str = "na"
    satisfied: str = "na"
    new_needs: bool = False
    risk_changed: bool = False
    new_risk_level: str = ""
    reassessment_needed: bool = False
    notes: str = ""


class FollowUpOut(Schema):
    id: int
    occurred_on: datetime.date
    contact_type: str
    service_received: str
    satisfied: str
    new_needs: bool
    risk_changed: bool
    new_risk_level: str
    reassessment_needed: bool


class ReassignIn(Schema):
    caseworker: str  # username
    reason: str = ""


class TransferIn(Schema):
    to_agency: str  # agency code
    reason: str
    summary: str = ""
    override_reason: str = ""


class TransferOut(Schema):
    id: int
    # The case's version: send it as If-Match when deciding (ETag of the offer).
    version: int
    status: str
    from_agency: str
    to_agency: str
    summary: str | None = None
    created_at: datetime.datetime


class TransferDecisionIn(Schema):
    accept: bool
    caseworker: str = ""  # username in the receiving team
    comment: str = ""


class ClosureIn(Schema):
    reason: str
    goals_reviewed: bool = False
    closure_explained: bool = False
    follow_up_arranged: bool = False
    follow_up_arrangements: str = ""
    best_interests: str = ""
    summary: str = ""


class ClosureOut(Schema):
    id: int
    reason: str
    status: str
    created_at: datetime.datetime
    decided_at: datetime.datetime | None


class DecisionIn(Schema):
    approve: bool
    comment: str = ""


class ReopenIn(Schema):
    comment: str = ""


class CaseloadOut(Schema):
    caseworker: str
    high: int
    medium: int
    low: int
    unassessed: int
    overdue: int
    total: int
    threshold: int
    over_threshold: bool


def _follow_up_out(item: FollowUp) -> dict[str, Any]:
    return {field: getattr(item, field) for field in FollowUpOut.model_fields}


def _transfer_out(item: TransferRequest, *, with_summary: bool) -> dict[str, Any]:
    return {
        "id": item.pk,
        "version": item.case.version,
        "status": item.status,
        "from_agency": item.from_agency.code,
        "to_agency": item.to_agency.code,
        "summary": item.summary if with_summary else None,
        "created_at": item.created_at,
    }


def _closure_out(item: ClosureRequest) -> dict[str, Any]:
    return {
        "id": item.pk,
        "reason": item.reason,
        "status": item.status,
        "created_at": item.created_at,
        "decided_at": item.decided_at,
    }


@router.post(
    "/{case_id}/follow-ups",
    response=answers(FollowUpOut, 400, 404, 409, 412, status=201),
    summary="Record a follow-up visit or call",
    openapi_extra=if_match(required=False),
)
def add_follow_up(
    request: AuthenticatedHttpRequest,
    case_id: int,
    payload: Annotated[RawBody, DocumentedAs(FollowUpIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, FollowUpIn, payload, version=case.version, required=False)
    item = workflow.record_follow_up(case, by=user, **data.dict())
    return Status(201, _follow_up_out(item))


@router.post(
    "/{case_id}/reassign",
    response=answers(dict, 400, 404, 409, precondition=True),
    summary="Reassign a case within the team (supervisor)",
    openapi_extra=if_match(),
)
def reassign(
    request: AuthenticatedHttpRequest,
    case_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(ReassignIn)] = READ_LATER,
) -> Any:
    user = request.user
    require_perm(user, Perm.REASSIGN_IN_TEAM)
    case = access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, ReassignIn, payload, version=case.version)
    to = User.objects.filter(username=data.caseworker, agency_id=agency_of(user)).first()
    if to is None:
        return Status(
            400, {"code": "invalid", "message": _("No such caseworker."), "field": "caseworker"}
        )
    workflow.reassign_case(case, to=to, by=user, reason=data.reason)
    send_version(response, case.version)
    return Status(200, {"caseworker": to.username, "version": case.version})


@router.post(
    "/{case_id}/transfer",
    response=answers(TransferOut, 400, 403, 404, 409, status=201, precondition=True),
    summary="Offer the case to another agency (needs consent covering it)",
    openapi_extra=if_match(),
)
def request_transfer(
    request: AuthenticatedHttpRequest,
    case_id: int,
    payload: Annotated[RawBody, DocumentedAs(TransferIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, TransferIn, payload, version=case.version)
    agency = Agency.objects.filter(code=data.to_agency).first()
    if agency is None:
        return Status(
            400, {"code": "invalid", "message": _("No such agency."), "field": "to_agency"}
        )
    item = workflow.request_transfer(
        case,
        to_agency=agency,
        by=user,
        reason=data.reason,
        summary=data.summary,
        override_reason=data.override_reason,
    )
    return Status(201, _transfer_out(item, with_summary=True))


@router.get(
    "/transfers/offered",
    response=list[TransferOut],
    summary="Transfers offered to my agency (receiving supervisors)",
)
def offered_transfers(request: AuthenticatedHttpRequest) -> Any:
    user = request.user
    require_perm(user, Perm.REASSIGN_IN_TEAM)
    items = (
        workflow.transfers_for(user)
        .select_related("to_agency", "case")
        .order_by("created_at")[:200]
    )
    return [_transfer_out(item, with_summary=True) for item in items]


@router.post(
    "/transfers/{transfer_id}/decision",
    response=answers(TransferOut, 400, 404, 409, precondition=True),
    summary="Accept or refuse a transfer offered to my agency (If-Match: the offer's version)",
    openapi_extra=if_match(),
)
def decide_transfer(
    request: AuthenticatedHttpRequest,
    transfer_id: int,
    payload: Annotated[RawBody, DocumentedAs(TransferDecisionIn)] = READ_LATER,
) -> Any:
    user = request.user
    require_perm(user, Perm.REASSIGN_IN_TEAM)
    offer = workflow.transfers_for(user).select_related("case").filter(pk=transfer_id).first()
    if offer is None:
        raise Http404(_("No such transfer."))
    data = checked_body(request, TransferDecisionIn, payload, version=offer.case.version)
    holder = None
    if data.caseworker:
        holder = User.objects.filter(username=data.caseworker, agency_id=agency_of(user)).first()
        if holder is None:
            return Status(
                400,
                {
                    "code": "invalid",
                    "message": _("No such caseworker."),
                    "field": "caseworker",
                },
            )
    item = workflow.decide_transfer(
        offer, by=user, accept=data.accept, caseworker=holder, comment=data.comment
    )
    return Status(200, _transfer_out(item, with_summary=False))


@router.post(
    "/{case_id}/closure",
    response=answers(ClosureOut, 400, 404, 409, status=201, precondition=True),
    summary="Close a case (checklist; supervisor approval where the agency requires it)",
    openapi_extra=if_match(),
)
def request_closure(
    request: AuthenticatedHttpRequest,
    case_id: int,
    payload: Annotated[RawBody, DocumentedAs(ClosureIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, ClosureIn, payload, version=case.version)
    item = workflow.request_closure(case, by=user, **data.dict())
    return Status(201, _closure_out(item))


@router.post(
    "/{case_id}/closures/{closure_id}/decision",
    response=answers(ClosureOut, 400, 403, 404, 409, precondition=True),
    summary="Approve or return a closure (the team's supervisor; If-Match: the case's version)",
    openapi_extra=if_match(),
)
def decide_closure(
    request: AuthenticatedHttpRequest,
    case_id: int,
    closure_id: int,
    payload: Annotated[RawBody, DocumentedAs(DecisionIn)] = READ_LATER,
) -> Any:
    user = request.user
    require_perm(user, Perm.APPROVE_CLOSURES)
    case = access.get_case_for_user(user, case_id, write=True)
    closure = ClosureRequest.objects.filter(case=case, pk=closure_id).first()
    if closure is None:
        raise Http404(_("No such closure."))
    data = checked_body(request, DecisionIn, payload, version=case.version)
    item = workflow.decide_closure(closure, by=user, approve=data.approve, comment=data.comment)
    return Status(200, _closure_out(item))


@router.post(
    "/{case_id}/reopen",
    response=answers(dict, 400, 404, 409, precondition=True),
    summary="Reopen a closed case (its history stays)",
    openapi_extra=if_match(),
)
def reopen(
    request: AuthenticatedHttpRequest,
    case_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(ReopenIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, ReopenIn, payload, version=case.version)
    workflow.reopen_case(case, by=user, reason=data.comment)
    send_version(response, case.version)
    return Status(200, {"status": case.status, "version": case.version})


@router.get(
    "/team/caseload", response=list[CaseloadOut], summary="My team's caseloads (supervisor)"
)
def team_caseload(request: AuthenticatedHttpRequest) -> Any:
    user = request.user
    require_perm(user, Perm.REASSIGN_IN_TEAM)
    rows = caseload.team_caseload(user)
    return [
        {
            "caseworker": row.caseworker.username,
            "high": row.high,
            "medium": row.medium,
            "low": row.low,
            "unassessed": row.unassessed,
            "overdue": row.overdue,
            "total": row.total,
            "threshold": row.threshold,
            "over_threshold": row.over_threshold,
        }
        for row in rows
    ]
