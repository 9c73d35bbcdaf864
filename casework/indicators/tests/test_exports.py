"""Every output format carries the same suppressed figures, and nothing that identifies anyone."""

from __future__ import annotations

import csv
import io
import json
import sys
import types
from typing import Any

import pytest
from openpyxl import load_workbook

from casework.indicators import exports
from casework.indicators.dimensions import parse_by
from casework.indicators.models import Dhis2Mapping
from casework.indicators.periods import parse_period
from casework.indicators.report import Report, build_report
from casework.indicators.tests.builders import CaseRows

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(agency: Any) -> Report:
    rows = CaseRows(agency)
    rows.many(9, plan_text="", location="NE-01", age=12)
    for number in range(6):
        rows.case(sex="male", plan_text=f"Plan number {number}", location="SO-01", age=30)
    rows.case("SECRET-CASE", "SECRET-PERSON", sex="other", location="SO-01")
    for _ in range(2):
        rows.case(sex="unknown", location="NE-01")
    return build_report(
        agency_id=agency.pk,
        agency_code=agency.code,
        period=parse_period("2026-Q3"),
        by=parse_by("sex,age_group,adm1,sex+age_group"),
        min_cell=5,
    )


def _hxl() -> Any:
    """libhxl 5.2.2 imports `six` without declaring it (only for six.string_types)."""
    try:
        import hxl
    except ModuleNotFoundError as error:
        if error.name != "six":
            raise
        sys.modules["six"] = types.SimpleNamespace(string_types=(str,))  # type: ignore[assignment]
        import hxl
    return hxl


def test_the_json_is_the_contracts_shape(report):
    data = json.loads(exports.render(report, "json"))
    assert list(data) == ["period", "indicators"]
    assert data["period"] == {"start": "2026-07-01", "end": "2026-09-30"}
    plan = next(item for item in data["indicators"] if item["code"] == "INDIVIDUAL_PLAN")
    assert set(plan) >= {"code", "numerator", "denominator", "value", "by"}
    assert list(plan["by"]) == ["sex", "age_group", "adm1", "sex+age_group"]
    other = next(row for row in plan["by"]["sex"] if row["key"] == "other")
    assert other == {
        "key": "other",
        "numerator": None,
        "denominator": None,
        "value": None,
        "suppressed": True,
    }


def test_the_csv_has_one_row_per_figure_and_flags_what_is_suppressed(report):
    rows = list(csv.DictReader(io.StringIO(exports.render(report, "csv").decode())))
    assert list(rows[0]) == exports.CSV_HEADER
    other = [r for r in rows if r["indicator"] == "INDIVIDUAL_PLAN" and r["key"] == "other"]
    assert other == [
        {
            "indicator": "INDIVIDUAL_PLAN",
            "period_start": "2026-07-01",
            "period_end": "2026-09-30",
            "figure": "value",
            "disaggregation": "sex",
            "key": "other",
            "numerator": "",
            "denominator": "",
            "value": "",
            "suppressed": "yes",
        }
    ]
    pair = [r for r in rows if r["disaggregation"] == "sex+age_group"]
    assert {r["key"] for r in pair} >= {"female+0-17", "male+25-59"}
    totals = {r["indicator"]: r for r in rows if r["figure"] == "value" and not r["disaggregation"]}
    assert totals["CM_CHILDREN_YOUTH"]["value"] == "12"


def test_hxl_tags_parse_back_with_libhxl(report):
    hxl = _hxl()
    dataset = hxl.data(io.BytesIO(exports.render(report, "hxl")))
    tags = [column.display_tag for column in dataset.columns]
    assert tags[:5] == [
        "#indicator+code",
        "#date+start",
        "#date+end",
        "#indicator+figure",
        "#meta+disaggregation",
    ]
    assert {"#sex", "#age+group", "#adm1+code", "#indicator+value+num"} <= set(tags)
    by_sex = [
        row
        for row in dataset
        if row.get("#indicator+code") == "CM_CHILDREN_YOUTH"
        and row.get("#meta+disaggregation") == "sex"
    ]
    # "other" (1) and "unknown" (2) are small: hidden together, so neither is 12 - 9.
    assert {row.get("#sex"): row.get("#indicator+value") for row in by_sex} == {
        "female": "9",
        "other": None,
        "unknown": None,
    }
    pair = [row for row in dataset if row.get("#meta+disaggregation") == "sex+age_group"]
    assert all(row.get("#sex") and row.get("#age+group") for row in pair)


def test_xlsx_has_one_sheet_per_indicator(report):
    workbook = load_workbook(io.BytesIO(exports.render(report, "xlsx")))
    assert workbook.sheetnames == ["CM_CHILDREN_YOUTH", "INDIVIDUAL_PLAN", "PARTICIPATION"]
    sheet = workbook["INDIVIDUAL_PLAN"]
    header_row = next(
        number
        for number, row in enumerate(sheet.iter_rows(values_only=True), 1)
        if row[0] == "Figure"
    )
    rows = list(sheet.iter_rows(min_row=header_row + 1, values_only=True))
    assert rows[0][:2] == ("value", "total")
    assert any(row[1] == "sex" and row[2] == "other" and row[6] == "yes" for row in rows)


def test_dhis2_sends_mapped_figures_with_the_dhis2_period_and_never_a_suppressed_one(
    report, agency
):
    common = {"agency": agency, "org_unit": "OrgUnit0001"}
    Dhis2Mapping.objects.create(
        indicator_code="CM_CHILDREN_YOUTH", data_element="DataElem001", **common
    )
    Dhis2Mapping.objects.create(
        indicator_code="CM_CHILDREN_YOUTH",
        disaggregation="sex",
        key="female",
        data_element="DataElem001",
        category_option_combo="CatOptCo001",
        **common,
    )
    Dhis2Mapping.objects.create(
        indicator_code="INDIVIDUAL_PLAN", disaggregation="sex", key="other",
        data_element="DataElem002", **common,
    )  # fmt: skip
    Dhis2Mapping.objects.create(
        indicator_code="INDIVIDUAL_PLAN", figure="denominator", data_element="DataElem003", **common
    )
    payload = json.loads(
        exports.render(report, "dhis2", dhis2_mappings=list(Dhis2Mapping.objects.all()))
    )
    female = {"categoryOptionCombo": "CatOptCo001"}
    sent = [
        (v["dataElement"], v["value"], v.get("categoryOptionCombo")) for v in payload["dataValues"]
    ]
    assert sent == [
        ("DataElem001", "12", None),  # the total
        ("DataElem001", "9", female["categoryOptionCombo"]),  # girls and young women
        ("DataElem003", "18", None),  # INDIVIDUAL_PLAN's denominator
    ]  # and nothing for "other", which is suppressed
    assert {(v["period"], v["orgUnit"]) for v in payload["dataValues"]} == {
        ("2026Q3", "OrgUnit0001")
    }


def test_dhis2_periods_are_months_quarters_and_years():
    assert parse_period("2026-07").dhis2() == "202607"
    assert parse_period("2026-Q3").dhis2() == "2026Q3"
    assert parse_period("2026").dhis2() == "2026"


@pytest.mark.parametrize("output_format", sorted(exports.FORMATS))
def test_no_output_holds_a_case_or_person_reference(report, output_format):
    content = exports.render(report, output_format)
    if output_format == "xlsx":
        workbook = load_workbook(io.BytesIO(content))
        content = "".join(
            str(cell)
            for sheet in workbook
            for row in sheet.iter_rows(values_only=True)
            for cell in row
        ).encode()
    assert b"SECRET" not in content
