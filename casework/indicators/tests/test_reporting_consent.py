"""A person who refuses anonymised reporting on a period's last day is in none of its figures.

The finding (issue 15): "Consent to anonymised reporting is stored and ignored: indicators count
persons who refused it". The rule is `cases.selectors.persons_refusing_reporting`: the latest
word on or before the day decides (a consent saying no, a withdrawal, or a later consent saying
yes); no consent on record is no refusal.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Sequence
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from casework.cases import services
from casework.cases.models import Case, Consent
from casework.indicators import exports
from casework.indicators.dimensions import parse_by
from casework.indicators.periods import parse_period
from casework.indicators.report import Report, build_report
from casework.indicators.tests.builders import CaseRows
from casework.indicators.trends import build_trends

pytestmark = pytest.mark.django_db

API = "/api/v1/indicators"
Q3 = parse_period("2026-Q3")
LAST_DAY = Q3.end
ONE_DAY = datetime.timedelta(days=1)


def consent(
    case: Case,
    given_on: datetime.date,
    *,
    by: Any,
    allows: bool = False,
    withdrawn_on: datetime.date | None = None,
) -> Consent:
    """A consent row as the services write it (dates chosen freely, as an import could)."""
    return Consent.objects.create(
        case=case,
        receive_services=True,
        anonymised_reporting=allows,
        given_on=given_on,
        withdrawn_on=withdrawn_on,
        recorded_by=by,
    )


def refuse_all(cases: Sequence[Case], *, by: Any, on: datetime.date = LAST_DAY) -> None:
    Consent.objects.bulk_create(
        Consent(
            case=case,
            receive_services=True,
            anonymised_reporting=False,
            given_on=on,
            recorded_by=by,
        )
        for case in cases
    )


def report(agency: Any, *, k: int = 1, by: str = "") -> Report:
    return build_report(
        agency_id=agency.pk, agency_code=agency.code, period=Q3, by=parse_by(by), min_cell=k
    )


def indicator(result: Report, code: str) -> Any:
    return next(item for item in result.indicators if item.code == code)


def persons(result: Report) -> int:
    """Persons in case management during the period (INDIVIDUAL_PLAN's denominator)."""
    denominator = indicator(result, "INDIVIDUAL_PLAN").total.denominator
    assert denominator is not None
    return denominator


# --- the finding, reproduced through the services and the API ---------------------------------------


def test_a_person_who_refused_anonymised_reporting_is_not_counted(
    login, paul, amina, case, register
):
    services.record_consent(
        case,
        by=amina,
        details=services.ConsentDetails(receive_services=True, anonymised_reporting=False),
    )
    register(amina, given_name="Aya", family_name="Diallo")  # consents to everything
    period = f"{timezone.localdate():%Y-%m}"
    answer = login(paul).get(API, {"period": period, "min_cell": 1})
    assert answer.status_code == 200
    plan = next(item for item in answer.json()["indicators"] if item["code"] == "INDIVIDUAL_PLAN")
    # Fatima refused: Aya alone is counted, and the report says one person was left out.
    assert plan["denominator"] == 1
    assert plan["left_out"] == 1


# --- the date edges ---------------------------------------------------------------------------------


def _left_out_in_q3(agency: Any, write: Any) -> tuple[bool, Report]:
    """Write a history with `write(rows)` for one person (two cases) beside one other person,
    report Q3, then undo the writes so that the next example starts from nothing."""
    with transaction.atomic():
        rows = CaseRows(agency)
        rows.case("OTHER-1", "OTHER")
        first = rows.case("MINE-1", "MINE", registered_on="2026-07-05")
        second = rows.case("MINE-2", "MINE", registered_on="2026-08-05", programme="MHPSS")
        write(first, second)
        result = report(agency)
        transaction.set_rollback(True)
    assert persons(result) in (1, 2)
    left_out = persons(result) == 1
    assert indicator(result, "INDIVIDUAL_PLAN").left_out == (1 if left_out else 0)
    return left_out, result


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(refused=st.integers(-40, 40), allowed=st.none() | st.integers(-40, 40))
@example(refused=0, allowed=None)  # a refusal dated on the period's last day is in force
@example(refused=1, allowed=None)  # dated the day after, it is not
@example(refused=-10, allowed=0)  # a later consent that allows it, by the last day, lifts it
@example(refused=-10, allowed=1)  # ... but not from the day after
@example(refused=-10, allowed=-10)  # the same day, recorded later: the latest word
@example(refused=-10, allowed=-11)  # an earlier "yes" does not lift a later "no"
def test_a_refusal_is_in_force_from_its_day_until_a_later_consent_allows_it(
    agency, amina, refused: int, allowed: int | None
):
    def write(first: Case, second: Case) -> None:
        consent(first, LAST_DAY + datetime.timedelta(days=refused), by=amina)
        if allowed is not None:
            # On the person's other case: the refusal is the person's, not one case's.
            consent(second, LAST_DAY + datetime.timedelta(days=allowed), by=amina, allows=True)

    left_out, _ = _left_out_in_q3(agency, write)
    lifted = allowed is not None and refused <= allowed <= 0
    assert left_out == (refused <= 0 and not lifted)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(withdrawn=st.integers(-20, 20), renewed=st.none() | st.integers(-40, 40))
@example(withdrawn=0, renewed=None)  # withdrawn on the last day: no longer counted
@example(withdrawn=1, renewed=None)  # withdrawn the day after: still counted
@example(withdrawn=-5, renewed=0)  # a new consent that allows it, by the last day, lifts it
@example(withdrawn=-5, renewed=-5)  # the same day, recorded after the withdrawal: lifts it
@example(withdrawn=-5, renewed=-6)  # a "yes" before the withdrawal does not
def test_a_withdrawal_ends_the_consent_to_be_counted_until_a_new_consent(
    agency, amina, withdrawn: int, renewed: int | None
):
    given_on = LAST_DAY - ONE_DAY * 30
    withdrawal = LAST_DAY + ONE_DAY * withdrawn
    renewal = None if renewed is None else LAST_DAY + ONE_DAY * renewed

    def write(first: Case, second: Case) -> None:
        consent(first, given_on - ONE_DAY, by=amina, allows=True)  # older, never withdrawn
        consent(first, given_on, by=amina, allows=True, withdrawn_on=withdrawal)
        if renewal is not None:
            consent(second, renewal, by=amina, allows=True)

    left_out, _ = _left_out_in_q3(agency, write)
    lifted = renewal is not None and withdrawal <= renewal <= LAST_DAY
    assert left_out == (withdrawal <= LAST_DAY and not lifted)


def _refuses(history: list[tuple[int, int, bool, int | None]], on: datetime.date) -> bool:
    """The rule, read plainly: of the person's consents and withdrawals dated by `on`, the latest
    (same day: the later recorded; a withdrawal after its own consent) says no."""
    words = []
    for number, (_case, days, allows, withdrawn_after) in enumerate(history):
        given_on = on + datetime.timedelta(days=days)
        if given_on <= on:
            words.append(((given_on, number, 0), allows))
        if withdrawn_after is not None:
            withdrawn_on = given_on + datetime.timedelta(days=withdrawn_after)
            if withdrawn_on <= on:
                words.append(((withdrawn_on, number, 1), False))
    return bool(words) and not max(words)[1]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=st.lists(
        st.tuples(
            st.integers(0, 1),  # which of the person's two cases
            st.integers(-30, 3),  # given, in days from the period's last day
            st.booleans(),  # allows anonymised reporting
            st.none() | st.integers(0, 30),  # withdrawn, in days after it was given
        ),
        max_size=4,
    )
)
def test_any_history_of_consents_is_read_by_the_latest_word(agency, amina, history):
    def write(first: Case, second: Case) -> None:
        for which, days, allows, withdrawn_after in history:
            given_on = LAST_DAY + datetime.timedelta(days=days)
            withdrawn_on = (
                None
                if withdrawn_after is None
                else given_on + datetime.timedelta(days=withdrawn_after)
            )
            consent(
                (first, second)[which],
                given_on,
                by=amina,
                allows=allows,
                withdrawn_on=withdrawn_on,
            )

    left_out, _ = _left_out_in_q3(agency, write)
    assert left_out == _refuses(history, LAST_DAY)


