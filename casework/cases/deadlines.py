"""Deadlines derived from risk (seed 003: follow up within 48 h, 3–5 days or 10 days).

Pure functions over hours and datetimes, so the rules can be checked without a database. An
agency may change the hours (its `RiskPolicy` rows, read by `windows_for`); `Window` carries them.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from casework.cases.models import RiskLevel, RiskPolicy

# Hours to the first follow-up. Moderate risk is due at 5 days (the target is 3).
FIRST_FOLLOW_UP_HOURS: dict[str, int] = {
    RiskLevel.HIGH: 48,
    RiskLevel.MEDIUM: 5 * 24,
    RiskLevel.LOW: 10 * 24,
}
# When the follow-up should ideally happen: the early end of "within 3–5 days".
FIRST_FOLLOW_UP_TARGET_HOURS: dict[str, int] = {
    RiskLevel.HIGH: 48,
    RiskLevel.MEDIUM: 3 * 24,
    RiskLevel.LOW: 10 * 24,
}
# Before any risk is known, the first assessment is due as if the risk were moderate.
ASSESSMENT_DUE_HOURS = 5 * 24
# Seed 003, closure: "no contact ≥ 30 days" is when a case is reviewed for contact lost.
NO_CONTACT_DAYS = 30
# The supervisor and caseworker have this long to decide what to do about a silent case.
NO_CONTACT_REVIEW_HOURS = 5 * 24

# Higher is more severe; "" is a case whose risk is not known yet.
SEVERITY: dict[str, int] = {"": 0, RiskLevel.LOW: 1, RiskLevel.MEDIUM: 2, RiskLevel.HIGH: 3}


@dataclass(frozen=True)
class Window:
    """How long after an assessment the follow-up is due, and when it is hoped for."""

    due_hours: int
    target_hours: int


@dataclass(frozen=True)
class Deadline:
    due_at: datetime.datetime
    target_at: datetime.datetime


DEFAULT_WINDOWS: dict[str, Window] = {
    level: Window(FIRST_FOLLOW_UP_HOURS[level], FIRST_FOLLOW_UP_TARGET_HOURS[level])
    for level in RiskLevel.values
}


def first_follow_up_due(risk_level: str, start: datetime.datetime) -> datetime.datetime:
    hours = FIRST_FOLLOW_UP_HOURS.get(risk_level, ASSESSMENT_DUE_HOURS)
    return start + datetime.timedelta(hours=hours)


def is_raised(previous_level: str, new_level: str) -> bool:
    return SEVERITY.get(new_level, 0) > SEVERITY.get(previous_level, 0)


def window_for(risk_level: str, windows: Mapping[str, Window] | None = None) -> Window:
    chosen = (windows or {}).get(risk_level) or DEFAULT_WINDOWS.get(risk_level)
    if chosen is None:
        return Window(ASSESSMENT_DUE_HOURS, ASSESSMENT_DUE_HOURS)
    return chosen


def follow_up_deadline(
    risk_level: str, start: datetime.datetime, windows: Mapping[str, Window] | None = None
) -> Deadline:
    window = window_for(risk_level, windows)
    return Deadline(
        due_at=start + datetime.timedelta(hours=window.due_hours),
        target_at=start + datetime.timedelta(hours=min(window.target_hours, window.due_hours)),
    )


def rescheduled_follow_up(
    *,
    current: Deadline | None,
    previous_level: str,
    new_level: str,
    start: datetime.datetime,
    windows: Mapping[str, Window] | None = None,
) -> Deadline:
    """The follow-up deadline after an assessment at `start` that found `new_level`.

    Each assessment derives its own deadline from its level. When the risk went up, a follow-up
    already due earlier stays earlier: a raised risk can only bring the date forward, never push
    it back (seed 003: a high risk needs immediate intervention).
    """
    derived = follow_up_deadline(new_level, start, windows)
    if current is None or not is_raised(previous_level, new_level):
        return derived
    return Deadline(
        due_at=min(current.due_at, derived.due_at),
        target_at=min(current.target_at, derived.target_at),
    )


def check_windows(windows: Mapping[str, Window]) -> dict[str, str]:
    """Problems with an agency's windows, by level: {level: code}. Empty when they are sound.

    A target after the due date makes no sense, and a higher risk must never wait longer than a
    lower one.
    """
    problems: dict[str, str] = {}
    for level, window in windows.items():
        if window.due_hours < 1 or window.target_hours < 1:
            problems[level] = "not_positive"
        elif window.target_hours > window.due_hours:
            problems[level] = "target_after_due"
    # Only known levels reach here (the setting refuses others): an unknown one is a KeyError.
    ordered = sorted(windows, key=SEVERITY.__getitem__)
    for lower, higher in zip(ordered, ordered[1:], strict=False):
        if windows[higher].due_hours > windows[lower].due_hours and higher not in problems:
            problems[higher] = "longer_than_lower_risk"
    return problems


def windows_for(agency_id: int | None) -> dict[str, Window]:
    """{level: Window} for the agency, one query; levels the agency has not set keep the default."""
    windows = dict(DEFAULT_WINDOWS)
    if agency_id is None:
        return windows
    for level, due_hours, target_hours in RiskPolicy.objects.filter(
        agency_id=agency_id
    ).values_list("level", "due_hours", "target_hours"):
        if level in RiskLevel.values:
            windows[level] = Window(due_hours, target_hours)
    return windows
