"""Reads of supervision that the screens, the API, the case page and the team page share. Each
starts from the gate (casework/supervision/access.py)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from casework.accounts import agency_settings
from casework.accounts.access import Requester
from casework.accounts.models import User
from casework.cases import access as case_access
from casework.cases.models import WORKING_STATUSES, Case, RiskLevel
from casework.supervision import access
from casework.supervision.agency_settings import HIGH_RISK_DAYS
from casework.supervision.models import AgreedAction, DiscussedCase, SupervisionSession

PAGE_SIZE = 50
# The team page names at most this many cases (the count is complete).
NAMED_ON_TEAM_PAGE = 20


def sessions_for(user: Requester) -> QuerySet[SupervisionSession]:
    """The sessions `user` led or took part in, newest first, with their counts."""
    return (
        access.visible_sessions(user)
        .select_related("supervisor")
        .prefetch_related("caseworkers")
        .annotate(
            case_count=Count("discussed", distinct=True),
            action_count=Count("actions", distinct=True),
        )
        .order_by("-held_on", "-id")
    )


@dataclass(frozen=True)
class LastSupervision:
    discussed: DiscussedCase
    actions: list[AgreedAction]


def last_supervision(case: Case, user: Requester) -> LastSupervision | None:
    """The latest session `user` led or took part in that discussed `case` (already loaded
    through the case gate), with the actions agreed on it there."""
    discussed = (
        DiscussedCase.objects.filter(case_id=case.pk, session__in=access.visible_sessions(user))
        .select_related("session", "session__supervisor")
        .order_by("-held_on", "-session_id")
        .first()
    )
    if discussed is None:
        return None
    actions = list(
        AgreedAction.objects.filter(session_id=discussed.session_id, case_id=case.pk)
        .select_related("assignee", "task")
        .order_by("due_on", "id")
    )
    return LastSupervision(discussed, actions)


def case_sessions(case: Case, user: Requester) -> QuerySet[DiscussedCase]:
    """Every discussion of `case` in a session `user` led or took part in, newest first."""
    return (
        DiscussedCase.objects.filter(case_id=case.pk, session__in=access.visible_sessions(user))
        .select_related("session", "session__supervisor")
        .order_by("-held_on", "-session_id")
    )


def high_risk_without_supervision(
    user: User, today: datetime.date | None = None
) -> tuple[int, QuerySet[Case]]:
    """The agency's limit in days, and the working high-risk cases `user` may see (for a
    supervisor: the team's) not discussed in any session for longer than it."""
    days = int(agency_settings.current(user.agency_id, HIGH_RISK_DAYS.key)) if user.agency_id else 0
    since = (today or timezone.localdate()) - datetime.timedelta(days=days)
    recent = DiscussedCase.objects.filter(case_id=OuterRef("pk"), held_on__gte=since)
    cases = (
        case_access.visible_cases(user)
        .filter(status__in=WORKING_STATUSES, risk_level=RiskLevel.HIGH)
        .exclude(Exists(recent))
        .order_by("registered_on", "id")
    )
    return days, cases