def test_a_person_without_any_consent_on_record_is_counted(agency, amina):
    rows = CaseRows(agency)
    rows.many(3)  # as imported: no consent rows at all
    consented = rows.case()
    consent(consented, LAST_DAY - ONE_DAY * 20, by=amina, allows=True)
    result = report(agency)
    assert persons(result) == 4
    assert all(item.left_out == 0 for item in result.indicators)
    assert all("left_out" not in item for item in result.as_json()["indicators"])


def test_a_refusing_person_is_in_no_figure_beside_the_value_either(agency, amina):
    rows = CaseRows(agency)
    counted = rows.case("C-COUNTED", "P-COUNTED", plan_text="Her own plan")
    rows.survey("C-COUNTED", "2026-08-01", q3=("set_goals",))
    refusing = rows.case("C-REFUSING", "P-REFUSING", plan_text="Another plan of her own")
    rows.case("C-REFUSING-MHPSS", "P-REFUSING", programme="MHPSS", registered_on="2026-08-01")
    rows.survey("C-REFUSING", "2026-08-02", q3=("set_goals",))
    consent(refusing, LAST_DAY - ONE_DAY * 40, by=amina)
    assert counted.person_id != refusing.person_id
    figures = {item["code"]: item for item in report(agency, by="sex").as_json()["indicators"]}
    children = figures["CM_CHILDREN_YOUTH"]
    assert (children["value"], children["open"], children["also_mhpss"]) == (1, 1, 0)
    assert children["by"]["sex"] == [{"key": "female", "value": 1}]
    plans = figures["INDIVIDUAL_PLAN"]
    assert (plans["numerator"], plans["denominator"]) == (1, 1)
    participation = figures["PARTICIPATION"]
    assert (participation["numerator"], participation["surveyed"]) == (1, 1)
    assert participation["q3"]["set_goals"] == 1
    assert [item["left_out"] for item in figures.values()] == [1, 1, 1]


