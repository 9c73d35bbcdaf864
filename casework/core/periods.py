"""Reporting periods: a closed date interval [start, end], written the way M&E officers write it.

`2026-07` (a month), `2026-Q3` (a quarter), `2026` (a year) or `2026-07-01..2026-09-30` (any two
dates), as in the interchange contract (../shared/contracts/case-interchange.md, "Reporting period").
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext as _

from casework.core.errors import CaseworkError


class PeriodError(CaseworkError):
    code = "invalid_period"


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    RANGE = "range"


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|/)\s*(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    start: datetime.date
    end: datetime.date
    kind: PeriodKind = PeriodKind.RANGE

    def __str__(self) -> str:
        if self.kind == PeriodKind.MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == PeriodKind.YEAR:
            return str(self.start.year)
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dhis2(self) -> str:
        """DHIS2's period identifier (202607, 2026Q3, 2026). DHIS2 has no free date ranges."""
        if self.kind == PeriodKind.MONTH:
            return f"{self.start:%Y%m}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == PeriodKind.YEAR:
            return str(self.start.year)
        raise PeriodError(_("DHIS2 takes months, quarters or years, not a range of dates."))


def month(year: int, number: int) -> Period:
    last = calendar.monthrange(year, number)[1]
    return Period(
        datetime.date(year, number, 1), datetime.date(year, number, last), PeriodKind.MONTH
    )


def quarter(year: int, number: int) -> Period:
    first = 3 * (number - 1) + 1
    last_day = calendar.monthrange(year, first + 2)[1]
    return Period(
        datetime.date(year, first, 1),
        datetime.date(year, first + 2, last_day),
        PeriodKind.QUARTER,
    )


def year(number: int) -> Period:
    return Period(datetime.date(number, 1, 1), datetime.date(number, 12, 31), PeriodKind.YEAR)


def parse_period(text: str) -> Period:
    """The period written as `2026-07`, `2026-Q3`, `2026` or `2026-07-01..2026-09-30`."""
    value = (text or "").strip()
    try:
        if found := _MONTH.match(value):
            return month(int(found[1]), int(found[2]))
        if found := _QUARTER.match(value):
            return quarter(int(found[1]), int(found[2]))
        if found := _YEAR.match(value):
            return year(int(found[1]))
        if found := _RANGE.match(value):
            start = datetime.date.fromisoformat(found[1])
            end = datetime.date.fromisoformat(found[2])
            if end < start:
                raise PeriodError(_("The period ends before it starts."), field="period")
            return Period(start, end, PeriodKind.RANGE)
    except ValueError:
        pass  # an impossible month or day: the same message as any other bad period
    raise PeriodError(
        _("Write the period as 2026-07, 2026-Q3, 2026 or 2026-07-01..2026-09-30."), field="period"
    )


def buckets(start: datetime.date, end: datetime.date, *, step: str) -> list[Period]:
    """The months (step="month") or quarters (step="quarter") that cover [start, end]."""
    if step not in ("month", "quarter"):
        raise PeriodError(_("Trends go by month or by quarter."), field="step")
    result: list[Period] = []
    current = (
        month(start.year, start.month)
        if step == "month"
        else quarter(start.year, (start.month - 1) // 3 + 1)
    )
    while current.start <= end:
        result.append(current)
        following = current.end + datetime.timedelta(days=1)
        current = (
            month(following.year, following.month)
            if step == "month"
            else quarter(following.year, (following.month - 1) // 3 + 1)
        )
    return result


def current_quarter(today: datetime.date) -> Period:
    """The quarter `today` is in: the data-collection period under way."""
    return quarter(today.year, (today.month - 1) // 3 + 1)


def last_complete_quarter(today: datetime.date) -> Period:
    """The quarter before the one `today` is in: the usual default for a report."""
    number = (today.month - 1) // 3 + 1
    if number == 1:
        return quarter(today.year - 1, 4)
    return quarter(today.year, number - 1)
