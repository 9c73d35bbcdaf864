"""/api/v1/privacy: the audit log, who read how many case files, and clients' requests, read
only, gated as the screens are (VIEW_AUDIT_LOG, HANDLE_DATA_REQUESTS; 404 otherwise). Reading the
log is audited here as on the screen. Cases are named by id, persons by their number."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.audit.models import AuditEntry
from casework.core.api import answers, paginate
from casework.core.errors import FieldErrors
from casework.privacy import selectors, services

router = Router(tags=["privacy"])

_ACTION = re.compile(r"^[a-z0-9_.]{1,64}$")


class AuditEntryOut(Schema):
    id: int
    seq: int | None  # its place in the sealed chain; empty for the few seconds before sealing
    at: datetime.datetime
    user: str | None
    role: str | None
    action: str
    outcome: str
    object_type: str
    object_id: str
    case_id: int | None
    data: dict[str, Any]
    ip: str


class AuditPageOut(Schema):
    items: list[AuditEntryOut]
    next_before: int | None


class ReaderOut(Schema):
    user_id: int
    username: str
    role: str
    cases_read: int
    reads: int
    refused: int


class DataRequestOut(Schema):
    id: int
    kind: str
    requested_by: str
    person_reference: str | None
    received_on: datetime.date
    due_on: datetime.date
    overdue: bool
    status: str
    outcome: str
    handler: str | None
    identity_checked: bool
    closed_on: datetime.date | None


class DataRequestPageOut(Schema):
    items: list[DataRequestOut]
    count: int
    page: int
    pages: int


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "seq": entry.seq,
        "at": entry.at,
        "user": entry.actor.username if entry.actor else None,
        "role": entry.actor.role if entry.actor else None,
        "action": entry.action,
        "outcome": entry.outcome,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "case_id": entry.case_id,
        "data": entry.data,
        "ip": entry.ip,
    }


@router.get("/audit-log", response=answers(AuditPageOut, 400, 404), summary="The audit log")
def audit_log(
    request: AuthenticatedHttpRequest,
    user: int | None = None,
    case: str = "",
    action: str = "",
    outcome: str = "",
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    before: int | None = None,
) -> Any:
    """The agency's entries, newest first, 100 a page; the next page is `before=next_before`.
    `case` is a case reference (all entries about that case of the agency), `action` the start
    of an action code, `outcome` ok, denied or failed."""
    me = request.user
    require_perm(me, Perm.VIEW_AUDIT_LOG)
    errors: dict[str, list[str]] = {}
    if action and not _ACTION.match(action):
        errors["action"] = [_("An action code, e.g. cases.case.")]
    if outcome and outcome not in AuditEntry.Outcome.values:
        errors["outcome"] = [_("Choose a value from the list.")]
    if len(case) > 64:
        errors["case"] = [_("A case reference.")]
    if errors:
        raise FieldErrors(errors)
    filters = selectors.LogFilter(
        actor_id=user,
        case_reference=case.strip(),
        action=action,
        outcome=outcome,
        since=since,
        until=until,
    )
    found = selectors.filtered_log(me, filters)
    page = selectors.log_page(found.entries, before=before)
    services.record_log_read(by=me, filters=filters, case_id=found.case_id)
    return {"items": [_entry(entry) for entry in page.entries], "next_before": page.next_before}


@router.get(
    "/audit-log/readers",
    response=answers(list[ReaderOut], 404),
    summary="Case files read per user in the last 30 days",
)
def readers(request: AuthenticatedHttpRequest) -> Any:
    me = request.user
    require_perm(me, Perm.VIEW_AUDIT_LOG)
    lines = selectors.readers(me)
    services.record_readers_read(by=me, days=selectors.READERS_DAYS)
    return [
        {
            "user_id": line.user.pk,
            "username": line.user.username,
            "role": line.user.role,
            "cases_read": line.cases_read,
            "reads": line.reads,
            "refused": line.refused,
        }
        for line in lines
    ]


@router.get("/requests", response=answers(DataRequestPageOut, 404), summary="Data requests")
def data_requests(request: AuthenticatedHttpRequest, show: str = "open", page: int = 1) -> Any:
    """`show`: open (soonest due first), overdue, closed or all."""
    rows = selectors.request_queue(
        request.user, show if show in selectors.REQUEST_FILTERS else "open"
    )
    found = paginate(rows, page, 50)
    today = timezone.localdate()
    return {
        "items": [
            {
                "id": item.pk,
                "kind": item.kind,
                "requested_by": item.requested_by,
                "person_reference": item.person.reference if item.person else None,
                "received_on": item.received_on,
                "due_on": item.due_on,
                "overdue": item.is_overdue(today),
                "status": item.status,
                "outcome": item.outcome,
                "handler": item.handler.username if item.handler else None,
                "identity_checked": item.identity_checked,
                "closed_on": item.closed_on,
            }
            for item in found.items
        ],
        "count": found.count,
        "page": found.page,
        "pages": found.pages,
    }
