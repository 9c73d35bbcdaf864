"""Agency settings as data with history (issue 17, item 1): each app registers its own; the
agency administrator changes them on a screen or through the API; each change is a row (who,
when, old → new, why), audited; a report of a past period says which values were in force."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client

from casework.accounts import agency_settings
from casework.accounts.models import Agency, AgencySettingChange
from casework.audit.models import AuditEntry
from casework.cases import workflow
from casework.cases.models import CasePolicy, ClosureRequest, RiskPolicy, Status
from casework.indicators.models import ReportingPolicy

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_app_registers_its_own_settings() -> None:
    keys = set(agency_settings.registry())
    assert {
        "accounts.require_mfa",
        "cases.caseload_threshold",
        "cases.supervisor_caseload_threshold",
        "cases.caseload_by_programme",
        "cases.closure_approval_reasons",
        "cases.risk_follow_up",
        "retention.days",
        "indicators.min_cell",
    } <= keys


def test_the_administrator_changes_a_setting_on_the_screen_and_the_change_is_a_row(
    adam: Any, agency: Any
) -> None:
    client = _client(adam)
    page = client.get("/administration/settings/")
    assert page.status_code == 200
    assert "Reasonable caseload of a caseworker" in page.content.decode()
    response = client.post(
        "/administration/settings/cases.caseload_threshold/",
        {"value": "15", "reason": "Agreed at the March review"},
    )
    assert response.status_code == 302
    row = AgencySettingChange.objects.get(agency=agency, key="cases.caseload_threshold")
    assert (row.previous, row.value, row.set_by, row.reason) == (
        20,
        15,
        adam,
        "Agreed at the March review",
    )
    # The value the code reads every day follows, in the same transaction.
    assert CasePolicy.for_agency(agency.pk).caseload_threshold == 15
    entry = AuditEntry.objects.filter(action="accounts.setting.changed").get()
    assert entry.data == {"key": "cases.caseload_threshold", "from": 20, "to": 15}
    # The history is shown on both pages, old → new.
    listing = client.get("/administration/settings/").content.decode()
    assert "Agreed at the March review" in listing
    detail = client.get("/administration/settings/cases.caseload_threshold/").content.decode()
    assert "20 cases" in detail and "15 cases" in detail


def test_a_refused_value_says_why_and_changes_nothing(adam: Any, agency: Any) -> None:
    client = _client(adam)
    response = client.post("/administration/settings/indicators.min_cell/", {"value": "1"})
    assert response.status_code == 400
    assert "greater than or equal to 2" in response.content.decode()
    response = client.post(
        "/administration/settings/cases.caseload_by_programme/", {"value": "NOPE = 4"}
    )
    assert response.status_code == 400
    assert "Not in the list: NOPE" in response.content.decode()
    assert not AgencySettingChange.objects.exists()
    assert ReportingPolicy.min_cell_for(agency.pk) == 5


def test_setting_the_same_value_adds_no_row(adam: Any) -> None:
    agency_settings.change(by=adam, key="indicators.min_cell", value=7)
    agency_settings.change(by=adam, key="indicators.min_cell", value=7)
    assert AgencySettingChange.objects.count() == 1


@pytest.mark.parametrize("username", ["amina", "sam", "paul", "mei", "dana", "priya", "xena"])
def test_only_the_agency_administrator_reaches_the_settings(
    username: str, request: pytest.FixtureRequest, adam: Any
) -> None:
    client = _client(request.getfixturevalue(username))
    assert client.get("/administration/settings/").status_code == 404
    assert (
        client.post(
            "/administration/settings/cases.caseload_threshold/", {"value": "3"}
        ).status_code
        == 404
    )
    assert client.get("/api/v1/settings").status_code == 404
    put = client.put(
        "/api/v1/settings/cases.caseload_threshold",
        {"value": 3},
        content_type="application/json",
    )
    assert put.status_code == 404
    assert not AgencySettingChange.objects.exists()


def test_another_agencys_administrator_changes_only_their_own(
    adam: Any, agency: Any, other_agency: Any, make_user: Any
) -> None:
    olu = make_user("olu", agency=other_agency, role="none", is_administrator=True)
    agency_settings.change(by=olu, key="cases.caseload_threshold", value=9)
    assert CasePolicy.for_agency(other_agency.pk).caseload_threshold == 9
    assert CasePolicy.for_agency(agency.pk).caseload_threshold == 20
    listing = _client(adam).get("/api/v1/settings").json()
    assert {row["key"]: row["value"] for row in listing}["cases.caseload_threshold"] == 20
    assert _client(adam).get("/api/v1/settings/history").json() == []


def test_the_api_lists_changes_and_refuses_what_the_setting_refuses(adam: Any, agency: Any) -> None:
    client = _client(adam)
    ok = client.put(
        "/api/v1/settings/cases.closure_approval_reasons",
        {"value": ["death", "other"], "reason": "Only the serious ones"},
        content_type="application/json",
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["value"] == ["death", "other"]
    refused = client.put(
        "/api/v1/settings/cases.closure_approval_reasons",
        {"value": ["sunshine"]},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["fields"]["value"] == ["Not in the list: sunshine."]
    wrong_kind = client.put(
        "/api/v1/settings/accounts.require_mfa", {"value": "yes"}, content_type="application/json"
    )
    assert wrong_kind.status_code == 400
    assert (
        client.put(
            "/api/v1/settings/no.such", {"value": 1}, content_type="application/json"
        ).status_code
        == 404
    )
    history = client.get("/api/v1/settings/history?key=cases.closure_approval_reasons").json()
    assert len(history) == 1
    assert history[0]["set_by"] == "adam" and history[0]["reason"] == "Only the serious ones"
    assert history[0]["previous"] == [
        "needs_met",
        "client_request",
        "contact_lost",
        "relocated",
        "transferred",
        "death",
        "other",
    ]


def test_closure_approval_is_per_reason(adam: Any, amina: Any, sam: Any, register: Any) -> None:
    agency_settings.change(by=adam, key="cases.closure_approval_reasons", value=["death"])
    quick, waits = register(amina), register(amina, given_name="Awa")
    workflow.request_closure(quick, by=amina, reason="relocated", summary="Moved away.")
    workflow.request_closure(waits, by=amina, reason="death", summary="Passed away.")
    quick.refresh_from_db()
    waits.refresh_from_db()
    assert quick.status == Status.CLOSED
    assert waits.status != Status.CLOSED
    assert ClosureRequest.objects.get(case=waits).status == ClosureRequest.Status.PENDING


def test_caseloads_per_role_and_programme_flag_the_team_page(
    adam: Any, amina: Any, sam: Any, register: Any, programme: Any
) -> None:
    for number in range(3):
        register(amina, given_name=f"Client{number}")
    client = _client(sam)
    rows = {r["caseworker"]: r for r in client.get("/api/v1/cases/team/caseload").json()}
    assert rows["amina"]["over_threshold"] is False
    agency_settings.change(by=adam, key="cases.caseload_by_programme", value={programme.code: 2})
    rows = {r["caseworker"]: r for r in client.get("/api/v1/cases/team/caseload").json()}
    assert rows["amina"]["over_threshold"] is True
    page = client.get("/cases/team/").content.decode()
    assert f"{programme.code}: 3 of 2" in page
    # A supervisor's own cases are held to the supervisor's level.
    agency_settings.change(by=adam, key="cases.caseload_by_programme", value={})
    agency_settings.change(by=adam, key="cases.supervisor_caseload_threshold", value=1)
    register(sam, given_name="Own1")
    register(sam, given_name="Own2")
    rows = {r["caseworker"]: r for r in client.get("/api/v1/cases/team/caseload").json()}
    assert rows["sam"]["threshold"] == 1 and rows["sam"]["over_threshold"] is True
    assert rows["amina"]["threshold"] == 20 and rows["amina"]["over_threshold"] is False


def test_the_risk_policy_screen_writes_the_same_history(adam: Any, agency: Any) -> None:
    client = _client(adam)
    response = client.post(
        "/administration/settings/cases.risk_follow_up/",
        {
            "high_due_hours": 24,
            "high_target_hours": 12,
            "medium_due_hours": 120,
            "medium_target_hours": 72,
            "low_due_hours": 240,
            "low_target_hours": 240,
        },
    )
    assert response.status_code == 302
    assert RiskPolicy.objects.get(agency=agency, level="high").due_hours == 24
    # A higher risk may not wait longer than a lower one: said next to the field.
    refused = client.post(
        "/administration/settings/cases.risk_follow_up/",
        {
            "high_due_hours": 300,
            "high_target_hours": 12,
            "medium_due_hours": 120,
            "medium_target_hours": 72,
            "low_due_hours": 240,
            "low_target_hours": 240,
        },
    )
    assert refused.status_code == 400
    assert "A higher risk cannot wait longer than a lower one." in refused.content.decode()
    put = client.put(
        "/api/v1/assessments/risk-policy",
        {"medium": {"due_hours": 96, "target_hours": 48}},
        content_type="application/json",
    )
    assert put.status_code == 200
    rows = list(AgencySettingChange.objects.filter(key="cases.risk_follow_up").order_by("id"))
    assert len(rows) == 2
    previous: dict[str, Any] = rows[1].previous or {}
    assert previous["high"] == {"due_hours": 24, "target_hours": 12}
    assert rows[1].value["medium"] == {"due_hours": 96, "target_hours": 48}


def test_two_factor_and_retention_keep_their_current_columns(adam: Any, agency: Any) -> None:
    agency_settings.change(by=adam, key="accounts.require_mfa", value=False)
    agency_settings.change(by=adam, key="retention.days", value=3650)
    agency.refresh_from_db()
    assert agency.require_mfa is False and agency.retention_days == 3650
    assert agency_settings.current(agency.pk, "retention.days") == 3650


def test_the_value_in_force_at_any_moment(adam: Any, agency: Any) -> None:
    first = agency_settings.change(by=adam, key="indicators.min_cell", value=8)
    second = agency_settings.change(by=adam, key="indicators.min_cell", value=11)
    AgencySettingChange.objects.filter(pk=first.pk).update(
        set_at=datetime.datetime(2026, 4, 10, tzinfo=datetime.UTC)
    )
    AgencySettingChange.objects.filter(pk=second.pk).update(
        set_at=datetime.datetime(2026, 8, 1, tzinfo=datetime.UTC)
    )

    def on(year: int, month: int, day: int) -> Any:
        moment = datetime.datetime(year, month, day, tzinfo=datetime.UTC)
        return agency_settings.value_on(agency.pk, "indicators.min_cell", moment)

    assert on(2026, 1, 1) == 5  # before the first change: what it replaced
    assert on(2026, 5, 1) == 8
    assert on(2026, 9, 1) == 11


def test_a_report_of_a_past_period_says_which_settings_were_in_force(
    adam: Any, sam: Any, agency: Any
) -> None:
    change = agency_settings.change(by=adam, key="indicators.min_cell", value=8)
    AgencySettingChange.objects.filter(pk=change.pk).update(
        set_at=datetime.datetime(2026, 4, 10, tzinfo=datetime.UTC)
    )
    client = _client(sam)
    before = client.get("/api/v1/indicators?period=2026-Q1").json()
    after = client.get("/api/v1/indicators?period=2026-Q2").json()
    assert before["settings_in_force"]["indicators.min_cell"] == 5
    assert after["settings_in_force"]["indicators.min_cell"] == 8
    page = client.get("/indicators/?period=2026-Q1").content.decode()
    assert "Settings in force on" in page and "Smallest count published" in page


def test_the_agency_admin_screen_cannot_bypass_the_history(admin_client: Any, agency: Any) -> None:
    """Django's admin shows the two settings kept on the agency, read-only."""
    page = admin_client.get(f"/admin/accounts/agency/{agency.pk}/change/").content.decode()
    assert 'name="require_mfa"' not in page and 'name="retention_days"' not in page
    assert Agency.objects.filter(pk=agency.pk, require_mfa=False).exists()
