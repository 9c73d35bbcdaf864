"""An agency's follow-up windows per risk level: its RiskPolicy rows over seed 003's defaults."""

from __future__ import annotations

from casework.assessments.models import RiskPolicy
from casework.cases import deadlines
from casework.cases.models import RiskLevel


def windows_for(agency_id: int | None) -> dict[str, deadlines.Window]:
    """{level: Window} for the agency, one query; levels the agency has not set keep the default."""
    windows = dict(deadlines.DEFAULT_WINDOWS)
    if agency_id is None:
        return windows
    for level, due_hours, target_hours in RiskPolicy.objects.filter(
        agency_id=agency_id
    ).values_list("level", "due_hours", "target_hours"):
        if level in RiskLevel.values:
            windows[level] = deadlines.Window(due_hours, target_hours)
    return windows
