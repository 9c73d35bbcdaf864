"""What the instance does not know yet is created and listed; unknown columns are kept."""

from __future__ import annotations

from typing import Any

from django.db import connection

from casework.accounts.models import Agency, User
from casework.cases.models import Case
from casework.interchange.importer import import_cases
from casework.interchange.models import ExtraValues
from casework.interchange.tests.conftest import case_rows, cases_bytes, surveys_bytes
from casework.reference.models import Location


def test_it_creates_and_lists_unknown_agencies_caseworkers_and_locations(db: Any) -> None:
    rows = case_rows(2, agency="NEWORG", caseworker="fatou.k", location_code="ZZ-9")
    result = import_cases(cases=cases_bytes(rows), by=None)
    created = result.summary()["created"]
    assert created == {"agencies": ["NEWORG"], "caseworkers": ["fatou.k"], "locations": ["ZZ-9"]}
    agency = Agency.objects.get(code="NEWORG")
    user = User.objects.get(username="fatou.k")
    # Known by name only: no password, not active, until an administrator activates them.
    assert not user.is_active and not user.has_usable_password()
    assert (user.agency, user.role) == (agency, "caseworker")
    case = Case.objects.select_related("team", "location").get(reference="T-0001")
    assert case.caseworker == user and case.team == user.team
    assert case.location == Location.objects.get(code="ZZ-9")


def test_the_screens_import_only_into_the_users_own_agency(agency: Any, paul: Any) -> None:
    rows = case_rows(1, agency="NEWORG")
    result = import_cases(cases=cases_bytes(rows), by=paul, own_agency_only=True)
    assert [(e["column"], e["code"]) for e in result.errors] == [("agency", "agency_mismatch")]
    assert not Agency.objects.filter(code="NEWORG").exists()


def test_it_keeps_extra_columns_encrypted_and_reports_them(agency: Any, amina: Any) -> None:
    rows = case_rows(2)
    rows[0]["client_phone"] = "+223 70 00 00 01"
    rows[0]["file_box"] = "B12"
    rows[1]["client_phone"] = ""
    rows[1]["file_box"] = "B13"
    surveys = [
        {
            "case_ref": "T-0001",
            "surveyed_on": "2026-04-01",
            "q1_aware": "yes",
            "q2_involved": "yes",
            "q3_how": "",
            "interviewer": "volunteer 4",
        }
    ]
    result = import_cases(
        cases=cases_bytes(rows), surveys=surveys_bytes(surveys), by=None, agency_code="AGY"
    )
    assert result.summary()["extra_columns"] == {
        "cases": ["client_phone", "file_box"],
        "surveys": ["interviewer"],
    }
    first = ExtraValues.objects.get(case__reference="T-0001", survey=None)
    assert first.values == {"client_phone": "+223 70 00 00 01", "file_box": "B12"}
    assert ExtraValues.objects.get(case__reference="T-0002", survey=None).values == {
        "file_box": "B13"
    }
    survey_extra = ExtraValues.objects.get(survey__isnull=False)
    assert survey_extra.values == {"interviewer": "volunteer 4"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT values_json FROM interchange_extravalues")
        stored = " ".join(row[0] for row in cursor.fetchall())
    assert "+223" not in stored and "B12" not in stored


def test_reimporting_merges_extra_values(agency: Any, amina: Any) -> None:
    rows = case_rows(1)
    rows[0]["file_box"] = "B12"
    import_cases(cases=cases_bytes(rows), by=None, agency_code="AGY")
    rows[0].pop("file_box")
    rows[0]["shelf"] = "3"
    import_cases(cases=cases_bytes(rows), by=None, agency_code="AGY")
    assert ExtraValues.objects.get(case__reference="T-0001").values == {
        "file_box": "B12",
        "shelf": "3",
    }
