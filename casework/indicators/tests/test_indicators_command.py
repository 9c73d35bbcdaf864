"""`casework indicators`: the contract's command line."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from casework.audit.models import AuditEntry
from casework.indicators.tests.builders import CaseRows

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(agency):
    rows = CaseRows(agency)
    rows.many(7, plan_text="")
    rows.case(sex="male", plan_text="The plan")
    return rows


def run(*args: str) -> str:
    output = io.StringIO()
    call_command("indicators", *args, stdout=output)
    return output.getvalue()


def test_it_prints_the_contracts_json_with_the_agencys_threshold(cases):
    data = json.loads(run("--period", "2026-Q3", "--by", "sex"))
    assert data["period"] == {"start": "2026-07-01", "end": "2026-09-30"}
    plan = next(item for item in data["indicators"] if item["code"] == "INDIVIDUAL_PLAN")
    assert plan["numerator"] is None and plan["suppressed"] is True  # 1 person: hidden
    assert not AuditEntry.objects.filter(action="indicators.unsuppressed").exists()


def test_min_cell_one_shows_everything_and_is_audited(cases, agency):
    data = json.loads(run("--period", "2026-Q3", "--by", "sex", "--min-cell", "1"))
    plan = next(item for item in data["indicators"] if item["code"] == "INDIVIDUAL_PLAN")
    assert (plan["numerator"], plan["denominator"]) == (1, 8)
    entry = AuditEntry.objects.get(action="indicators.unsuppressed")
    assert entry.actor is None and entry.agency_id == agency.pk
    assert entry.data == {"period": "2026-Q3", "min_cell": 1}


def test_it_writes_csv_and_xlsx_files(cases, tmp_path):
    csv_file = tmp_path / "q3.csv"
    run("--period", "2026-Q3", "--format", "csv", "-o", str(csv_file))
    assert csv_file.read_text().startswith("indicator,period_start,period_end,figure")
    xlsx_file = tmp_path / "q3.xlsx"
    run("--period", "2026-Q3", "--format", "xlsx", "-o", str(xlsx_file))
    assert load_workbook(xlsx_file).sheetnames == [
        "CM_CHILDREN_YOUTH",
        "INDIVIDUAL_PLAN",
        "PARTICIPATION",
    ]


def test_it_explains_a_bad_period_an_unknown_dimension_or_agency(cases):
    with pytest.raises(CommandError, match="2026-Q3"):
        run("--period", "Q3")
    with pytest.raises(CommandError, match="Unknown disaggregation"):
        run("--period", "2026-Q3", "--by", "religion")
    with pytest.raises(CommandError, match="ZZZ"):
        run("--period", "2026-Q3", "--agency", "ZZZ")


def test_a_dhis2_export_of_a_date_range_is_refused(cases):
    with pytest.raises(CommandError, match="DHIS2"):
        run("--period", "2026-07-01..2026-08-15", "--format", "dhis2")
