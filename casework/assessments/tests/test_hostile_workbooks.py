"""A hostile XLSForm (the finding's zip bomb, a sheet of a million empty rows) is refused before
pyxform reads it; a workbook is read outside any transaction, so other people's sign-ins and
saves never wait for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from casework.assessments import questionnaires, services
from casework.assessments.models import Questionnaire
from casework.assessments.tests.xlsforms import household_form
from casework.audit.models import AuditEntry
from casework.core.tests.hostile_files import far_row_workbook, zip_bomb
from casework.core.uploads import UploadTooLarge

BOMB_HEADER = ("type", "name", "label")


@pytest.fixture
def pyxform_never_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyxform import xls2json_backends

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("A refused workbook reached pyxform.")

    monkeypatch.setattr(xls2json_backends, "get_xlsform", refuse)


def _nothing_saved() -> None:
    assert not Questionnaire.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="assessments.").exists()


@pytest.mark.usefixtures("pyxform_never_runs")
def test_the_zip_bomb_of_the_finding_is_refused_on_the_upload_page(login: Any, adam: Any) -> None:
    bomb = zip_bomb(header=BOMB_HEADER, sheet_name="survey")
    response = login(adam).post(
        "/questionnaires/upload/", {"file": SimpleUploadedFile("form.xlsx", bomb), "title": ""}
    )
    assert response.status_code == 400
    message = response.context["form"].errors["file"][0]
    assert message.startswith("The workbook is compressed more than 100 to 1")
    _nothing_saved()


@pytest.mark.usefixtures("pyxform_never_runs")
def test_the_api_answers_413_for_a_workbook_over_the_limits(login: Any, adam: Any) -> None:
    client = login(adam)
    bomb = zip_bomb(header=BOMB_HEADER, sheet_name="survey")
    response = client.post(
        "/api/v1/assessments/questionnaires", {"file": SimpleUploadedFile("form.xlsx", bomb)}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "compression_ratio"
    assert response.json()["field"] == "file"
    response = client.post(
        "/api/v1/assessments/questionnaires",
        {"file": SimpleUploadedFile("form.xlsx", far_row_workbook("survey"))},
    )
    assert response.status_code == 413 and response.json()["code"] == "too_many_rows"
    _nothing_saved()


@pytest.mark.usefixtures("pyxform_never_runs")
def test_a_workbook_larger_than_the_setting_is_refused(adam: Any, settings: Any) -> None:
    settings.CASEWORK_UPLOAD_MAX_BYTES = 2048
    with pytest.raises(UploadTooLarge) as refused:
        services.upload_questionnaire(by=adam, data=household_form(), file_name="household.xlsx")
    assert refused.value.code == "file_too_large"
    _nothing_saved()


def test_the_workbook_is_read_outside_the_transaction_that_saves_it(
    adam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = len(connection.atomic_blocks)  # the test's own transaction
    depths: dict[str, int] = {}

    def spy(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            depths[name] = len(connection.atomic_blocks)
            return original(*args, **kwargs)

        return call

    monkeypatch.setattr(questionnaires, "read_xlsform", spy("read", questionnaires.read_xlsform))
    monkeypatch.setattr(services, "_new_version", spy("save", services._new_version))
    version = services.upload_questionnaire(
        by=adam, data=household_form(), file_name="household.xlsx"
    )
    assert depths == {"read": outside, "save": outside + 1}
    assert version.number == 1
