"""Reads of cases that the screens and the API share (writes are in services.py).

Each read of case data for a user starts from the gate (casework/cases/access.py), so it can only
narrow what the user may see. `persons_refusing_reporting` is the one exception, on purpose: it
returns person ids for a subquery inside an aggregate report that is itself scoped to the agency,
and shows no case to anyone.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Case as CaseWhen
from django.db.models import Exists, F, OuterRef, Q, QuerySet, When

from casework.accounts.access import Requester, refusal
from casework.accounts.roles import Role
from casework.cases import access
from casework.cases.models import OPEN_STATUSES, CaseQuerySet, Consent

# Rows per page of a caseload, on the screen and in the API.
PAGE_SIZE = 25


# The roles that keep a caseload (their own, their team's, or the programme's to read): the
# caseload screen, its API and the case search are theirs, a 404 to everyone else.
CASELOAD_ROLES = frozenset({Role.CASEWORKER, Role.SUPERVISOR, Role.PROGRAMME_MANAGER})


def keeps_caseload(user: Requester) -> bool:
    return bool(
        user is not None and user.is_authenticated and getattr(user, "role", "") in CASELOAD_ROLES
    )


def require_caseload(user: Requester) -> None:
    """404 (the same as a page the role does not offer) for a role without a caseload."""
    if not keeps_caseload(user):
        raise refusal("access.denied", by=user, data={"page": "caseload"})


def caseload(user: Requester, *, status: str = "", risk: str = "") -> CaseQuerySet:
    """The cases `user` may see that are open (or in `status`), of one risk level if asked,
    soonest due first."""
    cases = access.visible_cases(user)
    cases = cases.filter(status=status) if status else cases.filter(status__in=OPEN_STATUSES)
    if risk:
        cases = cases.filter(risk_level=risk)
    return cases.select_related("person", "caseworker", "programme").order_by(
        F("next_due_at").asc(nulls_last=True), "id"
    )


def persons_refusing_reporting(on: datetime.date) -> QuerySet[Any]:
    """The persons (one `case__person_id` column, for an `IN` subquery) who, on `on`, have
    refused to be counted in anonymised reports.

    Consents are read as one timeline per person, over all their cases; the latest word on or
    before `on` decides:
    - a consent that says no to anonymised reporting, from the day it was given;
    - a withdrawal, from the day it is dated: it ends everything the consent allowed, being
      counted included (and never revives an earlier "yes": only a new consent does);
    - a consent that says yes, given later (or the same day and recorded later), lifts both.
    A person with no consent on record by `on` has refused nothing: imported cases, which carry
    no such answer, keep being counted.

    Not a read for a user, so it does not start from the gate: the ids stay inside the database
    as a subquery of an aggregate (indicators), and no row of it is ever shown.
    """
    refused_since = CaseWhen(
        When(withdrawn_on__lte=on, then=F("withdrawn_on")), default=F("given_on")
    )
    lifted = Consent.objects.filter(
        case__person_id=OuterRef("case__person_id"),
        anonymised_reporting=True,
        given_on__lte=on,
    ).filter(
        Q(given_on__gt=OuterRef("refused_since"))
        | Q(given_on=OuterRef("refused_since"), pk__gt=OuterRef("pk"))
    )
    return (
        Consent.objects.filter(given_on__lte=on)
        .filter(Q(anonymised_reporting=False) | Q(withdrawn_on__lte=on))
        .annotate(refused_since=refused_since)
        .filter(~Exists(lifted))
        .order_by()
        .values("case__person_id")
    )