def test_the_report_takes_the_same_queries_with_refusals(
    agency, amina, django_assert_max_num_queries
):
    rows = CaseRows(agency)
    rows.many(5)
    with django_assert_max_num_queries(4) as before:
        report(agency, by="sex,age_group,sex+age_group")
    refuse_all(rows.many(40), by=amina)
    with django_assert_max_num_queries(4) as after:
        result = report(agency, by="sex,age_group,sex+age_group")
    assert indicator(result, "INDIVIDUAL_PLAN").left_out == 40
    assert len(before.captured_queries) == len(after.captured_queries)


# --- suppression ------------------------------------------------------------------------------------


def test_a_small_number_left_out_is_suppressed_like_any_count(agency, amina):
    rows = CaseRows(agency)
    rows.many(12)
    refuse_all(rows.many(2), by=amina)
    plans = indicator(report(agency, k=5), "INDIVIDUAL_PLAN")
    assert plans.total.denominator == 12
    assert plans.left_out is None
    data = plans.as_json()
    assert data["left_out"] is None and data["suppressed"] is True
    assert indicator(report(agency, k=2), "INDIVIDUAL_PLAN").left_out == 2


# --- the screen, the API and the exports -----------------------------------------------------------


@pytest.fixture
def six_refusing(agency, amina) -> CaseRows:
    rows = CaseRows(agency)
    rows.many(12)
    refuse_all(rows.many(6), by=amina)
    return rows


def test_the_api_and_the_page_say_how_many_were_left_out(login, mei, six_refusing):
    client = login(mei)
    answer = client.get(API, {"period": "2026-Q3"})
    assert answer.status_code == 200
    plan = next(item for item in answer.json()["indicators"] if item["code"] == "INDIVIDUAL_PLAN")
    assert (plan["denominator"], plan["left_out"]) == (12, 6)
    page = client.get(reverse("indicators:report"), {"period": "2026-Q3", "by": ["sex"]})
    assert page.status_code == 200
    assert page.content.count(b"6 persons left out") == 3  # under each indicator


def test_the_page_and_the_api_hide_a_small_number_left_out(login, mei, agency, amina):
    rows = CaseRows(agency)
    rows.many(12)
    refuse_all(rows.many(3), by=amina)
    client = login(mei)
    answer = client.get(API, {"period": "2026-Q3"}).json()
    plan = next(item for item in answer["indicators"] if item["code"] == "INDIVIDUAL_PLAN")
    assert plan["left_out"] is None and plan["suppressed"] is True
    page = client.get(reverse("indicators:report"), {"period": "2026-Q3"})
    assert b"3 persons left out" not in page.content
    assert b"Persons left out because they refuse anonymised reporting" in page.content


