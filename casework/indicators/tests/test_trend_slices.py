"""Quality and diversity trends (issue 17, item 6; seed 002: "trends in diversity and in quality"):
closure outcomes over time (needs met against the other reasons), time open and satisfaction,
and every trend sliced by disability, nationality, mobility status (or another dimension), with
the sliced tables' margins suppressed exactly as the page's other tables publish them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from casework.feedback.models import ExitInterview
from casework.indicators.dimensions import DisaggregationError
from casework.indicators.tests.builders import CaseRows
from casework.indicators.trends import build_trends

pytestmark = pytest.mark.django_db

RANGE = {"start": datetime.date(2026, 7, 1), "end": datetime.date(2026, 9, 30)}
MONTHS = ("2026-07", "2026-08", "2026-09")
API = "/api/v1/indicators/trends"


def trends(agency: Any, *, k: int = 1, slice_by: str = "") -> Any:
    return build_trends(agency_id=agency.pk, step="month", min_cell=k, slice_by=slice_by, **RANGE)


def table(result: Any, code: str) -> Any:
    return next(t for t in result.tables if t.code == code)


def series(result: Any, code: str) -> Any:
    return next(s for s in result.series if s.code == code)


def _closures(rows: CaseRows) -> None:
    """July: 3 closed with needs met (2 with a disability), 1 at the client's request.
    August: 2 with needs met, 2 contact lost (one with a disability)."""
    rows.case(closed_on="2026-07-20", closure_reason="needs_met", disability="yes")
    rows.case(closed_on="2026-07-21", closure_reason="needs_met", disability="yes")
    rows.case(closed_on="2026-07-22", closure_reason="needs_met", disability="no")
    rows.case(closed_on="2026-07-23", closure_reason="client_request", disability="no")
    rows.case(closed_on="2026-08-05", closure_reason="needs_met", disability="no")
    rows.case(closed_on="2026-08-06", closure_reason="needs_met", disability="no")
    rows.case(closed_on="2026-08-07", closure_reason="contact_lost", disability="yes")
    rows.case(closed_on="2026-08-08", closure_reason="contact_lost", disability="no")


def test_closure_outcomes_are_counted_by_month_and_reason(agency: Any) -> None:
    _closures(CaseRows(agency))
    result = trends(agency)
    outcome = table(result, "closure_outcome")
    assert [outcome.cells[(m, "needs_met")] for m in MONTHS] == [3, 2, 0]
    assert outcome.cells[("2026-07", "client_request")] == 1
    assert outcome.cells[("2026-08", "contact_lost")] == 2
    assert outcome.categories[0] == "needs_met" and outcome.total == 8
    share = series(result, "needs_met_share")
    assert [share.values[("all", m)] for m in MONTHS] == [75.0, 50.0, None]


def test_every_trend_is_sliced_by_disability(agency: Any) -> None:
    rows = CaseRows(agency)
    _closures(rows)
    rows.case("NEW-1", registered_on="2026-09-02", disability="yes")
    result = trends(agency, slice_by="disability")
    assert result.sliced_by == "disability"
    new = table(result, "new_by_slice")
    assert new.cells[("2026-09", "yes")] == 1 and new.dimension == "disability"
    other = table(result, "other_closures_by_slice")
    assert (other.cells[("2026-07", "yes")], other.cells[("2026-07", "no")]) == (0, 1)
    assert (other.cells[("2026-08", "yes")], other.cells[("2026-08", "no")]) == (1, 1)
    met = table(result, "needs_met_by_slice")
    assert (met.cells[("2026-07", "yes")], met.cells[("2026-07", "no")]) == (2, 1)
    assert (met.cells[("2026-08", "yes")], met.cells[("2026-08", "no")]) == (0, 2)
    share = series(result, "needs_met_share_by_slice")
    assert share.values[("yes", "2026-07")] == 100.0 and share.values[("yes", "2026-08")] == 0.0
    assert share.values[("no", "2026-08")] == pytest.approx(66.7, abs=0.1)
    # Registered on 10 July (the builder's default), closed 10 to 13 days later.
    time_open = series(result, "time_open_by_slice")
    assert time_open.values[("yes", "2026-07")] == 10.5
    # The same surveys, by the slice of their case.
    rows.survey(rows.cases["NEW-1"].reference, "2026-09-10")
    surveys = table(trends(agency, slice_by="disability"), "surveys_by_slice")
    assert surveys.cells[("2026-09", "yes")] == 1


def test_satisfaction_at_exit_is_a_median_by_slice_hidden_when_few(agency: Any) -> None:
    rows = CaseRows(agency)
    for number, (rating, nationality) in enumerate([(5, "SD"), (4, "SD"), (2, "SD"), (1, "ML")]):
        case = rows.case(f"X-{number}", closed_on="2026-08-01", closure_reason="needs_met")
        case.person.nationality = nationality
        case.person.save(update_fields=["nationality"])
        ExitInterview.objects.create(
            case=case, interviewed_on=datetime.date(2026, 8, 2), overall=rating, needs_met="yes"
        )
    result = trends(agency, slice_by="nationality")
    satisfaction = series(result, "satisfaction_by_slice")
    assert satisfaction.values[("SD", "2026-08")] == 4.0
    assert satisfaction.values[("ML", "2026-08")] == 1.0
    hidden = series(trends(agency, k=2, slice_by="nationality"), "satisfaction_by_slice")
    assert hidden.values[("ML", "2026-08")] is None  # one interview: its rating would show
    assert hidden.values[("SD", "2026-08")] == 4.0


def test_mobility_status_slices_too(agency: Any) -> None:
    rows = CaseRows(agency)
    rows.case(closed_on="2026-07-20", closure_reason="needs_met", mobility_status="idp")
    rows.case(closed_on="2026-07-20", closure_reason="death", mobility_status="refugee")
    result = trends(agency, slice_by="mobility_status")
    assert table(result, "needs_met_by_slice").cells[("2026-07", "idp")] == 1
    assert table(result, "other_closures_by_slice").cells[("2026-07", "refugee")] == 1


def test_a_sliced_table_never_gives_away_what_the_outcome_table_hides(agency: Any) -> None:
    """Needs met by disability adds up, month by month, to the outcome table's "needs met"
    column, and the other closures by disability to the rest of each month's closures: each
    monthly margin is hidden exactly where the outcome table hides what it adds up to. So no
    published figure minus another gives a hidden one."""
    rows = CaseRows(agency)
    for _ in range(6):
        rows.case(closed_on="2026-07-20", closure_reason="needs_met", disability="no")
    rows.case(closed_on="2026-07-21", closure_reason="needs_met", disability="yes")
    for _ in range(7):
        rows.case(closed_on="2026-08-20", closure_reason="contact_lost", disability="no")
    rows.case(closed_on="2026-08-21", closure_reason="needs_met", disability="no")
    for _ in range(5):
        rows.case(closed_on="2026-09-21", closure_reason="needs_met", disability="yes")
    result = trends(agency, k=5, slice_by="disability")
    outcome = table(result, "closure_outcome")
    met = table(result, "needs_met_by_slice")
    other = table(result, "other_closures_by_slice")
    assert outcome.cells[("2026-08", "needs_met")] is None  # one: hidden
    for month in MONTHS:
        assert met.bucket_totals[month] == outcome.cells[(month, "needs_met")], month
        rest = outcome.bucket_totals[month], outcome.cells[(month, "needs_met")]
        expected = None if None in rest else rest[0] - rest[1]
        assert other.bucket_totals[month] == expected, month
    assert met.total == outcome.category_totals["needs_met"]
    # No row of a sliced table has a single hidden cell beside a published margin.
    for sliced in (met, other):
        for month in MONTHS:
            row = [sliced.cells[(month, c)] for c in sliced.categories]
            hidden = sum(value is None for value in row)
            assert hidden != 1 or sliced.bucket_totals[month] is None, (sliced.code, month, row)


def test_closures_and_a_part_of_them_are_never_both_published_by_slice(agency: Any) -> None:
    """March, a small group: 6 closures, 5 with needs met. Were the closures of the group and
    those with needs met both shown, their difference would say that one person of the group
    left without their needs met. The page publishes needs met and the other closures instead,
    each suppressed: the 1 is hidden, and the share is not shown."""
    rows = CaseRows(agency)
    for _ in range(5):
        rows.case(closed_on="2026-09-10", closure_reason="needs_met", disability="yes")
    rows.case(closed_on="2026-09-11", closure_reason="client_request", disability="yes")
    for _ in range(20):
        rows.case(closed_on="2026-09-12", closure_reason="needs_met", disability="no")
    for _ in range(20):
        rows.case(closed_on="2026-09-12", closure_reason="contact_lost", disability="no")
    result = trends(agency, k=5, slice_by="disability")
    codes = {t.code for t in result.tables}
    assert "closed_by_slice" not in codes
    other = table(result, "other_closures_by_slice")
    assert other.cells[("2026-09", "yes")] is None
    share = series(result, "needs_met_share_by_slice")
    assert share.values[("yes", "2026-09")] is None


def test_the_series_and_the_tables_hide_the_same_months(agency: Any) -> None:
    """New cases: July 40, August 3, September 50, k = 5. The tables and the "registered" line
    of the series publish the same monthly figures: they hide the same months, and one more
    than August, so August is not the range's total less the others."""
    rows = CaseRows(agency)
    rows.many(40, registered_on="2026-07-05")
    rows.many(3, registered_on="2026-08-05")
    rows.many(50, registered_on="2026-09-05")
    result = trends(agency, k=5)
    flow = series(result, "open_closed")
    line = {month: flow.values[("new", month)] for month in MONTHS}
    assert line["2026-08"] is None
    assert sum(value is None for value in line.values()) >= 2
    for code in ("new_by_concern", "new_by_risk", "new_by_sex", "new_by_age"):
        assert table(result, code).bucket_totals == line, code


