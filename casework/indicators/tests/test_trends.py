"""Trends over months and quarters (seed 002, "further analysis"), suppressed like the report."""

from __future__ import annotations

import datetime

import pytest

from casework.cases.models import Case
from casework.indicators.tests.builders import CaseRows
from casework.indicators.trends import build_trends

pytestmark = pytest.mark.django_db

JULY_TO_SEPTEMBER = {"start": datetime.date(2026, 7, 1), "end": datetime.date(2026, 9, 30)}


def trends(agency, *, k: int = 1, step: str = "month"):
    return build_trends(
        agency_id=agency.pk,
        step=step,
        min_cell=k,
        start=JULY_TO_SEPTEMBER["start"],
        end=JULY_TO_SEPTEMBER["end"],
    )


def table(result, code):
    return next(t for t in result.tables if t.code == code)


def series(result, code):
    return next(s for s in result.series if s.code == code)


def test_new_cases_are_counted_by_month_and_protection_concern(agency):
    rows = CaseRows(agency)
    rows.many(3, registered_on="2026-07-05", protection_concern="neglect")
    rows.many(2, registered_on="2026-08-20", protection_concern="detention")
    rows.case(registered_on="2026-08-21", protection_concern=None)
    rows.case(registered_on="2026-08-21", service_type="ipa")  # not case management
    rows.case(registered_on="2026-06-30")  # before the range
    concern = table(trends(agency), "new_by_concern")
    assert concern.cells[("2026-07", "neglect")] == 3
    assert concern.cells[("2026-08", "detention")] == 2
    assert concern.cells[("2026-08", "unknown")] == 1
    assert concern.cells[("2026-09", "neglect")] == 0
    assert concern.bucket_totals == {"2026-07": 3, "2026-08": 3, "2026-09": 0}
    assert concern.total == 6


def test_quarters_group_the_same_cases(agency):
    CaseRows(agency).many(4, registered_on="2026-08-05", risk_level="high")
    risk = table(trends(agency, step="quarter"), "new_by_risk")
    assert risk.cells[("2026-Q3", "high")] == 4
    assert risk.categories[:3] == ["high", "medium", "low"]


def test_open_and_closed_follow_the_caseload_month_by_month(agency):
    rows = CaseRows(agency)
    rows.case(registered_on="2026-05-01")  # open before the range
    rows.case(registered_on="2026-05-01", closed_on="2026-07-10")
    rows.case(registered_on="2026-07-02", closed_on="2026-08-31")
    rows.case(registered_on="2026-08-15")
    flow = series(trends(agency), "open_closed")
    assert [flow.values[("new", m)] for m in ("2026-07", "2026-08", "2026-09")] == [1, 1, 0]
    assert [flow.values[("closed", m)] for m in ("2026-07", "2026-08", "2026-09")] == [1, 1, 0]
    assert [flow.values[("open", m)] for m in ("2026-07", "2026-08", "2026-09")] == [2, 2, 2]


def test_median_days_open_by_risk_level(agency):
    rows = CaseRows(agency)
    for days in (10, 20, 40, 50):
        closed = datetime.date(2026, 7, 1) + datetime.timedelta(days=days)
        rows.case(registered_on="2026-07-01", closed_on=closed.isoformat(), risk_level="high")
    rows.case(registered_on="2026-07-01", closed_on="2026-07-05", risk_level="low")
    time_open = series(trends(agency, k=1), "time_open")
    assert time_open.values[("high", "2026-07")] == 15.0  # 10 and 20 days, closed in July
    assert time_open.values[("high", "2026-08")] == 45.0  # 40 and 50 days, in August
    assert time_open.values[("low", "2026-07")] == 4.0
    suppressed = series(trends(agency, k=5), "time_open")
    assert suppressed.values[("high", "2026-07")] is None  # two cases only


def test_caseload_is_a_distribution_without_names(agency, amina, omar):
    rows = CaseRows(agency)
    for case in rows.many(12):
        case.caseworker = amina
        case.save(update_fields=["caseworker"])
    rows.many(3)
    Case.objects.filter(agency=agency, caseworker__isnull=True).update(caseworker=omar)
    caseload = trends(agency).caseload
    assert caseload["caseworkers"] == 2
    assert caseload["bands"]["10-19"] == 1 and caseload["bands"]["1-9"] == 1
    assert "amina" not in str(caseload) and "omar" not in str(caseload)


def test_small_trend_cells_are_suppressed_with_a_partner(agency):
    rows = CaseRows(agency)
    rows.many(20, registered_on="2026-07-05", protection_concern="neglect")
    rows.many(2, registered_on="2026-07-05", protection_concern="detention")
    rows.many(20, registered_on="2026-08-05", protection_concern="neglect")
    concern = table(trends(agency, k=5), "new_by_concern")
    assert concern.cells[("2026-07", "detention")] is None
    hidden = [key for key, value in concern.cells.items() if value is None]
    assert len(hidden) >= 2  # never a lone hidden cell in its row or column


def test_participation_surveys_over_time(agency):
    rows = CaseRows(agency)
    rows.case("C-1", "P-1")
    rows.survey("C-1", "2026-07-10", q2_involved=True)
    rows.survey("C-1", "2026-08-10", q2_involved=False)
    participation = table(trends(agency), "participation")
    assert participation.cells[("2026-07", "yes")] == 1
    assert participation.cells[("2026-08", "no")] == 1


def test_trends_take_a_bounded_number_of_queries(agency, django_assert_max_num_queries):
    rows = CaseRows(agency)
    rows.many(3)
    with django_assert_max_num_queries(20) as few:
        trends(agency)
    rows.many(200, registered_on="2026-08-01", closed_on="2026-09-01")
    with django_assert_max_num_queries(20) as many:
        trends(agency)
    assert len(few.captured_queries) == len(many.captured_queries)
