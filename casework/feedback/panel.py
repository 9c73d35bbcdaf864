"""The case page's feedback section: surveys answered and links to record new ones."""

from __future__ import annotations

from typing import Any

from casework.accounts.models import User
from casework.accounts.roles import Sensitive
from casework.cases.models import Case


def context(case: Case, user: User, can_write: bool) -> dict[str, Any]:
    return {
        "surveys": list(
            case.participation_surveys.select_related("surveyed_by").order_by("-surveyed_on")[:10]
        ),
        "exit_interviews": list(
            case.exit_interviews.select_related("interviewed_by").order_by("-interviewed_on")[:5]
        ),
        "can_write": can_write,
        "show_free_text": user.sees(Sensitive.FREE_TEXT),
    }
