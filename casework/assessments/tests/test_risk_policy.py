"""An agency sets its own follow-up windows per risk level (defaults: seed 003)."""

from __future__ import annotations

from typing import Any

import pytest

from casework.assessments import services
from casework.cases import deadlines
from casework.cases.deadlines import windows_for
from casework.cases.models import RiskPolicy
from casework.core.errors import FieldErrors, NotAllowed


def test_the_defaults_are_the_seeds(agency: Any) -> None:
    assert windows_for(agency.pk) == deadlines.DEFAULT_WINDOWS
    assert windows_for(agency.pk)["medium"] == deadlines.Window(120, 72)


def test_an_agency_changes_one_level(adam: Any, other_agency: Any) -> None:
    services.set_risk_policy(by=adam, windows={"medium": deadlines.Window(96, 48)})
    assert windows_for(adam.agency_id)["medium"] == deadlines.Window(96, 48)
    assert windows_for(adam.agency_id)["high"] == deadlines.Window(48, 48)
    assert windows_for(other_agency.pk)["medium"] == deadlines.Window(120, 72)


def test_unsound_windows_are_refused(adam: Any) -> None:
    with pytest.raises(FieldErrors) as refused:
        services.set_risk_policy(by=adam, windows={"high": deadlines.Window(300, 24)})
    assert "high_due_hours" in refused.value.errors
    with pytest.raises(FieldErrors):
        services.set_risk_policy(by=adam, windows={"low": deadlines.Window(10, 20)})
    assert not RiskPolicy.objects.exists()


def test_only_the_administrator_sets_them(sam: Any) -> None:
    with pytest.raises(NotAllowed):
        services.set_risk_policy(by=sam, windows={"high": deadlines.Window(24, 24)})


def test_the_settings_page_and_the_api(login: Any, adam: Any, amina: Any) -> None:
    client = login(adam)
    data = {
        "high_target_hours": 24,
        "high_due_hours": 36,
        "medium_target_hours": 72,
        "medium_due_hours": 120,
        "low_target_hours": 240,
        "low_due_hours": 240,
    }
    assert client.post("/settings/risk-follow-up/", data).status_code == 302
    assert windows_for(adam.agency_id)["high"] == deadlines.Window(36, 24)
    refused = client.post("/settings/risk-follow-up/", data | {"high_due_hours": 500})
    assert refused.status_code == 400
    assert "A higher risk cannot wait longer" in refused.content.decode()

    changed = client.put(
        "/api/v1/assessments/risk-policy",
        {"low": {"due_hours": 200, "target_hours": 168}},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert {"level": "low", "due_hours": 200, "target_hours": 168} in changed.json()
    # Caseworkers read the windows (the assessment form explains them) but cannot change them.
    assert login(amina).get("/api/v1/assessments/risk-policy").status_code == 200
    assert (
        login(amina)
        .put("/api/v1/assessments/risk-policy", {}, content_type="application/json")
        .status_code
        == 404
    )
