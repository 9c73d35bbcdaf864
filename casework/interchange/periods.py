"""Reporting periods as the contract writes them: `2026-07`, `2026-Q3`, `2026`, or two dates
`2026-07-01..2026-09-30` (also `2026-07-01/2026-09-30`). A period is a closed interval."""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from casework.core.errors import CaseworkError


@dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def _month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def parse_period(text: str) -> Period:
    value = text.strip().upper()
    try:
        if re.fullmatch(r"\d{4}", value):
            year = int(value)
            return Period(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
        if match := re.fullmatch(r"(\d{4})-Q([1-4])", value):
            year, quarter = int(match.group(1)), int(match.group(2))
            first = 3 * quarter - 2
            return Period(datetime.date(year, first, 1), _month_end(year, first + 2))
        if match := re.fullmatch(r"(\d{4})-(\d{2})", value):
            year, month = int(match.group(1)), int(match.group(2))
            return Period(datetime.date(year, month, 1), _month_end(year, month))
        if match := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\s*(?:\.\.|/)\s*(\d{4}-\d{2}-\d{2})", value):
            start = datetime.date.fromisoformat(match.group(1))
            end = datetime.date.fromisoformat(match.group(2))
            if start <= end:
                return Period(start, end)
    except ValueError:
        pass
    raise CaseworkError(
        _("Not a period: use 2026-07, 2026-Q3, 2026 or 2026-07-01..2026-09-30."),
        code="invalid_period",
        field="period",
    )
