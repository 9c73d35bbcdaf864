"""Small-cell suppression as published in a report (k = 5, the default)."""

from __future__ import annotations

import pytest

from casework.indicators.dimensions import parse_by
from casework.indicators.models import ReportingPolicy
from casework.indicators.periods import parse_period
from casework.indicators.report import build_report
from casework.indicators.tests.builders import CaseRows

pytestmark = pytest.mark.django_db


def published(agency, by: str, *, k: int = 5) -> dict:
    report = build_report(
        agency_id=agency.pk,
        agency_code=agency.code,
        period=parse_period("2026-Q3"),
        by=parse_by(by),
        min_cell=k,
    )
    return {item["code"]: item for item in report.as_json()["indicators"]}


@pytest.fixture
def rows(agency):
    rows = CaseRows(agency)
    rows.many(20, age=10)
    rows.many(12, age=20, sex="female")
    rows.many(3, age=20)
    return rows


def test_a_small_slice_is_null_and_flagged_and_so_is_its_partner(agency, rows):
    for _ in range(6):
        rows.case(sex="male", age=16)
    rows.case(sex="other", age=16)
    by_sex = {row["key"]: row for row in published(agency, "sex")["CM_CHILDREN_YOUTH"]["by"]["sex"]}
    assert by_sex["other"] == {"key": "other", "value": None, "suppressed": True}
    # 42 - 35 would give "other" back: the next smallest slice (male, 6) goes too.
    assert by_sex["male"]["value"] is None
    assert by_sex["female"]["value"] == 35


def test_a_one_way_table_reads_the_same_whatever_else_the_report_holds(agency, rows):
    rows.case(sex="other", age=16)
    alone = published(agency, "sex")["CM_CHILDREN_YOUTH"]["by"]["sex"]
    with_pairs = published(agency, "sex,age_group,sex+age_group")["CM_CHILDREN_YOUTH"]["by"]["sex"]
    assert alone == with_pairs


def test_a_pair_table_never_shows_a_cell_its_margins_would_give_back(agency, rows):
    rows.case(sex="other", age=16)
    item = published(agency, "sex,age_group,sex+age_group")["CM_CHILDREN_YOUTH"]
    margins = {row["key"]: row["value"] for row in item["by"]["sex"]}
    cells = {tuple(row["key"]): row["value"] for row in item["by"]["sex+age_group"]}
    for sex, margin in margins.items():
        line = [value for (s, _), value in cells.items() if s == sex]
        if margin is not None:
            assert line.count(None) != 1, (sex, line)


def test_open_and_closed_are_hidden_together(agency):
    rows = CaseRows(agency)
    rows.many(30)
    rows.many(2, closed_on="2026-09-01")
    item = published(agency, "")["CM_CHILDREN_YOUTH"]
    assert item["value"] == 32
    assert (item["open"], item["closed"]) == (None, None)
    assert item["suppressed"] is True


def test_a_small_total_hides_the_whole_indicator(agency):
    CaseRows(agency).many(3)
    item = published(agency, "sex")["INDIVIDUAL_PLAN"]
    assert (item["numerator"], item["denominator"], item["value"]) == (None, None, None)
    assert item["suppressed"] is True
    assert all(row["suppressed"] for row in item["by"]["sex"])


def test_the_agencys_threshold_is_a_setting(agency, rows):
    ReportingPolicy.objects.create(agency=agency, min_cell=11)
    assert ReportingPolicy.min_cell_for(agency.pk) == 11
    by_age = published(agency, "age_group", k=11)["CM_CHILDREN_YOUTH"]["by"]["age_group"]
    assert {row["key"]: row["value"] for row in by_age} == {"0-17": 20, "18-24": 15}
    assert published(agency, "age_group", k=16)["CM_CHILDREN_YOUTH"]["by"]["age_group"] == [
        {"key": "0-17", "value": None, "suppressed": True},
        {"key": "18-24", "value": None, "suppressed": True},
    ]
