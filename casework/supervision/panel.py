"""The last supervision on the case page, and the team page's supervision lines (registered in
SupervisionConfig.ready(), through casework/cases/panels.py)."""

from __future__ import annotations

from typing import Any

from casework.accounts.models import User
from casework.cases.models import Case
from casework.supervision import access, selectors


def panel_context(case: Case, user: User, can_write: bool) -> dict[str, Any]:
    """Shown to those who may see the case and take part in supervision; the session itself
    only if they led it or took part in it."""
    if not access.may_take_part(user):
        return {"shown": False}
    return {"shown": True, "last": selectors.last_supervision(case, user)}


def team_line(user: User) -> dict[str, Any]:
    """The team's high-risk cases not discussed lately (three queries: the setting, the first
    few cases named, and the count when there are more; never every case loaded to count it).
    Caseworkers over a reasonable caseload are flagged by the caseload table the team page
    already holds (casework/cases/templates/cases/team.html), with no query of its own."""
    days, cases = selectors.high_risk_without_supervision(user)
    named = list(cases.only("pk", "reference")[: selectors.NAMED_ON_TEAM_PAGE + 1])
    count = len(named) if len(named) <= selectors.NAMED_ON_TEAM_PAGE else cases.count()
    return {
        "days": days,
        "unsupervised_count": count,
        "unsupervised": named[: selectors.NAMED_ON_TEAM_PAGE],
    }
