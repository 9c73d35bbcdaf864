"""Canary names planted through full flows never reach a log line or an error report.

A name nobody else uses is registered, written into notes, a plan, a referral and searches, and
pushed through errors: a refused form, a refused API body, a 404 whose query string carries it,
and a 500 raised in a view by an exception (and a database error under it) that quotes it. Every
record logged meanwhile, at DEBUG for the root logger and django.request, is then written out as
the project's log handler writes it (its RedactFilter and formatter, traceback included), and
none may contain the canary; neither may the 500 page, any JSON error body, or any e-mail.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from casework.cases.models import Case
from casework.core.logging import RedactFilter

GIVEN, FAMILY = "Zuleikanary", "Qwotrindell"
CANARIES = (GIVEN, FAMILY)


def _project_handler() -> logging.Handler:
    """The handler LOGGING sends everything to (console, with the RedactFilter)."""
    for handler in logging.getLogger().handlers:
        if any(isinstance(f, RedactFilter) for f in handler.filters):
            return handler
    raise AssertionError("no log handler with the RedactFilter on the root logger")


def _leaks(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary.casefold() in text.casefold()]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    """Every log line written so far, as the project's handler writes it; the leaking ones."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.request")
    handler = _project_handler()

    def leaking() -> list[str]:
        found = []
        for record in caplog.records:
            if not handler.filter(record):
                continue
            line = handler.format(record)
            if _leaks(line):
                found.append(line)
        if _leaks(caplog.text):
            found.append(caplog.text)
        return found

    yield leaking


def _no_leak_in(response: Any, where: str) -> None:
    assert not _leaks(response.content.decode(errors="replace")), where