def test_an_unknown_slice_is_refused(agency: Any) -> None:
    with pytest.raises(DisaggregationError):
        trends(agency, slice_by="person__name")


def test_the_trends_page_and_api_slice_over_http(login: Any, mei: Any, omar: Any) -> None:
    rows = CaseRows(mei.agency)
    _closures(rows)
    query = {"start": "2026-07", "end": "2026-09", "step": "month", "slice": "disability"}
    page = login(mei).get("/indicators/trends/", query)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Cases closed with needs met, by Disability" in text
    assert "Share of the cases closed with needs met" in text
    answer = login(mei).get(API, query)
    assert answer.status_code == 200
    body = answer.json()
    assert body["sliced_by"] == "disability"
    met = next(t for t in body["tables"] if t["code"] == "needs_met_by_slice")
    assert met["dimension"] == "disability"
    assert met["values"]["yes"][0] is None  # 2, under the agency's threshold of 5
    outcome = next(t for t in body["tables"] if t["code"] == "closure_outcome")
    assert outcome["total"] == 8
    bad = login(mei).get(API, {**query, "slice": "name"})
    assert bad.status_code == 400 and "slice" in bad.content.decode()
    # Someone without the indicators gets the same 404 as before.
    assert login(omar).get(API, query).status_code == 404


