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
    """The team's high-risk cases not discussed lately (two queries: the setting, the cases).
    Caseworkers over a reasonable caseload are flagged by the caseload table the team page
    already holds (casework/cases/templates/cases/team.html), with no query of its own."""
    days, cases = selectors.high_risk_without_supervision(user)
    flagged = list(cases.only("pk", "reference"))
    return {
        "days": days,
        "unsupervised_count": len(flagged),
        "unsupervised": flagged[: selectors.NAMED_ON_TEAM_PAGE],
    }
