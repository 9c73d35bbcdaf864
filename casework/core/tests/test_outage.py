"""Database faults answer 503 with Retry-After, never a bare "Server Error (500)".

The database is made unreachable portably: the connection refuses to connect (as PostgreSQL
refusing connections does), or its cursor fails once connected (the server went away mid-way).
SQLite "busy" is real: a second connection holds the write lock with BEGIN IMMEDIATE.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client
from django.utils import timezone, translation

from casework.accounts import tokens
from casework.cases.models import CaseNote, ContactType
from casework.core import outage
from casework.core.middleware import CONTENT_SECURITY_POLICY

TYPED = "<script>alert('x')</script> met the client at the clinic"
SECRET = "never-shown-again-2026"
# A wait for the lock much shorter than production's, so the test does not sit for seconds.
SHORT_LOCK_WAIT_SECONDS = 0.2


@pytest.fixture(autouse=True)
def _fresh_fault_log() -> Iterator[None]:
    outage.fault_log.reset()
    yield
    outage.fault_log.reset()


def _refuse(*args: Any, **kwargs: Any) -> None:
    raise OperationalError("could not connect to server: Connection refused")


def _gone(*args: Any, **kwargs: Any) -> None:
    raise InterfaceError("connection already closed")


@contextmanager
def unreachable() -> Iterator[None]:
    """Every attempt to reach the database fails, as when its server refuses connections."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(connection, "ensure_connection", _refuse)
        yield


@contextmanager
def dropped() -> Iterator[None]:
    """Connected, but every query fails: the server went away after the request started."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(connection, "create_cursor", _gone)
        yield


def _note() -> dict[str, str]:
    return {
        "text": TYPED,
        "contact_type": ContactType.OFFICE,
        "contact_on": timezone.localdate().isoformat(),
        "password": SECRET,
        "csrfmiddlewaretoken": SECRET + "-csrf",
    }


def _is_503(response: Any, kind: str) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(outage.RETRY_AFTER[kind])
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response["Cache-Control"] == "no-store"


def _token(user: Any) -> Client:
    token = tokens.create_token(owner=user, by=None, name="t", scopes=["read"], days=1)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_the_api_answers_503_json_while_the_database_is_unreachable(amina: Any) -> None:
    client = _token(amina)
    with unreachable():
        response = client.get("/api/v1/tasks")
    _is_503(response, "unavailable")
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "unavailable",
        "message": outage._message("unavailable", write=False),
        "retry_after": outage.RETRY_AFTER["unavailable"],
    }


def test_a_fault_inside_an_api_operation_is_the_same_503(settings: Any, amina: Any) -> None:
    # Rate counters off: the first query is then the token's, inside Django Ninja's operation.
    settings.CASEWORK_RATE_LIMITS_ENABLED = False
    client = _token(amina)
    with dropped():
        response = client.get("/api/v1/tasks")
    _is_503(response, "unavailable")
    assert response.json()["code"] == "unavailable"


def test_a_fault_in_a_middleware_below_is_the_same_503(amina: Any) -> None:
    # The rate counter (a middleware below OutageMiddleware) is the first to query: handler500.
    client = _token(amina)
    client.raise_request_exception = False
    with dropped():
        response = client.get("/api/v1/tasks")
    _is_503(response, "unavailable")
    assert response.json()["code"] == "unavailable"


def test_a_screen_answers_a_translated_page_that_needs_no_database(
    login: Callable[[Any], Client], amina: Any, case: Any
) -> None:
    client = login(amina)
    with unreachable():
        english = client.get(f"/cases/{case.pk}/")
        french = client.get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="fr")
    for response in (english, french):
        _is_503(response, "unavailable")
        assert response["Content-Type"].startswith("text/html")
    assert outage._message("unavailable", write=False) in english.content.decode()
    page = french.content.decode()
    assert '<html lang="fr"' in page
    with translation.override("fr"):
        assert translation.gettext("Try again") != "Try again"
        assert translation.gettext("Try again") in page
        assert outage._message("unavailable", write=False) in page


def test_a_post_shows_what_was_typed_escaped_and_never_a_password(
    login: Callable[[Any], Client], amina: Any, case: Any
) -> None:
    client = login(amina)
    with unreachable():
        response = client.post(f"/cases/{case.pk}/notes/add/", _note())
    _is_503(response, "unavailable")
    page = response.content.decode()
    assert outage._message("unavailable", write=True) in page
    assert "alert(&#x27;x&#x27;)&lt;/script&gt; met the client at the clinic" in page
    assert "<script>alert" not in page
    assert SECRET not in page
    assert not CaseNote.objects.filter(case=case).exists()


def test_an_outage_is_logged_once_per_interval_without_what_was_typed(
    caplog: pytest.LogCaptureFixture, login: Callable[[Any], Client], amina: Any, case: Any
) -> None:
    client = login(amina)
    requests = 5
    with caplog.at_level(logging.INFO), unreachable():
        for _n in range(requests):
            client.post(f"/cases/{case.pk}/notes/add/", _note())
    faults = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [record.name for record in faults] == ["casework.core.outage"]
    assert faults[0].exc_info is None
    assert TYPED not in caplog.text and SECRET not in caplog.text
    # The next interval's first record counts the ones it did not log.
    outage.fault_log.report(
        "unavailable", OperationalError(), now=time.monotonic() + outage.fault_log.interval
    )
    assert f"{requests - 1} more" in caplog.records[-1].getMessage()


def test_what_is_not_a_database_fault_is_left_alone() -> None:
    assert outage.fault_kind(ValueError("x")) is None
    assert outage.fault_kind(OperationalError("no such table: cases_case")) is None
    assert outage.fault_kind(OperationalError("database is locked")) == "busy"
    assert outage.fault_kind(InterfaceError("connection already closed")) == "unavailable"
