"""The tests of test_outage.py that commit (transactional), kept in a file of their own:
make test hands out whole files, and a transactional test leaves the database flushed.
"""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings

from casework.cases.models import CaseNote
from casework.core import outage
from casework.core.tests.test_outage import SECRET, SHORT_LOCK_WAIT_SECONDS, _is_503, _note
from conftest import PASSWORD


@pytest.mark.commits
@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's one writer; PostgreSQL locks rows, not files"
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_save_that_cannot_get_the_lock_answers_busy_and_keeps_the_form(
    monkeypatch: pytest.MonkeyPatch, login: Callable[[Any], Client], amina: Any, case: Any
) -> None:
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", SHORT_LOCK_WAIT_SECONDS)
    connection.close()  # the next connection waits SHORT_LOCK_WAIT_SECONDS for a lock
    client = login(amina)
    assert client.get(f"/cases/{case.pk}/").status_code == 200  # the session is fresh
    # Another writer (a long import) holds SQLite's write lock.
    importer = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        importer.execute("BEGIN IMMEDIATE")
        started = datetime.datetime.now(tz=datetime.UTC)
        busy = client.post(f"/cases/{case.pk}/notes/add/", _note())
        waited = datetime.datetime.now(tz=datetime.UTC) - started
        # A sign-in's first write is its rate counter, in a middleware below: handler500.
        with override_settings(ROOT_URLCONF="config.urls"):
            signing_in = Client(raise_request_exception=False).post(
                "/accounts/login/", {"username": amina.username, "password": PASSWORD}
            )
    finally:
        importer.rollback()
        importer.close()
    _is_503(busy, "busy")
    assert waited.total_seconds() < outage.RETRY_AFTER["busy"]
    page = busy.content.decode()
    assert outage._message("busy", write=True) in page
    assert "met the client at the clinic" in page and SECRET not in page
    assert not CaseNote.objects.filter(case=case).exists()
    _is_503(signing_in, "busy")
    assert amina.username in signing_in.content.decode()
    assert PASSWORD not in signing_in.content.decode()
    # Once the lock is released, the same form saves.
    saved = client.post(f"/cases/{case.pk}/notes/add/", _note())
    assert saved.status_code == 302
    assert CaseNote.objects.filter(case=case).count() == 1
