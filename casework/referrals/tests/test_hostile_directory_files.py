"""A hostile directory spreadsheet (the finding's zip bomb, a million empty rows, more rows than
the directory takes) is refused before it is parsed; a good one is read and checked outside any
transaction, and only written in one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from casework.audit.models import AuditEntry
from casework.core.tests.hostile_files import far_row_workbook, zip_bomb
from casework.core.uploads import UploadTooLarge
from casework.referrals import imports
from casework.referrals.models import Organisation, Service
from casework.referrals.tests.test_directory_import import GOOD, HEADER

API = "/api/v1/referrals/services/import"


@pytest.fixture
def parsers_never_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("A refused file reached a parser.")

    monkeypatch.setattr(imports, "_xlsx_rows", refuse)
    monkeypatch.setattr(imports, "_csv_rows", refuse)


def _nothing_written() -> None:
    assert not Organisation.objects.exists() and not Service.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="referrals.directory").exists()


@pytest.mark.usefixtures("parsers_never_run")
def test_the_zip_bomb_is_refused_on_the_screen_and_in_the_api(login: Any, adam: Any) -> None:
    client = login(adam)
    response = client.post(
        "/services/import/",
        {"file": SimpleUploadedFile("directory.xlsx", zip_bomb()), "dry_run": ""},
    )
    assert response.status_code == 400
    message = response.context["form"].errors["file"][0]
    assert message.startswith("The file is compressed more than 100 to 1")
    response = client.post(
        API, {"file": SimpleUploadedFile("directory.xlsx", zip_bomb()), "dry_run": "false"}
    )
    assert response.status_code == 413 and response.json()["code"] == "compression_ratio"
    response = client.post(
        API, {"file": SimpleUploadedFile("directory.xlsx", far_row_workbook("services"))}
    )
    assert response.status_code == 413 and response.json()["code"] == "too_many_rows"
    _nothing_written()


@pytest.mark.usefixtures("parsers_never_run")
def test_the_directorys_own_row_limit_is_checked_before_parsing(
    adam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    # Semicolons, as a French spreadsheet saves CSV: still three records after the header.
    rows = "\n".join([HEADER, "A;a", "B;b", "C;c"]).replace(",", ";")
    with pytest.raises(UploadTooLarge) as refused:
        imports.import_directory(rows.encode(), filename="d.csv", by=adam)
    assert refused.value.code == "too_many_rows"
    _nothing_written()


def test_the_file_is_read_and_checked_outside_any_transaction(
    areas: dict[str, Any], other_partner_agency: Any, adam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = len(connection.atomic_blocks)  # the test's own transaction
    depths: dict[str, list[int]] = {"read": [], "check": [], "write": []}

    def spy(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            depths[name].append(len(connection.atomic_blocks))
            return original(*args, **kwargs)

        return call

    monkeypatch.setattr(imports, "_csv_rows", spy("read", imports._csv_rows))
    monkeypatch.setattr(imports, "check_rows", spy("check", imports.check_rows))
    monkeypatch.setattr(
        imports, "apply_organisation_details", spy("write", imports.apply_organisation_details)
    )
    report = imports.import_directory(GOOD.encode(), filename="directory.csv", by=adam)
    assert report.applied
    assert depths == {"read": [outside], "check": [outside], "write": [outside + 1] * 2}
