"""An import costs a bounded number of queries whatever the number of rows: lookups are loaded
once and rows are written in bulk, never one query per row."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from casework.cases.models import Case
from casework.interchange.importer import import_cases
from casework.interchange.tests.conftest import case_rows, cases_bytes, surveys_bytes

MAX_QUERIES = 60


def _files(count: int) -> tuple[bytes, bytes]:
    rows = case_rows(count)
    for number, row in enumerate(rows):
        row["caseworker"] = f"cw{number % 25:02d}"
        row["location_code"] = f"L-{number % 7}"
        row["person_ref"] = f"P-{number // 2:04d}"  # two cases a person
        row["legacy_id"] = str(number)
    surveys = [
        {
            "case_ref": row["case_ref"],
            "surveyed_on": "2026-04-01",
            "q1_aware": "yes",
            "q2_involved": "yes",
            "q3_how": "set_goals",
        }
        for row in rows[::2]
    ]
    return cases_bytes(rows), surveys_bytes(surveys)


def _queries(cases: bytes, surveys: bytes) -> int:
    with CaptureQueriesContext(connection) as captured:
        result = import_cases(cases=cases, surveys=surveys, by=None, agency_code="AGY")
    assert result.errors == [] and result.written
    return len(captured)


def test_importing_500_rows_takes_a_bounded_number_of_queries(agency: Any) -> None:
    few = _queries(*_files(20))
    Case.objects.all().delete()
    many = _queries(*_files(500))
    assert Case.objects.count() == 500
    assert many <= MAX_QUERIES, many
    assert many <= few + 2, (few, many)  # the same statements, whatever the number of rows


def test_reimporting_500_rows_takes_a_bounded_number_of_queries(agency: Any) -> None:
    files = _files(500)
    _queries(*files)
    assert _queries(*files) <= MAX_QUERIES
