"""The directory from a spreadsheet: all or nothing, every problem listed with line and column."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from casework.audit.models import AuditEntry
from casework.referrals.imports import import_directory
from casework.referrals.models import Organisation, Service

HEADER = "organisation_code,organisation_name,partner_agency,referral_method,agreement,service_name,sector,locations,min_age,answer_within_days"
GOOD = "\n".join(
    [
        HEADER,
        "HOPE,Hope Clinic,,email,yes,General health care,health,NR; SR,,3",
        "HOPE,,,,,Counselling,Mental health and psychosocial support,NR-LK,18,",
        "LAW,Lawyers,LAW,phone,no,Legal aid,legal,all,,10",
    ]
)
BAD = "\n".join(
    [
        HEADER,
        "HOPE,Hope Clinic,,email,yes,General health care,health,NR,,3",
        "HOPE,Hope Clinic Ltd,,,,Counselling,mental_health,ATLANTIS,eighteen,",  # line 3
        "law firm,Lawyers,NOPE,pigeon,maybe,Legal aid,justice,,,0",  # line 4
        "HOPE,,,,,General health care,health,NR,,",  # line 5: twice
    ]
)


@pytest.fixture
def directory_areas(areas: dict[str, Any], other_partner_agency: Any) -> dict[str, Any]:
    return areas


def test_it_imports_organisations_and_services(directory_areas: Any, adam: Any) -> None:
    report = import_directory(GOOD.encode(), filename="directory.csv", by=adam)
    assert report.ok and report.applied
    assert (report.organisations_created, report.services_created) == (2, 3)
    hope = Organisation.objects.get(code="HOPE")
    assert hope.referral_method == "email" and hope.has_agreement
    care = Service.objects.get(name="General health care")
    assert {loc.code for loc in care.locations.all()} == {"NR", "SR"}
    assert care.answer_within_days == 3
    counselling = Service.objects.get(name="Counselling")
    assert counselling.sector == "mental_health" and counselling.min_age == 18
    legal = Service.objects.get(name="Legal aid")
    assert legal.nationwide and legal.organisation.agency is not None
    assert legal.organisation.agency.code == "LAW"
    entry = AuditEntry.objects.get(action="referrals.directory.imported")
    assert entry.actor == adam and entry.data["services_created"] == 3


def test_errors_are_listed_with_line_column_and_reason_and_nothing_is_written(
    directory_areas: Any, adam: Any
) -> None:
    report = import_directory(BAD.encode(), filename="directory.csv", by=adam)
    assert not report.applied
    found = {(p.line, p.column) for p in report.problems}
    assert {
        (3, "organisation_name"),  # differs from the organisation's first row
        (3, "locations"),  # unknown area
        (3, "min_age"),
        (4, "organisation_code"),  # not a code
        (4, "partner_agency"),
        (4, "referral_method"),
        (4, "agreement"),
        (4, "sector"),
        (4, "answer_within_days"),
        (5, "service_name"),  # the same service twice
    } <= found
    messages = {(p.line, p.column): p.message for p in report.problems}
    assert "ATLANTIS" in messages[(3, "locations")]
    assert "line 2" in messages[(3, "organisation_name")]
    assert not Organisation.objects.exists() and not Service.objects.exists()
    assert not AuditEntry.objects.filter(action="referrals.directory.imported").exists()


def test_a_dry_run_reports_and_writes_nothing(directory_areas: Any, adam: Any) -> None:
    report = import_directory(GOOD.encode(), filename="directory.csv", by=adam, dry_run=True)
    assert report.ok and not report.applied and report.services_created == 3
    assert not Organisation.objects.exists()


def test_a_second_import_updates_what_is_there(directory_areas: Any, adam: Any) -> None:
    import_directory(GOOD.encode(), filename="directory.csv", by=adam)
    again = "\n".join(
        [
            "organisation_code,organisation_name,service_name,sector,answer_within_days",
            "hope,Hope Clinic,General health care,health,7",
        ]
    )
    report = import_directory(again.encode(), filename="again.csv", by=adam)
    assert (report.organisations_updated, report.services_updated) == (1, 1)
    care = Service.objects.get(name="General health care")
    assert care.answer_within_days == 7
    # Columns left out of the file keep their values.
    assert {loc.code for loc in care.locations.all()} == {"NR", "SR"}
    assert Organisation.objects.get(code="HOPE").referral_method == "email"


def test_an_unknown_or_missing_column_is_reported_on_line_1(adam: Any) -> None:
    report = import_directory(b"organisation_code,sevrice_name\nA,B\n", filename="x.csv", by=adam)
    columns = {(p.line, p.column) for p in report.problems}
    assert (1, "sevrice_name") in columns and (1, "organisation_name") in columns
    assert not report.applied


def _xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_it_reads_xlsx_with_numbers_as_numbers(directory_areas: Any, adam: Any) -> None:
    data = _xlsx(
        [
            [
                "Organisation code",
                "Organisation name",
                "Service name",
                "Sector",
                "Locations",
                "Answer within days",
            ],
            ["HOPE", "Hope Clinic", "General health care", "Health", "NR-LK", 4],
            [None, None, None, None, None, None],
            ["HOPE", None, "Cash", "cash", "NR", 2.0],
        ]
    )
    report = import_directory(data, filename="directory.xlsx", by=adam)
    assert report.ok, report.problems
    assert Service.objects.get(name="Cash").answer_within_days == 2
    bad = _xlsx(
        [
            ["organisation_code", "organisation_name", "service_name", "sector", "locations"],
            ["HOPE", "Hope Clinic", "X", "astrology", "all"],
        ]
    )
    report = import_directory(bad, filename="bad.xlsx", by=adam)
    assert [(p.line, p.column) for p in report.problems] == [(2, "sector")]


def test_a_file_that_is_not_a_spreadsheet_is_refused(adam: Any) -> None:
    from casework.core.errors import CaseworkError

    with pytest.raises(CaseworkError):
        import_directory(b"PK\x03\x04 broken", filename="x.xlsx", by=adam)
    with pytest.raises(CaseworkError):
        import_directory("é".encode("latin-1"), filename="x.csv", by=adam)


def test_the_command_imports_and_fails_loudly_on_errors(
    directory_areas: Any, adam: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("services", "import", str(bad))
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    out = io.StringIO()
    call_command("services", "import", str(good), "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue() and not Service.objects.exists()
    call_command("services", "import", str(good), "--as", "adam", stdout=out)
    assert Service.objects.count() == 3
    assert AuditEntry.objects.get(action="referrals.directory.imported").actor == adam


def test_the_upload_screen_lists_problems_and_imports_a_good_file(
    login: Any, adam: Any, directory_areas: Any
) -> None:
    client = login(adam)
    assert client.get("/services/import/").status_code == 200
    response = client.post(
        "/services/import/", {"file": SimpleUploadedFile("bad.csv", BAD.encode()), "dry_run": ""}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was imported" in body and "ATLANTIS" in body
    assert not Service.objects.exists()
    response = client.post(
        "/services/import/", {"file": SimpleUploadedFile("good.csv", GOOD.encode()), "dry_run": ""}
    )
    assert response.status_code == 200 and Service.objects.count() == 3


def test_the_import_api_answers_with_the_problems(
    login: Any, adam: Any, directory_areas: Any
) -> None:
    client = login(adam)
    response = client.post(
        "/api/v1/referrals/services/import",
        {"file": SimpleUploadedFile("bad.csv", BAD.encode()), "dry_run": "false"},
    )
    assert response.status_code == 400
    assert {"line": 3, "column": "min_age"} in [
        {"line": p["line"], "column": p["column"]} for p in response.json()["problems"]
    ]
    assert not Service.objects.exists()


@pytest.mark.parametrize("name", ["amina", "sam", "mei", "priya", "xena"])
def test_only_administrators_import(login: Any, request: pytest.FixtureRequest, name: str) -> None:
    client = login(request.getfixturevalue(name))
    assert client.get("/services/import/").status_code == 404
    response = client.post(
        "/api/v1/referrals/services/import", {"file": SimpleUploadedFile("g.csv", GOOD.encode())}
    )
    assert response.status_code == 404
