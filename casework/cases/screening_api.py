"""/api/v1/cases/screenings: screening outcomes that led to no case, and the registration funnel.

(The duplicate search is POST /api/v1/persons/matches; a registration names the screening it
follows in `screening`, casework/cases/api.py.)
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from ninja import Router, Schema, Status

from casework.accounts.access import agency_of, require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.cases import screening
from casework.cases.models import Screening
from casework.core.api import answers

router = Router(tags=["cases"])


class ScreeningIn(Schema):
    outcome: Screening.Outcome
    reason: Screening.Reason | None = None
    referred_to: str = ""


class ScreeningOut(Schema):
    id: int
    outcome: str
    reason: str
    referred_to: str
    screened_at: datetime.datetime


class FunnelOut(Schema):
    since: datetime.date
    until: datetime.date
    screened: int
    eligible: int
    not_eligible: int
    referred: int
    registered: int
    new_persons: int
    existing_persons: int


@router.post(
    "/screenings",
    response=answers(ScreeningOut, 400, 404, status=201),
    summary="Record a screening (eligible, not eligible with a reason, referred elsewhere)",
)
def record_screening(request: AuthenticatedHttpRequest, payload: ScreeningIn) -> Any:
    """An eligible screening is then named in the registration (`screening`); the others end
    here. No personal data is kept with a screening."""
    require_perm(request.user, Perm.REGISTER_CASES)
    item = screening.record_screening(
        by=request.user,
        outcome=payload.outcome,
        reason=payload.reason or "",
        referred_to=payload.referred_to,
    )
    return Status(
        201,
        {
            "id": item.pk,
            "outcome": item.outcome,
            "reason": item.reason,
            "referred_to": item.referred_to,
            "screened_at": item.screened_at,
        },
    )


@router.get(
    "/screenings/funnel",
    response=answers(FunnelOut, 404),
    summary="Screened, eligible, registered: the agency's registration funnel between two days",
)
def funnel(
    request: AuthenticatedHttpRequest,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> Any:
    user = request.user
    require_perm(user, Perm.VIEW_INDICATORS)
    until = until or timezone.localdate()
    since = since or until.replace(day=1)
    counts = screening.funnel(agency_of(user), since=since, until=until)
    return {"since": since, "until": until, **vars(counts)}
