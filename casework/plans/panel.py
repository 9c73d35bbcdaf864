"""The case page's plan section (the versions, the current one's state, and what can be done) and
the team page's count of plans waiting for the supervisor."""

from __future__ import annotations

from typing import Any

from casework.accounts.models import User
from casework.accounts.roles import Sensitive
from casework.cases.models import Case
from casework.plans import services
from casework.plans.access import can_decide
from casework.plans.models import CasePlan


def context(case: Case, user: User, can_write: bool) -> dict[str, Any]:
    """Three queries: the versions, and the individualisation of the current one."""
    versions = list(case.plans.select_related("created_by").order_by("-version"))
    current = versions[0] if versions else None
    flags = None
    if current is not None:
        current.case = case
        flags = services.individualisation(current)
    return {
        "versions": versions,
        "current": current,
        "flags": flags,
        "can_write": can_write,
        "can_start": can_write and current is None and case.status in services.PLANNING_STATUSES,
        "can_decide": can_decide(case, user),
        "show_text": user.sees(Sensitive.FREE_TEXT),
    }


def team_line(user: User) -> dict[str, Any]:
    return {"pending_plans": CasePlan.objects.waiting_for(user).count()}
