"""Periods are written as M&E officers write them."""

from __future__ import annotations

import datetime

import pytest

from casework.indicators.periods import (
    PeriodError,
    buckets,
    last_complete_quarter,
    parse_period,
)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-07", "2026-07-01", "2026-07-31"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2026-Q3", "2026-07-01", "2026-09-30"),
        ("2026q1", "2026-01-01", "2026-03-31"),
        ("2026", "2026-01-01", "2026-12-31"),
        ("2026-07-01..2026-09-30", "2026-07-01", "2026-09-30"),
        (" 2026-07-15 .. 2026-07-15 ", "2026-07-15", "2026-07-15"),
    ],
)
def test_it_reads_months_quarters_years_and_ranges(text, start, end):
    period = parse_period(text)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


@pytest.mark.parametrize(
    "text", ["", "2026-13", "2026-Q5", "Q3", "2026-09-30..2026-07-01", "2026-02-30..2026-03-01"]
)
def test_it_refuses_anything_else(text):
    with pytest.raises(PeriodError):
        parse_period(text)


def test_a_period_prints_the_way_it_was_written():
    for text in ("2026-07", "2026-Q3", "2026", "2026-07-01..2026-09-30"):
        assert str(parse_period(text)) == text


def test_buckets_cover_the_range_by_month_or_quarter():
    months = buckets(datetime.date(2026, 1, 15), datetime.date(2026, 3, 2), step="month")
    assert [str(p) for p in months] == ["2026-01", "2026-02", "2026-03"]
    quarters = buckets(datetime.date(2025, 11, 1), datetime.date(2026, 4, 1), step="quarter")
    assert [str(p) for p in quarters] == ["2025-Q4", "2026-Q1", "2026-Q2"]


def test_the_default_report_is_the_last_complete_quarter():
    assert str(last_complete_quarter(datetime.date(2026, 11, 23))) == "2026-Q3"
    assert str(last_complete_quarter(datetime.date(2026, 2, 1))) == "2025-Q4"
