"""The audit-log screen and its API: the agency's entries only, filtered by user, case reference,
action, dates and outcome, denied entries marked in words, exported as formula-safe CSV, paged by
entry with a bounded number of queries; reading and exporting it are audited."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone

from casework.audit.log import record
from casework.audit.models import AuditEntry
from casework.privacy import selectors

LOG = "/privacy/audit-log/"


def _rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_officer_reads_the_agencys_entries_and_not_another_agencys(
    login: Any, read: Any, case: Any, amina: Any, xena: Any, register: Any, dana: Any, olaf: Any
) -> None:
    read(amina, case)
    theirs = register(xena, given_name="Zoe")
    read(xena, theirs)
    body = login(dana).get(LOG).content.decode()
    assert "amina" in body and "cases.case.viewed" in body
    assert "xena" not in body
    # Cases are named by their id: neither the reference nor anything about the person shows.
    assert f"#{case.pk}" in body
    assert case.reference not in body and "Fatima" not in body and "Traoré" not in body
    # The other agency's officer sees theirs, and none of ours, even asking by our reference.
    other = login(olaf).get(LOG, {"case": case.reference}).content.decode()
    assert "amina" not in other and "No case of your agency has this reference." in other
    assert "xena" in login(olaf).get(LOG).content.decode()


def test_it_filters_by_user_case_action_outcome_and_dates(
    login: Any, read: Any, register: Any, amina: Any, omar: Any, dana: Any
) -> None:
    first = register(amina)
    second = register(omar, given_name="Awa")
    read(amina, first)
    read(omar, second)
    with pytest.raises(Http404):
        read(omar, first)  # refused: a denied entry
    client = login(dana)

    by_user = client.get(LOG, {"user": omar.pk, "action": "cases.case"})
    assert {entry.actor for entry in by_user.context["page"].entries} == {omar}

    by_case = client.get(LOG, {"case": first.reference}).content.decode()
    assert f"#{first.pk}" in by_case and f"#{second.pk}" not in by_case
    assert first.reference in by_case  # the reference the officer typed, and nothing more

    denied = client.get(LOG, {"outcome": "denied", "action": "cases.case"}).content.decode()
    assert "cases.case.denied" in denied and "cases.case.viewed" not in denied
    assert "⚠ DENIED" in denied  # in words, not only in colour

    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    later = client.get(LOG, {"since": tomorrow.isoformat(), "action": "cases"}).content.decode()
    assert "No entries." in later
    today = timezone.localdate().isoformat()
    now = client.get(LOG, {"since": today, "until": today, "action": "cases"}).content.decode()
    assert "cases.case.viewed" in now


def test_reading_the_log_is_audited_with_its_filter(
    login: Any, case: Any, dana: Any, amina: Any
) -> None:
    login(dana).get(LOG, {"case": case.reference, "outcome": "denied", "user": amina.pk})
    entry = AuditEntry.objects.filter(action="privacy.audit_log.viewed").get()
    assert entry.actor == dana and entry.case_id == case.pk
    assert entry.data == {"actor": amina.pk, "case": case.pk, "outcome": "denied"}


def test_a_bad_action_code_is_refused_not_searched(login: Any, dana: Any) -> None:
    body = login(dana).get(LOG, {"action": "=cmd|' /C calc'!A0"}).content.decode()
    assert "An action code" in body
    assert AuditEntry.objects.get(action="privacy.audit_log.viewed").data == {}


def test_the_export_is_the_filtered_log_formula_safe_and_audited(
    login: Any, make_user: Any, agency: Any, read: Any, case: Any, amina: Any, dana: Any
) -> None:
    # A user name a spreadsheet would run as a formula (Django allows + - @ in user names).
    plotter = make_user("+cmd", agency=agency, role="caseworker")
    record("cases.case.viewed", by=plotter, case_id=case.pk)
    read(amina, case)
    response = login(dana).get(f"{LOG}export.csv", {"action": "cases.case.viewed"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _rows(response)
    assert [row["user"] for row in rows] == ["amina", "'+cmd"]
    assert all(row["action"] == "cases.case.viewed" for row in rows)
    assert rows[0]["case_id"] == str(case.pk) and rows[0]["outcome"] == "ok"
    assert case.reference not in response.content.decode()
    exported = AuditEntry.objects.get(action="privacy.audit_log.exported")
    assert exported.data == {"action": "cases.case.viewed", "rows": 2}


def test_pages_go_back_by_entry_with_a_bounded_number_of_queries(
    login: Any, amina: Any, omar: Any, sam: Any, dana: Any, django_assert_max_num_queries: Any
) -> None:
    for number in range(selectors.PAGE_SIZE + 30):
        record("test.entry", by=(amina, omar, sam)[number % 3], data={"n": number})
    client = login(dana)
    client.get(LOG)  # the session's first request loads what later ones reuse
    with django_assert_max_num_queries(10):
        first = client.get(LOG, {"action": "test"})
    body = first.content.decode()
    assert body.count("<code>test.entry</code>") == selectors.PAGE_SIZE
    assert "<code>n=129</code>" in body and "<code>n=29</code>" not in body
    older = first.context["next_query"]
    assert "before=" in older
    with django_assert_max_num_queries(10):
        second = client.get(f"{LOG}?{older}").content.decode()
    assert second.count("<code>test.entry</code>") == 30 and "<code>n=29</code>" in second
    with django_assert_max_num_queries(10):
        client.get(f"{LOG}export.csv", {"action": "test"})


def test_the_administrator_reads_the_log_but_handles_no_requests(
    login: Any, adam: Any, dana: Any
) -> None:
    client = login(adam)
    assert client.get(LOG).status_code == 200
    assert client.get("/privacy/requests/").status_code == 404
    assert client.get("/api/v1/privacy/requests").status_code == 404
    assert 'href="/privacy/audit-log/"' in client.get("/").content.decode()
    home = login(dana).get("/").content.decode()
    assert 'href="/privacy/audit-log/"' in home and 'href="/privacy/requests/"' in home


@pytest.mark.parametrize(
    "path",
    [
        LOG,
        f"{LOG}export.csv",
        f"{LOG}readers/",
        "/privacy/settings/",
        "/privacy/requests/",
        "/privacy/requests/new/",
        "/privacy/reviews/",
        "/api/v1/privacy/audit-log",
        "/api/v1/privacy/audit-log/readers",
        "/api/v1/privacy/requests",
    ],
)
def test_anyone_else_gets_404(
    path: Any, login: Any, amina: Any, xena: Any, priya: Any, mei: Any, paul: Any
) -> None:
    for user in (amina, xena, priya, mei, paul):
        assert login(user).get(path).status_code == 404, (user.username, path)
    assert AuditEntry.objects.filter(action="access.denied", actor=amina).exists()


def test_the_api_gives_the_same_log(
    login: Any, read: Any, case: Any, amina: Any, dana: Any
) -> None:
    read(amina, case)
    client = login(dana)
    page = client.get(
        "/api/v1/privacy/audit-log", {"case": case.reference, "action": "cases.case.v"}
    ).json()
    assert [item["action"] for item in page["items"]] == ["cases.case.viewed"]
    assert page["items"][0]["user"] == "amina" and page["items"][0]["case_id"] == case.pk
    assert page["next_before"] is None
    assert AuditEntry.objects.filter(action="privacy.audit_log.viewed", case_id=case.pk).exists()
    refused = client.get("/api/v1/privacy/audit-log", {"action": "=1+1"})
    assert refused.status_code == 400 and "action" in refused.json()["fields"]
