"""The tests of test_hostile_workbooks.py that commit (transactional), kept in a file of their own:
make test hands out whole files, and a transactional test leaves the database flushed.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from casework.assessments import questionnaires
from casework.assessments.models import Questionnaire
from casework.assessments.tests.xlsforms import household_form
from conftest import PASSWORD


@pytest.mark.commits
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_others_sign_in_while_a_workbook_is_being_read(
    adam: Any, amina: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The finding: on SQLite every sign-in failed with "database is locked" while a workbook was
    # read inside the upload's write transaction. Hold the reading open and sign someone in.
    reading, release = threading.Event(), threading.Event()
    original = questionnaires.read_xlsform

    def slow_read(data: bytes, file_name: str = "") -> Any:
        reading.set()
        release.wait(30)
        return original(data, file_name)

    monkeypatch.setattr(questionnaires, "read_xlsform", slow_read)
    uploader = Client()
    uploader.force_login(adam)
    answers: dict[str, int] = {}

    def upload() -> None:
        try:
            response = uploader.post(
                "/questionnaires/upload/",
                {"file": SimpleUploadedFile("household.xlsx", household_form()), "title": ""},
            )
            answers["upload"] = response.status_code
        finally:
            connection.close()

    thread = threading.Thread(target=upload)
    thread.start()
    try:
        assert reading.wait(30)
        signed_in = Client().post(
            "/accounts/login/", {"username": amina.username, "password": PASSWORD}
        )
        assert signed_in.status_code == 302  # not "database is locked"
    finally:
        release.set()
        thread.join(30)
    assert answers["upload"] == 302
    assert Questionnaire.objects.count() == 1
