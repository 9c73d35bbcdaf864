"""Deadlines derived from risk (seed 003: follow up within 48 h, 3–5 days or 10 days)."""

from __future__ import annotations

import datetime

from casework.cases.models import RiskLevel

# Hours to the first follow-up. Moderate risk is due at 5 days (the target is 3).
FIRST_FOLLOW_UP_HOURS: dict[str, int] = {
    RiskLevel.HIGH: 48,
    RiskLevel.MEDIUM: 5 * 24,
    RiskLevel.LOW: 10 * 24,
}
# Before any risk is known, the first assessment is due as if the risk were moderate.
ASSESSMENT_DUE_HOURS = 5 * 24


def first_follow_up_due(risk_level: str, start: datetime.datetime) -> datetime.datetime:
    hours = FIRST_FOLLOW_UP_HOURS.get(risk_level, ASSESSMENT_DUE_HOURS)
    return start + datetime.timedelta(hours=hours)
