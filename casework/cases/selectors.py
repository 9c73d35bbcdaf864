"""Reads of cases that the screens and the API share (writes are in services.py).

Each starts from the gate (casework/cases/access.py), so it can only narrow what the user may see.
"""

from __future__ import annotations

from django.db.models import F

from casework.accounts.access import Requester
from casework.cases import access
from casework.cases.models import OPEN_STATUSES, CaseQuerySet

# Rows per page of a caseload, on the screen and in the API.
PAGE_SIZE = 25


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
