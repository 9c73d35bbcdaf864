"""The case page's "attributes" section (registered in AttributesConfig.ready())."""

from __future__ import annotations

from typing import Any

from casework.accounts.models import User
from casework.attributes import selectors
from casework.cases.models import Case


def panel_context(case: Case, user: User, can_write: bool) -> dict[str, Any]:
    """Three queries: the values, the attributes, their choices. Nothing when the agency has
    defined none."""
    shown = selectors.case_values(case, user)
    return {"shown": bool(shown), "values": shown, "can_write": can_write, "case": case}
