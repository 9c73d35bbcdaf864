"""A hostile case file (a zip bomb, a million empty rows, too many rows) is refused before any
parser reads it, on the screen, in the API and at the command line; nothing is written. A file
within the limits is read and checked outside any transaction; only its write is one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from casework.audit.models import AuditEntry
from casework.cases.models import Case
from casework.core.tests.hostile_files import far_row_workbook, zip_bomb
from casework.interchange import readers
from casework.interchange.models import ImportRun
from casework.interchange.tests.conftest import case_rows, cases_bytes, surveys_bytes
from casework.interchange.validation import Checker
from casework.interchange.writer import Writer

API = "/api/v1/interchange/imports"


@pytest.fixture
def parsers_never_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("A refused file reached a parser.")

    monkeypatch.setattr(readers, "read_xlsx", refuse)
    monkeypatch.setattr(readers, "read_csv", refuse)


def _nothing_written() -> None:
    assert not Case.objects.exists()
    assert not ImportRun.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="interchange.").exists()


@pytest.mark.usefixtures("parsers_never_run")
def test_the_zip_bomb_of_the_finding_is_refused_on_the_screen(login: Any, paul: Any) -> None:
    response = login(paul).post(
        "/imports/", {"cases": SimpleUploadedFile("cases.xlsx", zip_bomb())}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["cases"][0].startswith("The cases file is compressed more than 100 to 1")
    _nothing_written()


@pytest.mark.usefixtures("parsers_never_run")
def test_the_api_answers_413_naming_the_file_and_the_limit(login: Any, paul: Any) -> None:
    client = login(paul)
    response = client.post(API, {"cases": SimpleUploadedFile("cases.xlsx", zip_bomb())})
    assert response.status_code == 413
    assert response.json()["code"] == "compression_ratio"
    assert response.json()["field"] == "cases"
    response = client.post(
        API,
        {
            "cases": SimpleUploadedFile("cases.csv", cases_bytes(case_rows(1))),
            "surveys": SimpleUploadedFile("surveys.xlsx", far_row_workbook("surveys")),
        },
    )
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "too_many_rows" and body["field"] == "surveys"
    assert body["message"].startswith("The surveys file has more than 200,000 rows")
    _nothing_written()


@pytest.mark.usefixtures("parsers_never_run")
def test_rows_and_size_are_limited_by_the_settings(login: Any, paul: Any, settings: Any) -> None:
    client = login(paul)
    settings.CASEWORK_UPLOAD_MAX_ROWS = 5
    response = client.post(API, {"cases": SimpleUploadedFile("c.csv", cases_bytes(case_rows(5)))})
    assert response.status_code == 413 and response.json()["code"] == "too_many_rows"
    settings.CASEWORK_UPLOAD_MAX_BYTES = 1024
    big = cases_bytes(case_rows(6))
    assert len(big) > 1024
    response = client.post(API, {"cases": SimpleUploadedFile("c.csv", big)})
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"
    response = client.post("/imports/", {"cases": SimpleUploadedFile("c.csv", big)})
    assert response.status_code == 400
    assert "casework import" in response.context["form"].errors["cases"][1]
    _nothing_written()


@pytest.mark.usefixtures("parsers_never_run")
def test_the_command_line_refuses_the_bomb_too(db: Any, tmp_path: Path) -> None:
    path = tmp_path / "cases.xlsx"
    path.write_bytes(zip_bomb())
    with pytest.raises(CommandError, match="compressed more than 100 to 1"):
        call_command("import", str(path), "--agency", "AGY")
    assert not Case.objects.exists()


def test_files_are_read_and_checked_outside_any_transaction(
    login: Any, paul: Any, located: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    located()
    outside = len(connection.atomic_blocks)  # the test's own transaction
    depths: dict[str, list[int]] = {"read": [], "check": [], "write": []}

    def spy(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            depths[name].append(len(connection.atomic_blocks))
            return original(*args, **kwargs)

        return call

    monkeypatch.setattr(readers, "read_csv", spy("read", readers.read_csv))
    monkeypatch.setattr(Checker, "check", spy("check", Checker.check))
    monkeypatch.setattr(Writer, "write", spy("write", Writer.write))
    rows = case_rows(2)
    response = login(paul).post(
        API,
        {
            "cases": SimpleUploadedFile("cases.csv", cases_bytes(rows)),
            "surveys": SimpleUploadedFile("surveys.csv", surveys_bytes([])),
        },
    )
    assert response.status_code == 200 and response.json()["written"] is True
    assert depths["read"] == [outside, outside]  # cases and surveys
    assert depths["check"] == [outside]
    assert depths["write"] == [outside + 1]  # the one write transaction
    assert Case.objects.count() == 2
