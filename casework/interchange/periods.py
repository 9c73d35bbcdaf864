"""Reporting periods as the contract writes them: the core's (casework/core/periods.py), one
parser for the exports, the indicators and the survey lists alike."""

from casework.core.periods import Period, PeriodError, parse_period

__all__ = ["Period", "PeriodError", "parse_period"]