@pytest.fixture
def canary_case(login: Any, amina: Any, programme: Any) -> Case:
    """Registered through the screen, as a caseworker would."""
    today = timezone.localdate().isoformat()
    response = login(amina).post(
        "/cases/register/",
        {
            "given_name": GIVEN,
            "family_name": FAMILY,
            "sex": "female",
            "estimated_age": "24",
            "disability": "no",
            "mobility_status": "idp",
            "programme": programme.pk,
            "service_type": "case_management",
            "identification_source": "community",
            "identified_on": today,
            "risk_level": "high",
            "consent_given_by": "client",
            "consent_receive_services": "on",
            "consent_anonymised_reporting": "on",
            "consent_method": "written",
            "consent_given_on": today,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Case.objects.get()


def test_registration_notes_and_search_log_no_name(
    logs: Callable[[], list[str]], login: Any, amina: Any, canary_case: Case
) -> None:
    client = login(amina)
    pk = canary_case.pk
    assert client.get(f"/cases/{pk}/").status_code == 200
    note = client.post(
        f"/cases/{pk}/notes/add/",
        {
            "text": f"Met {GIVEN} {FAMILY} at home.",
            "contact_type": "home_visit",
            "contact_on": timezone.localdate().isoformat(),
        },
    )
    assert note.status_code == 302
    api_note = client.post(
        f"/api/v1/cases/{pk}/notes",
        {"text": f"Called {GIVEN}.", "contact_type": "phone"},
        content_type="application/json",
    )
    assert api_note.status_code in (200, 201), api_note.content
    found = client.post("/api/v1/cases/search", {"query": FAMILY}, content_type="application/json")
    assert found.status_code == 200
    assert canary_case.reference in found.content.decode()  # the search did find the case
    assert client.get("/cases/", {"q": f"{GIVEN} {FAMILY}"}).status_code == 200
    assert logs() == []


def test_plan_and_referral_log_no_name(
    logs: Callable[[], list[str]], login: Any, amina: Any, canary_case: Case
) -> None:
    from casework.cases import services

    services.transition_case(canary_case, to="assessed", by=amina)
    client = login(amina)
    pk = canary_case.pk
    plan = client.post(
        f"/api/v1/plans/cases/{pk}",
        {"summary": f"{GIVEN} wants school", "goals": [{"text": f"{FAMILY} back at school"}]},
        content_type="application/json",
    )
    assert plan.status_code < 500
    if plan.status_code >= 400:
        _no_leak_in(plan, "plan error body")
    referral = client.post(
        f"/api/v1/referrals/cases/{pk}",
        {"service": 999999, "need_code": "health", "summary": f"{GIVEN} {FAMILY} needs care"},
        content_type="application/json",
    )
    assert referral.status_code >= 400  # no such service: an error answer, checked for the name
    _no_leak_in(referral, "referral error body")
    assert logs() == []


def test_refused_forms_and_bodies_report_no_name(
    logs: Callable[[], list[str]], login: Any, amina: Any, canary_case: Case
) -> None:
    client = login(amina)
    pk = canary_case.pk
    # A form that echoes what was typed back into its fields: the page may, the logs may not.
    refused = client.post(f"/cases/{pk}/notes/add/", {"text": f"{GIVEN} {FAMILY}"})
    assert refused.status_code in (200, 400)
    # A JSON body refused by validation: the error body names fields, never the values.
    bad = client.post(
        f"/api/v1/cases/{pk}/notes",
        {"text": f"{GIVEN} {FAMILY}", "contact_type": f"{GIVEN}"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    _no_leak_in(bad, "422 body")
    bad_search = client.post(
        "/api/v1/cases/search", {"query": [GIVEN, FAMILY]}, content_type="application/json"
    )
    assert bad_search.status_code == 422
    _no_leak_in(bad_search, "422 body")
    assert logs() == []


def test_a_404_with_a_name_in_its_query_logs_no_name(
    logs: Callable[[], list[str]],
    caplog: pytest.LogCaptureFixture,
    login: Any,
    amina: Any,
    canary_case: Case,
) -> None:
    client = login(amina)
    missing = client.get("/cases/999999999/", {"q": f"{GIVEN} {FAMILY}"})
    assert missing.status_code == 404
    _no_leak_in(missing, "404 page")
    api_missing = client.get("/api/v1/cases/999999999", {"name": FAMILY})
    assert api_missing.status_code == 404
    _no_leak_in(api_missing, "API 404 body")
    # The 404 was logged (so the capture works) and its line holds no name.
    assert any(r.name == "django.request" and r.levelno == logging.WARNING for r in caplog.records)
    assert logs() == []


def _raise_quoting_the_name(*args: Any, **kwargs: Any) -> None:
    raise ValueError(f"could not save the note of {GIVEN} {FAMILY}")


def _database_error_quoting_the_name(*args: Any, **kwargs: Any) -> None:
    # What Django raises for a driver error: its own IntegrityError, chained from the driver's,
    # both quoting the value (as PostgreSQL's "Key (name)=(…) already exists" does).
    with connection.wrap_database_errors:
        raise sqlite3.IntegrityError(f"duplicate key value: ({GIVEN} {FAMILY}) already exists")


@pytest.mark.parametrize(
    "error",
    [
        _raise_quoting_the_name,
        # Django's wrapped database error: the driver's own, chained under it, quotes the value.
        _database_error_quoting_the_name,
    ],
)
def test_a_500_raised_in_a_view_reports_no_name(
    logs: Callable[[], list[str]],
    caplog: pytest.LogCaptureFixture,
    amina: Any,
    canary_case: Case,
    monkeypatch: pytest.MonkeyPatch,
    error: Callable[..., None],
) -> None:
    from casework.cases import services

    monkeypatch.setattr(services, "add_note", error)
    client = Client(raise_request_exception=False)
    client.force_login(amina)
    page = client.post(
        f"/cases/{canary_case.pk}/notes/add/",
        {
            "text": "Visit",
            "contact_type": "home_visit",
            "contact_on": timezone.localdate().isoformat(),
        },
    )
    assert page.status_code == 500
    _no_leak_in(page, "500 page")
    api = client.post(
        f"/api/v1/cases/{canary_case.pk}/notes",
        {"text": "Visit", "contact_type": "home_visit"},
        content_type="application/json",
    )
    assert api.status_code == 500
    _no_leak_in(api, "API 500 body")
    # Both errors were logged with their traceback (so the check below read them).
    errors = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert len(errors) == 2
    assert logs() == []
    assert not any(_leaks(f"{m.subject}\n{m.body}") for m in mail.outbox)
