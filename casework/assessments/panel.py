"""The assessment section of the case page: the current assessment and how many came before."""

from __future__ import annotations

from typing import Any

from casework.accounts.models import User
from casework.accounts.roles import Sensitive
from casework.assessments.models import Assessment
from casework.assessments.services import ASSESSABLE
from casework.cases.models import Case


def panel_context(case: Case, user: User, can_write: bool) -> dict[str, Any]:
    """Two queries: the newest assessment and its findings."""
    current = (
        Assessment.objects.filter(case_id=case.pk)
        .select_related("assessed_by")
        .prefetch_related("findings")
        .order_by("-number")
        .first()
    )
    return {
        "assessment": current,
        "findings": sorted(current.findings.all(), key=lambda f: f.domain) if current else [],
        "show_free_text": user.sees(Sensitive.FREE_TEXT),
        "can_assess": can_write and case.status in ASSESSABLE,
    }