def test_the_csv_hxl_and_xlsx_carry_the_number_left_out(login, mei, six_refusing):
    client = login(mei)
    files = {
        output_format: client.get(API, {"period": "2026-Q3", "format": output_format}).content
        for output_format in ("csv", "hxl", "xlsx")
    }
    rows = list(csv.DictReader(io.StringIO(files["csv"].decode())))
    left_out = [
        (r["indicator"], r["value"], r["suppressed"]) for r in rows if r["figure"] == "left_out"
    ]
    assert left_out == [
        ("CM_CHILDREN_YOUTH", "6", ""),
        ("INDIVIDUAL_PLAN", "6", ""),
        ("PARTICIPATION", "6", ""),
    ]
    hxl_rows = list(csv.reader(io.StringIO(files["hxl"].decode())))
    figure, value = (
        hxl_rows[1].index("#indicator+figure"),
        hxl_rows[1].index("#indicator+value+num"),
    )
    assert [row[value] for row in hxl_rows[2:] if row[figure] == "left_out"] == ["6", "6", "6"]
    sheet = load_workbook(io.BytesIO(files["xlsx"]))["INDIVIDUAL_PLAN"]
    cells = list(sheet.iter_rows(values_only=True))
    assert ("left_out", "total", None, None, None, 6, None) in cells  # empty cells read None
    assert any("anonymised reports" in str(row[0]) for row in cells[:5])  # the rule, said


def test_an_export_flags_a_suppressed_number_left_out(agency, amina):
    rows = CaseRows(agency)
    rows.many(12)
    refuse_all(rows.many(1), by=amina)
    lines = list(csv.DictReader(io.StringIO(exports.render(report(agency, k=5), "csv").decode())))
    left_out = [(r["value"], r["suppressed"]) for r in lines if r["figure"] == "left_out"]
    assert left_out == [("", "yes")] * 3
    assert json.loads(exports.render(report(agency, k=5), "json"))["indicators"][0]["suppressed"]


def test_an_export_without_refusals_has_no_left_out_row(agency):
    CaseRows(agency).many(8)
    content = exports.render(report(agency, k=5), "csv").decode()
    assert "left_out" not in content


# --- trends -----------------------------------------------------------------------------------------


def trends(agency: Any, *, k: int = 1) -> Any:
    return build_trends(agency_id=agency.pk, start=Q3.start, end=Q3.end, step="month", min_cell=k)


def test_trends_leave_out_a_person_who_refuses_on_the_ranges_last_day(agency, amina):
    rows = CaseRows(agency)
    rows.many(3, registered_on="2026-07-05", sex="female")
    refusing = rows.case(
        "C-REFUSING", "P-REFUSING", registered_on="2026-08-05", closed_on="2026-09-02"
    )
    rows.survey("C-REFUSING", "2026-08-10")
    late = rows.case("C-LATE", "P-LATE", registered_on="2026-08-06")
    consent(refusing, LAST_DAY, by=amina)
    consent(late, LAST_DAY + ONE_DAY, by=amina)  # refused after the range: still counted
    result = trends(agency)
    new = next(table for table in result.tables if table.code == "new_by_sex")
    assert new.bucket_totals == {"2026-07": 3, "2026-08": 1, "2026-09": 0}
    flow = next(item for item in result.series if item.code == "open_closed")
    assert flow.values[("closed", "2026-09")] == 0
    participation = next(table for table in result.tables if table.code == "participation")
    assert participation.total == 0
    assert result.left_out == 1
    assert result.as_json()["left_out"] == 1
    assert trends(agency, k=5).left_out is None


def test_the_trends_page_and_api_say_how_many_were_left_out(login, sam, six_refusing):
    client = login(sam)
    answer = client.get(f"{API}/trends", {"start": "2026-07", "end": "2026-09"})
    assert answer.json()["left_out"] == 6
    page = client.get(
        reverse("indicators:trends"), {"start": "2026-07", "end": "2026-09", "step": "month"}
    )
    assert page.status_code == 200
    assert b"6 persons in case management are left out" in page.content


def test_trends_take_the_same_queries_with_refusals(agency, amina, django_assert_max_num_queries):
    rows = CaseRows(agency)
    rows.many(3)
    with django_assert_max_num_queries(20) as before:
        trends(agency)
    refuse_all(rows.many(30), by=amina)
    with django_assert_max_num_queries(20) as after:
        assert trends(agency).left_out == 30
    assert len(before.captured_queries) == len(after.captured_queries)
