"""A file with bad rows: every bad row is listed (line, column, reason, never the value), and
nothing is written unless the user asks for the valid rows only."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from casework.audit.models import AuditEntry
from casework.cases.models import Case, Transition
from casework.feedback.models import ParticipationSurvey
from casework.interchange.columns import CASE_COLUMNS
from casework.interchange.importer import import_cases
from casework.interchange.readers import FileError
from casework.interchange.tests.conftest import case_rows, cases_bytes, surveys_bytes, table_bytes
from casework.people.models import Person


def _errors(result: Any) -> set[tuple[str, int, str, str]]:
    return {(e["file"], e["line"], e["column"], e["code"]) for e in result.errors}


@pytest.fixture
def bad_file(amina: Any) -> bytes:
    rows = case_rows(8)
    rows[1]["registered_on"] = "01/03/2026"  # line 3
    rows[2]["sex"] = "F"  # line 4
    rows[3]["assessed_on"] = "2026-02-01"  # line 5: before registered_on
    rows[4]["closed_on"] = "2026-03-10"  # line 6: before plan_on
    rows[4]["closure_reason"] = "needs_met"
    rows[5]["programme"] = "NOPE"  # line 7
    rows[6]["registered_on"] = ""  # line 8
    rows[7]["date_of_birth"] = "2027-01-01"  # line 9: after registered_on
    return cases_bytes(rows)


def test_it_lists_every_bad_row_and_writes_nothing(agency: Any, bad_file: bytes) -> None:
    result = import_cases(cases=bad_file, by=None, agency_code="AGY")
    assert _errors(result) == {
        ("cases", 3, "registered_on", "invalid_date"),
        ("cases", 4, "sex", "invalid_choice"),
        ("cases", 5, "assessed_on", "date_order"),
        ("cases", 6, "closed_on", "date_order"),
        ("cases", 7, "programme", "unknown_code"),
        ("cases", 8, "registered_on", "required"),
        ("cases", 9, "registered_on", "date_order"),
    }
    assert not result.written
    assert Case.objects.count() == 0 and Person.objects.count() == 0
    assert AuditEntry.objects.filter(action="interchange.import.rejected").count() == 1


def test_the_reasons_never_repeat_the_values(agency: Any, amina: Any) -> None:
    rows = case_rows(2)
    rows[0]["sex"] = "Fatima Traoré"  # a name typed in the wrong column
    rows[1]["date_of_birth"] = "Awa Diallo"
    result = import_cases(cases=cases_bytes(rows), by=None, agency_code="AGY")
    assert len(result.errors) == 2
    text = repr(result.errors) + repr(result.summary())
    assert "Fatima" not in text and "Awa" not in text


def test_valid_only_writes_the_good_rows(agency: Any, bad_file: bytes) -> None:
    result = import_cases(cases=bad_file, by=None, agency_code="AGY", valid_only=True)
    assert result.written
    assert set(Case.objects.values_list("reference", flat=True)) == {"T-0001"}
    assert result.summary()["counts"]["rows_with_errors"] == 7


def test_a_dry_run_writes_nothing_but_says_what_it_would_do(agency: Any, amina: Any) -> None:
    result = import_cases(cases=cases_bytes(case_rows(3)), by=None, dry_run=True)
    assert result.errors == [] and not result.written
    assert result.summary()["counts"]["cases_created"] == 3
    assert result.summary()["created"]["locations"] == ["NE-01"]
    assert Case.objects.count() == 0


def test_it_checks_the_survey_rules(agency: Any, amina: Any) -> None:
    surveys = [
        {
            "case_ref": "T-0001",
            "surveyed_on": "2026-04-01",
            "q1_aware": "yes",
            "q2_involved": "yes",
            "q3_how": "set_goals;agreed_plan",
        },
        {
            "case_ref": "T-0001",
            "surveyed_on": "2026-05-01",
            "q1_aware": "no",
            "q2_involved": "yes",
            "q3_how": "",
        },
        {
            "case_ref": "T-0001",
            "surveyed_on": "2026-06-01",
            "q1_aware": "yes",
            "q2_involved": "yes",
            "q3_how": "set_goals;danced",
        },
        {
            "case_ref": "T-0404",
            "surveyed_on": "2026-06-01",
            "q1_aware": "yes",
            "q2_involved": "",
            "q3_how": "",
        },
        {
            "case_ref": "T-0001",
            "surveyed_on": "2026-04-01",
            "q1_aware": "maybe",
            "q2_involved": "",
            "q3_how": "",
        },
    ]
    result = import_cases(
        cases=cases_bytes(case_rows(1)), surveys=surveys_bytes(surveys), by=None, agency_code="AGY"
    )
    assert _errors(result) == {
        ("surveys", 3, "q2_involved", "asked_after_no"),
        ("surveys", 4, "q3_how", "invalid_choice"),
        ("surveys", 5, "case_ref", "unknown_case"),
        ("surveys", 6, "q1_aware", "invalid_choice"),
        ("surveys", 6, "surveyed_on", "duplicate_survey"),
    }
    assert ParticipationSurvey.objects.count() == 0


def test_a_case_ref_twice_in_a_file_is_an_error(agency: Any, amina: Any) -> None:
    rows = case_rows(2)
    rows[1]["case_ref"] = rows[0]["case_ref"]
    result = import_cases(cases=cases_bytes(rows), by=None, agency_code="AGY")
    assert _errors(result) == {("cases", 3, "case_ref", "duplicate_case_ref")}


def test_plans_and_closures_need_their_dates(agency: Any, amina: Any) -> None:
    rows = case_rows(2)
    rows[0]["plan_on"] = ""
    rows[1]["closure_reason"] = "needs_met"
    result = import_cases(cases=cases_bytes(rows), by=None, agency_code="AGY")
    assert _errors(result) == {
        ("cases", 2, "plan_text", "plan_without_date"),
        ("cases", 3, "closure_reason", "reason_without_closure"),
    }


def test_a_missing_required_column_is_reported_on_the_header(agency: Any) -> None:
    columns = [name for name in CASE_COLUMNS if name != "registered_on"]
    result = import_cases(cases=table_bytes(case_rows(1), columns), by=None, agency_code="AGY")
    assert _errors(result) == {("cases", 1, "registered_on", "missing_column")}


def test_rows_of_another_agency_are_errors(agency: Any, amina: Any) -> None:
    rows = case_rows(1, agency="OTH")
    result = import_cases(cases=cases_bytes(rows), by=None, agency_code="AGY")
    assert _errors(result) == {("cases", 2, "agency", "agency_mismatch")}


def test_a_caseworker_of_another_agency_is_refused(agency: Any, xena: Any) -> None:
    result = import_cases(
        cases=cases_bytes(case_rows(1, caseworker="xena")), by=None, agency_code="AGY"
    )
    assert _errors(result) == {("cases", 2, "caseworker", "other_agency")}


def test_a_file_that_is_not_csv_or_xlsx_is_refused(agency: Any) -> None:
    with pytest.raises(FileError):
        import_cases(cases=b"\xff\xfe\x00garbage\x00", by=None, agency_code="AGY")


def test_a_failure_while_writing_changes_nothing(agency: Any, amina: Any) -> None:
    """One transaction: if anything fails half-way, the rows already written go too."""
    with (
        mock.patch(
            "casework.interchange.writer.Writer._surveys", side_effect=RuntimeError("disk full")
        ),
        pytest.raises(RuntimeError),
    ):
        import_cases(cases=cases_bytes(case_rows(5)), by=None, agency_code="AGY")
    assert Case.objects.count() == 0
    assert Person.objects.count() == 0
    assert Transition.objects.count() == 0


def test_a_person_described_differently_on_two_rows_is_a_warning(agency: Any, amina: Any) -> None:
    rows = case_rows(2, person_ref="P-7")
    rows[1]["sex"] = "male"
    result = import_cases(cases=cases_bytes(rows), by=None, agency_code="AGY")
    assert result.errors == [] and result.written
    assert [(w["line"], w["column"], w["code"]) for w in result.warnings] == [
        (3, "sex", "person_differs")
    ]
    assert Person.objects.get(reference="P-7").sex == "male"  # the later row