def test_sliced_trends_take_a_bounded_number_of_queries(
    agency: Any, django_assert_max_num_queries: Any
) -> None:
    rows = CaseRows(agency)
    rows.many(3, closed_on="2026-08-01", closure_reason="needs_met")
    with django_assert_max_num_queries(40) as few:
        trends(agency, slice_by="disability")
    rows.many(100, closed_on="2026-09-01", closure_reason="contact_lost")
    with django_assert_max_num_queries(40) as many:
        trends(agency, slice_by="disability")
    assert len(few.captured_queries) == len(many.captured_queries)


def test_trends_slice_by_an_agencys_sensitive_attribute_by_its_choices(
    agency: Any, adam: Any, amina: Any, login: Any, mei: Any
) -> None:
    """Grouped in SQL by the keyed grouping code, shown by the choice (nothing decrypted)."""
    from casework.attributes import services as attributes

    ethnicity = attributes.define_attribute(
        by=adam,
        code="ethnicity",
        label="Ethnicity",
        applies_to="person",
        sensitive=True,
        choices=[
            attributes.ChoiceDetails("group_a", "Group A", 0),
            attributes.ChoiceDetails("group_b", "Group B", 1),
        ],
    )
    rows = CaseRows(agency)
    for number in range(3):
        case = rows.case(closed_on="2026-07-20", closure_reason="needs_met")
        choice = "group_a" if number < 2 else "group_b"
        attributes.set_value(by=amina, case=case, attribute=ethnicity, choice_code=choice)
        ExitInterview.objects.create(
            case=case, interviewed_on=datetime.date(2026, 7, 21), overall=4, needs_met="yes"
        )
    rows.case(closed_on="2026-07-22", closure_reason="death")
    result = trends(agency, slice_by="attr:ethnicity")
    met = table(result, "needs_met_by_slice")
    assert met.categories[:2] == ["group_a", "group_b"]
    assert met.cells[("2026-07", "group_a")] == 2
    assert met.cells[("2026-07", "group_b")] == 1
    assert table(result, "other_closures_by_slice").cells[("2026-07", "unknown")] == 1
    satisfaction = series(result, "satisfaction_by_slice")
    assert satisfaction.values[("group_a", "2026-07")] == 4.0
    query = {"start": "2026-07", "end": "2026-09", "step": "month", "slice": "attr:ethnicity"}
    page = login(mei).get("/indicators/trends/", query)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Cases closed with needs met, by Ethnicity" in text and "Group A" in text
    assert '<option value="attr:ethnicity" selected>Ethnicity</option>' in text
    # Another agency's attribute code names nothing here.
    with pytest.raises(DisaggregationError):
        trends(agency, slice_by="attr:religion")
