"""Reporting periods are defined in casework.core.periods: the feedback app's "still to survey
this period" list reads them too, and feedback sits below indicators. The indicator code keeps
naming them here."""

from __future__ import annotations

from casework.core.periods import (
    Period,
    PeriodError,
    PeriodKind,
    buckets,
    current_quarter,
    last_complete_quarter,
    month,
    parse_period,
    quarter,
    year,
)

__all__ = [
    "Period",
    "PeriodError",
    "PeriodKind",
    "buckets",
    "current_quarter",
    "last_complete_quarter",
    "month",
    "parse_period",
    "quarter",
    "year",
]
