"""The team page flags the team's high-risk cases not discussed in supervision for the agency's
number of days (an agency setting), and the caseworkers above a reasonable caseload."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from casework.accounts import agency_settings
from casework.supervision import services


def _line(page: Any) -> dict[str, Any]:
    [line] = [line for line in page.context["lines"] if line["name"] == "supervision"]
    return line


def test_it_flags_high_risk_cases_not_discussed_for_the_agencys_days(
    login: Any, register: Any, amina: Any, sam: Any, adam: Any
) -> None:
    high = register(amina, risk_level="high")
    register(amina, given_name="Awa", family_name="Keita", risk_level="low")
    supervisor = login(sam)
    page = supervisor.get("/cases/team/")
    assert _line(page)["unsupervised"] == [high] and _line(page)["days"] == 30
    assert high.reference in page.content.decode()
    services.record_session(
        by=sam,
        details=services.SessionDetails(
            kind="individual",
            held_on=timezone.localdate() - datetime.timedelta(days=10),
            caseworkers=[amina],
            discussed=[services.DiscussionDetails(high, "Keep weekly visits.")],
        ),
    )
    assert _line(supervisor.get("/cases/team/"))["unsupervised_count"] == 0
    # The agency asks for supervision every 7 days: ten days ago is too long.
    agency_settings.change(by=adam, key="supervision.high_risk_days", value=7)
    page = supervisor.get("/cases/team/")
    assert _line(page)["unsupervised"] == [high] and _line(page)["days"] == 7


def test_it_flags_caseworkers_over_the_reasonable_caseload(
    login: Any, register: Any, amina: Any, sam: Any, adam: Any
) -> None:
    register(amina)
    register(amina, given_name="Awa", family_name="Keita")
    supervisor = login(sam)
    assert supervisor.get("/cases/team/").context["over_caseload"] == []
    agency_settings.change(by=adam, key="cases.caseload_threshold", value=1)
    page = supervisor.get("/cases/team/")
    [row] = page.context["over_caseload"]
    assert row.caseworker == amina and row.total == 2
    assert "1 caseworker over the reasonable caseload" in page.content.decode()


def test_more_flagged_cases_than_are_named_are_counted_not_loaded(
    register: Any, amina: Any, sam: Any, monkeypatch: Any
) -> None:
    from casework.supervision import panel, selectors

    high = [register(amina, given_name=f"High{n}", risk_level="high") for n in range(3)]
    monkeypatch.setattr(selectors, "NAMED_ON_TEAM_PAGE", 2)
    line = panel.team_line(sam)
    assert line["unsupervised_count"] == 3
    assert line["unsupervised"] == high[:2]
    monkeypatch.setattr(selectors, "NAMED_ON_TEAM_PAGE", 3)
    assert panel.team_line(sam)["unsupervised"] == high
