"""The upload and export screens and the API: check first, then import; 404 for anyone without
the right, exactly as for a page that does not exist."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from casework.cases.models import Case
from casework.interchange import container
from casework.interchange.example import load_example
from casework.interchange.models import ColumnMapping, ImportRun
from casework.interchange.tests.conftest import case_rows, cases_bytes


def _upload(client: Any, cases: bytes, surveys: bytes | None = None, **fields: Any) -> Any:
    data: dict[str, Any] = {"cases": SimpleUploadedFile("cases.csv", cases), **fields}
    if surveys is not None:
        data["surveys"] = SimpleUploadedFile("surveys.csv", surveys)
    return client.post("/imports/", data)


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["amina", "sam", "priya", "adam", "xena"])
def test_only_roles_that_import_see_the_import_screens_and_api(
    login: Any, request: pytest.FixtureRequest, name: str, example_files: tuple[bytes, bytes]
) -> None:
    client = login(request.getfixturevalue(name))
    assert client.get("/imports/").status_code == 404
    assert client.get("/imports/mappings/").status_code == 404
    assert _upload(client, example_files[0]).status_code == 404
    response = client.post(
        "/api/v1/interchange/imports",
        {"cases": SimpleUploadedFile("cases.csv", example_files[0])},
    )
    assert response.status_code == 404
    assert not Case.objects.exists()


@pytest.mark.parametrize("name", ["amina", "mei", "priya", "adam", "xena"])
def test_only_programme_managers_and_supervisors_export_rows(
    login: Any, request: pytest.FixtureRequest, name: str
) -> None:
    client = login(request.getfixturevalue(name))
    assert client.get("/exports/").status_code == 404
    assert client.post("/exports/", {"file_format": "csv"}).status_code == 404
    response = client.post(
        "/api/v1/interchange/exports", {"file_format": "csv"}, content_type="application/json"
    )
    assert response.status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client: Any) -> None:
    assert client.get("/imports/").status_code == 302
    assert client.get("/exports/").status_code == 302


def test_an_import_is_seen_only_by_the_user_who_made_it(
    login: Any, paul: Any, mei: Any, example_files: tuple[bytes, bytes]
) -> None:
    _upload(login(paul), *example_files)
    run = ImportRun.objects.get()
    other = login(mei)
    assert other.get(f"/imports/{run.pk}/").status_code == 404
    assert other.post(f"/imports/{run.pk}/import/").status_code == 404
    assert other.get(f"/api/v1/interchange/imports/{run.pk}").status_code == 404
    assert not Case.objects.exists()


# --- the upload screen --------------------------------------------------------------------------


def test_the_upload_is_checked_first_and_imported_on_confirmation(
    login: Any, mei: Any, example_files: tuple[bytes, bytes]
) -> None:
    client = login(mei)
    response = _upload(client, *example_files)
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert run.status == "checked" and run.payload  # waiting, encrypted
    assert not Case.objects.exists()
    page = client.get(f"/imports/{run.pk}/").content.decode()
    assert "182" in page and "Import" in page
    response = client.post(f"/imports/{run.pk}/import/")
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "imported" and run.payload == ""
    assert Case.objects.count() == 182
    # A second confirmation of the same upload does nothing.
    client.post(f"/imports/{run.pk}/import/")
    assert Case.objects.count() == 182


def test_the_dry_run_lists_every_bad_row_without_its_values(login: Any, paul: Any) -> None:
    rows = case_rows(3)
    rows[1]["sex"] = "Aminata Coulibaly"
    rows[2]["registered_on"] = "yesterday"
    client = login(paul)
    _upload(client, cases_bytes(rows))
    run = ImportRun.objects.get()
    page = client.get(f"/imports/{run.pk}/").content.decode()
    assert "Aminata" not in page and "yesterday" not in page
    assert "<code>sex</code>" in page and "<code>registered_on</code>" in page
    assert "Import the 1 valid case rows only" in page
    errors = client.get(f"/imports/{run.pk}/errors.csv").content.decode().splitlines()
    assert errors[1:] == [
        'cases,3,sex,invalid_choice,"Not one of the allowed values: female, male, other, unknown."',
        "cases,4,registered_on,invalid_date,Not a date in the form YYYY-MM-DD.",
    ]
    assert not Case.objects.exists()
    client.post(f"/imports/{run.pk}/import/", {"valid_only": "on"})
    assert list(Case.objects.values_list("reference", flat=True)) == ["T-0001"]


def test_a_discarded_upload_is_erased(login: Any, paul: Any, example_files: Any) -> None:
    client = login(paul)
    _upload(client, *example_files)
    run = ImportRun.objects.get()
    assert client.post(f"/imports/{run.pk}/discard/").status_code == 302
    run.refresh_from_db()
    assert run.status == "discarded" and run.payload == ""
    client.post(f"/imports/{run.pk}/import/")
    assert not Case.objects.exists()


def test_a_mapping_is_saved_from_the_screen_and_used_by_the_upload(login: Any, paul: Any) -> None:
    client = login(paul)
    response = client.post(
        "/imports/mappings/new/",
        {
            "name": "Old register",
            "date_format": "%d/%m/%Y",
            "encoding": "utf-8",
            "delimiter": ",",
            "columns_text": "Dossier = case_ref\nPersonne = person_ref\nProg = programme\n"
            "Enregistré le = registered_on\nSexe = sex",
            "values_text": "sex: F = female\nsex: M = male",
        },
    )
    assert response.status_code == 302
    mapping = ColumnMapping.objects.get()
    assert mapping.values == {"sex": {"F": "female", "M": "male"}}
    legacy = "Dossier,Personne,Prog,Enregistré le,Sexe\nA1,B1,CP,02/01/2026,F\n".encode()
    _upload(client, legacy, mapping=str(mapping.pk))
    run = ImportRun.objects.get()
    assert run.errors == []
    client.post(f"/imports/{run.pk}/import/")
    assert Case.objects.get(reference="A1").person.sex == "female"


# --- the export screen and the API ---------------------------------------------------------------


def test_the_export_screen_sends_a_de_identified_workbook(login: Any, paul: Any) -> None:
    load_example()
    response = login(paul).post("/exports/", {"file_format": "xlsx", "period": "2026-Q3"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    assert response.content[:2] == b"PK"


def test_the_export_screen_lists_the_cases_without_consent(login: Any, paul: Any) -> None:
    load_example()
    response = login(paul).post(
        "/exports/",
        {
            "file_format": "csv",
            "with_names": "on",
            "recipient_name": "Cluster Lead",
            "password": "a long enough password",
        },
    )
    assert response.status_code == 400
    assert "C11-000001" in response.content.decode()


def test_the_export_api_keeps_a_sealed_file_with_names_for_download(login: Any, paul: Any) -> None:
    load_example()
    from casework.cases.models import Consent, ConsentRecipient

    consent = Consent.objects.get(case__reference="C11-000001")
    Consent.objects.filter(pk=consent.pk).update(given_on="2026-01-01")
    ConsentRecipient.objects.create(
        consent=consent,
        organisation_name="Cluster Lead",
        purpose="export",
        information=["identity", "case_summary"],
    )
    client = login(paul)
    body = {
        "with_names": True,
        "recipient_name": "Cluster Lead",
        "password": "a long enough password",
    }
    refused = client.post(
        "/api/v1/interchange/exports", json.dumps(body), content_type="application/json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "consent_required"
    assert len(refused.json()["case_refs"]) == 181
    body["leave_out_refused"] = True
    response = client.post(
        "/api/v1/interchange/exports", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201
    kept = response.json()
    assert response["Location"] == kept["download"]
    assert kept["cases"] == 1 and kept["recipient_name"] == "Cluster Lead"
    download = client.get(kept["download"])
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    files = container.open_container(download.content, "a long enough password")
    assert files["cases.csv"].decode().splitlines()[1].startswith("C11-000001,")


def test_a_supervisor_exports_only_the_cases_of_their_team(
    login: Any, sam: Any, amina: Any, omar: Any, register: Any
) -> None:
    register(amina)
    register(omar)
    response = login(sam).post(
        "/api/v1/interchange/exports",
        json.dumps({"file_format": "csv"}),
        content_type="application/json",
    )
    assert response.status_code == 200
    files = container.unzip_files(response.content)
    assert len(files["cases.csv"].decode().splitlines()) == 2  # header and amina's case


def test_the_import_api_answers_every_error_and_writes_nothing(login: Any, paul: Any) -> None:
    rows = case_rows(2)
    rows[1]["risk_level"] = "extreme"
    response = login(paul).post(
        "/api/v1/interchange/imports",
        {"cases": SimpleUploadedFile("cases.csv", cases_bytes(rows))},
    )
    assert response.status_code == 400
    body = response.json()
    assert [(e["line"], e["column"], e["code"]) for e in body["errors"]] == [
        (3, "risk_level", "invalid_choice")
    ]
    assert body["written"] is False and not Case.objects.exists()
    response = login(paul).post(
        "/api/v1/interchange/imports",
        {"cases": SimpleUploadedFile("cases.csv", cases_bytes(rows)), "valid_only": "true"},
    )
    assert response.status_code == 200 and response.json()["counts"]["cases_created"] == 1


def test_an_uploaded_case_file_never_touches_the_disk(
    login: Any, paul: Any, example_files: tuple[bytes, bytes], settings: Any, monkeypatch: Any
) -> None:
    # Anything over this size would normally be written to a temporary file.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    from django.core.files import uploadhandler

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("An upload was written to a temporary file.")

    monkeypatch.setattr(uploadhandler.TemporaryFileUploadHandler, "new_file", refuse)
    assert _upload(login(paul), *example_files).status_code == 302
    assert ImportRun.objects.get().summary["counts"]["case_rows"] == 182


def test_the_upload_still_checks_the_csrf_token(paul: Any, example_files: Any) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(paul)
    assert _upload(client, *example_files).status_code == 403
    assert not ImportRun.objects.exists()
