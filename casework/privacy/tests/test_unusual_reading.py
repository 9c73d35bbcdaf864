"""Per user, the case files read in the last 30 days; and the officer's alert when one user reads
unusually many different case files within the agency's window: the threshold is a setting with
history, one alert per user per window, raised by a periodic job, audited, acknowledged."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core import mail
from django.http import Http404
from django.utils import timezone

from casework.audit.log import append, entry
from casework.audit.models import AuditEntry
from casework.core.schedule import load_registry
from casework.privacy import selectors, services
from casework.privacy.models import PrivacySettings, ReadAlert

HOUR = datetime.timedelta(hours=1)


def _read_at(when: datetime.datetime, user: Any, *cases: Any) -> None:
    """Entries of case files read at another time than now (the trail is append-only)."""
    made = [entry(selectors.CASE_READ, by=user, target=case) for case in cases]
    for item in made:
        item.at = when
    append(made)


def test_the_gate_writes_the_action_counted_as_reading_a_case_file(
    read: Any, case: Any, amina: Any, omar: Any
) -> None:
    read(amina, case)
    with pytest.raises(Http404):
        read(omar, case)
    assert AuditEntry.objects.filter(action=selectors.CASE_READ, actor=amina).count() == 1
    assert AuditEntry.objects.filter(action=selectors.CASE_REFUSED, actor=omar).count() == 1


def test_it_counts_the_case_files_each_user_read_in_30_days(
    login: Any,
    read: Any,
    register: Any,
    amina: Any,
    omar: Any,
    sam: Any,
    dana: Any,
    django_assert_max_num_queries: Any,
) -> None:
    first, second = register(amina), register(amina, given_name="Awa")
    read(amina, first, first, second)
    read(sam, first)
    with pytest.raises(Http404):
        read(omar, first)
    # Forty days ago does not count.
    _read_at(timezone.now() - datetime.timedelta(days=40), omar, first)
    client = login(dana)
    client.get("/")
    with django_assert_max_num_queries(8):
        response = client.get("/privacy/audit-log/readers/")
    lines = {line.user.username: line for line in response.context["lines"]}
    assert (lines["amina"].cases_read, lines["amina"].reads, lines["amina"].refused) == (2, 3, 0)
    assert (lines["sam"].cases_read, lines["sam"].reads) == (1, 1)
    assert (lines["omar"].cases_read, lines["omar"].refused) == (0, 1)
    assert list(lines)[0] == "amina"  # most files first
    assert AuditEntry.objects.filter(action="privacy.readers.viewed", actor=dana).exists()
    api = client.get("/api/v1/privacy/audit-log/readers").json()
    assert api[0]["username"] == "amina" and api[0]["cases_read"] == 2


def test_the_threshold_is_a_setting_with_history(login: Any, dana: Any, adam: Any) -> None:
    assert PrivacySettings.current(dana.agency_id).unusual_reads == 50
    client = login(dana)
    response = client.post(
        "/privacy/settings/",
        {"response_days": 20, "unusual_reads": 3, "unusual_reads_hours": 12},
    )
    assert response.status_code == 302
    login(adam).post(
        "/privacy/settings/",
        {"response_days": 20, "unusual_reads": 4, "unusual_reads_hours": 12},
    )
    current = PrivacySettings.current(dana.agency_id)
    assert (current.unusual_reads, current.unusual_reads_hours, current.set_by) == (4, 12, adam)
    assert PrivacySettings.objects.filter(agency_id=dana.agency_id).count() == 2
    body = client.get("/privacy/settings/").content.decode()
    assert "dana" in body and "adam" in body  # the history
    changed = AuditEntry.objects.filter(action="privacy.settings.changed").order_by("id")
    assert [entry.data["unusual_reads"] for entry in changed] == [3, 4]
    refused = client.post(
        "/privacy/settings/",
        {"response_days": 200, "unusual_reads": 3, "unusual_reads_hours": 12},
    )
    assert refused.status_code == 400


def test_one_alert_per_user_per_window(
    login: Any, read: Any, register: Any, amina: Any, sam: Any, dana: Any
) -> None:
    services.change_settings(by=dana, response_days=30, unusual_reads=3, unusual_reads_hours=24)
    cases = [register(amina, given_name=name) for name in ("Awa", "Binta", "Coumba")]
    read(amina, *cases, cases[0])
    read(sam, cases[0], cases[1])  # below the threshold
    assert services.raise_read_alerts() == 1
    alert = ReadAlert.objects.get()
    assert (alert.reader, alert.cases_read, alert.threshold) == (amina, 3, 3)
    raised = AuditEntry.objects.get(action="privacy.alert.raised")
    assert raised.agency_id == dana.agency_id
    assert raised.data == {"reader": amina.pk, "cases": 3, "threshold": 3}

    # The job runs every 15 minutes: the same window raises nothing more.
    assert services.raise_read_alerts() == 0
    assert services.raise_read_alerts(timezone.now() + 20 * HOUR) == 0
    # A day later, with new reading, a new window: a new alert.
    later = timezone.now() + 25 * HOUR
    _read_at(later - HOUR, amina, *cases)
    assert services.raise_read_alerts(later) == 1
    assert ReadAlert.objects.count() == 2


def test_the_officer_sees_and_acknowledges_the_alert(
    login: Any, read: Any, register: Any, amina: Any, dana: Any, xena: Any, olaf: Any
) -> None:
    services.change_settings(by=dana, response_days=30, unusual_reads=2, unusual_reads_hours=24)
    read(amina, register(amina), register(amina, given_name="Awa"))
    services.raise_read_alerts()
    alert = ReadAlert.objects.get()
    client = login(dana)
    body = client.get("/privacy/audit-log/").content.decode()
    assert "Unusual reading" in body and "amina read 2 different case files" in body
    # Not the other agency's business.
    assert "Unusual reading" not in login(olaf).get("/privacy/audit-log/").content.decode()
    assert login(olaf).post(f"/privacy/alerts/{alert.pk}/acknowledge/").status_code == 404
    assert client.post(f"/privacy/alerts/{alert.pk}/acknowledge/").status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == dana
    assert "Unusual reading" not in client.get("/privacy/audit-log/").content.decode()
    assert AuditEntry.objects.filter(action="privacy.alert.acknowledged", actor=dana).exists()


def test_the_alert_is_e_mailed_to_the_officer_without_naming_anyone(
    read: Any,
    register: Any,
    amina: Any,
    dana: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.EMAIL_HOST = "mail.example.org"
    services.change_settings(by=dana, response_days=30, unusual_reads=2, unusual_reads_hours=24)
    read(amina, register(amina), register(amina, given_name="Awa"))
    with django_capture_on_commit_callbacks(execute=True):
        services.raise_read_alerts()
    assert [message.to for message in mail.outbox] == [[dana.email]]
    assert "2 case files" in mail.outbox[0].body and "amina" not in mail.outbox[0].body
    assert ReadAlert.objects.get().emailed_at is not None


def test_the_check_runs_on_the_workers_schedule() -> None:
    assert "casework.privacy.tasks.check_unusual_reading" in load_registry()


def test_reading_files_through_access_packages_counts_as_reading_them(
    login: Any, receive: Any, full_case: Any, dana: Any
) -> None:
    """An officer reads case content through the packages they compile and open: each read
    counts once per case, in the per-user counts and for the alert, like opening the file."""
    services.change_settings(by=dana, response_days=30, unusual_reads=1, unusual_reads_hours=24)
    package = services.compile_package(receive("access", full_case.reference), by=dana)
    client = login(dana)
    assert client.get(f"/privacy/packages/{package.pk}/").status_code == 200
    counted = {
        line["username"]: (line["cases_read"], line["reads"])
        for line in client.get("/api/v1/privacy/audit-log/readers").json()
    }
    assert counted == {"dana": (1, 2)}  # compiled, then shown
    assert services.raise_read_alerts() == 1
    alert = ReadAlert.objects.get()
    assert (alert.reader, alert.cases_read) == (dana, 1)
