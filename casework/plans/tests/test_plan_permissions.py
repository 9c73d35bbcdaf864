"""Every plan URL and API operation against the permission matrix.

Other team's supervisor (olga), another team's caseworker (omar), the M&E officer (mei), a partner
(priya), the administrator without a case role (adam) and another agency's caseworker (xena) get
the same 404 as for a plan that does not exist, and nothing changes. The programme manager (paul)
reads plans de-identified: structure, no free text.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from casework.cases.models import Case
from casework.plans import services
from casework.plans.models import CasePlan, PlanDecision, PlanMatch
from casework.plans.tests.conftest import assess, content, participation

GOALS = [
    "Find safe housing near her sister in Bamako and move before the rainy season",
    "Return to the tailoring apprenticeship and finish the second year",
    "Open a savings account with the women's cooperative",
]


@pytest.fixture
def setting(register: Any, amina: Any) -> dict[str, Any]:
    """A submitted plan that is a near copy of another person's plan (a finding to decide)."""
    first = assess(register(amina, given_name="Mariam"), amina)
    services.create_plan(first, by=amina, content=content(goals=GOALS))
    case = assess(register(amina), amina)
    plan = services.create_plan(
        case, by=amina, content=content(goals=[GOALS[0].replace("Bamako", "Ségou"), *GOALS[1:]])
    )
    services.record_participation(plan, by=amina, details=participation())
    services.submit_plan(plan, by=amina)
    match = PlanMatch.objects.get(plan=plan)
    return {"case": case, "plan": plan, "match": match}


def _requests(setting: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    c = setting["case"].pk
    p = setting["plan"].pk
    m = setting["match"].pk
    goal = setting["plan"].goals.first()
    today = timezone.localdate().isoformat()
    plan_body = {"goals": [{"text": "x"}], "actions": []}
    base = f"/cases/{c}/plans/{p}"
    return [
        ("get", f"/cases/{c}/plans/new/", None),
        ("post", f"/cases/{c}/plans/new/", {"planned_on": today}),
        ("get", f"{base}/", None),
        ("get", f"{base}/edit/", None),
        ("post", f"{base}/edit/", {"planned_on": today}),
        ("post", f"{base}/new-version/", {}),
        ("get", f"{base}/participation/", None),
        ("post", f"{base}/participation/", {"ways": ["set_goals"]}),
        ("post", f"{base}/submit/", {}),
        ("get", f"{base}/decide/", None),
        ("post", f"{base}/decide/", {"decision": "approve"}),
        ("get", f"{base}/review/", None),
        ("post", f"{base}/review/", {"reviewed_on": today}),
        ("post", f"{base}/matches/{m}/", {"decision": "dismissed", "note": "no"}),
        ("get", f"/api/v1/plans/cases/{c}", None),
        ("post", f"/api/v1/plans/cases/{c}", plan_body),
        ("get", f"/api/v1/plans/{p}", None),
        ("put", f"/api/v1/plans/{p}", {**plan_body, "revision": 1}),
        ("post", f"/api/v1/plans/{p}/versions", {}),
        ("put", f"/api/v1/plans/{p}/participation", {"ways": ["set_goals"]}),
        ("post", f"/api/v1/plans/{p}/submit", None),
        ("post", f"/api/v1/plans/{p}/decision", {"decision": "approve"}),
        (
            "post",
            f"/api/v1/plans/{p}/reviews",
            {"goals": [{"goal_id": goal.pk if goal else 0, "progress": "achieved"}]},
        ),
        ("get", f"/api/v1/plans/{p}/check", None),
        ("post", f"/api/v1/plans/{p}/matches/{m}", {"decision": "dismissed", "note": "no"}),
    ]


QUEUES = [("get", "/approvals/", None), ("get", "/api/v1/plans/approvals", None)]


def _send(client: Any, method: str, url: str, data: dict[str, Any] | None) -> Any:
    if url.startswith("/api/"):
        if data is None:
            return getattr(client, method)(url)
        return getattr(client, method)(url, data, content_type="application/json")
    return getattr(client, method)(url, data or {})


def _snapshot(setting: dict[str, Any]) -> tuple[Any, ...]:
    plan = CasePlan.objects.get(pk=setting["plan"].pk)
    return (
        plan.status,
        plan.revision,
        CasePlan.objects.count(),
        PlanDecision.objects.count(),
        PlanMatch.objects.get(pk=setting["match"].pk).decision,
    )


@pytest.mark.parametrize("who", ["omar", "olga", "mei", "priya", "adam", "xena"])
def test_outsiders_get_404_on_every_plan_url_and_endpoint(
    request: Any, login: Any, setting: dict[str, Any], who: str
) -> None:
    user = request.getfixturevalue(who)
    client = login(user)
    before = _snapshot(setting)
    requests = _requests(setting) + ([] if who == "olga" else QUEUES)
    for method, url, data in requests:
        response = _send(client, method, url, data)
        assert response.status_code == 404, (who, method, url, response.status_code)
    assert _snapshot(setting) == before


def test_another_teams_supervisor_sees_an_empty_queue(login: Any, olga: Any, setting: Any) -> None:
    client = login(olga)
    assert client.get("/api/v1/plans/approvals").json() == []
    assert setting["case"].reference not in client.get("/approvals/").content.decode()


def test_the_caseworker_cannot_decide(login: Any, amina: Any, setting: dict[str, Any]) -> None:
    client = login(amina)
    before = _snapshot(setting)
    c, p = setting["case"].pk, setting["plan"].pk
    for method, url, data in [
        ("get", f"/cases/{c}/plans/{p}/decide/", None),
        ("post", f"/cases/{c}/plans/{p}/decide/", {"decision": "approve"}),
        ("post", f"/api/v1/plans/{p}/decision", {"decision": "approve"}),
        *QUEUES,
    ]:
        assert _send(client, method, url, data).status_code == 404, url
    assert _snapshot(setting) == before


def test_the_programme_manager_reads_plans_without_free_text(
    login: Any, paul: Any, setting: dict[str, Any]
) -> None:
    client = login(paul)
    c, p = setting["case"].pk, setting["plan"].pk
    page = client.get(f"/cases/{c}/plans/{p}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "tailoring" not in body and "Kéné" not in body
    assert "not shown to your role" in body
    data = client.get(f"/api/v1/plans/{p}").json()
    assert data["text"] is None and data["goals"][0]["text"] is None
    assert data["safety_plan"] is None and data["goals"][0]["term"] == "short"
    reads = {f"/cases/{c}/plans/{p}/", f"/api/v1/plans/cases/{c}", f"/api/v1/plans/{p}"}
    reads.add(f"/api/v1/plans/{p}/check")
    before = _snapshot(setting)
    for method, url, data in _requests(setting):
        expected = 200 if method == "get" and url in reads else 404
        assert _send(client, method, url, data).status_code == expected, url
    assert _snapshot(setting) == before


def test_the_supervisor_of_the_team_reads_everything(
    login: Any, sam: Any, setting: dict[str, Any]
) -> None:
    client = login(sam)
    plan: CasePlan = setting["plan"]
    body = client.get(f"/cases/{plan.case_id}/plans/{plan.pk}/").content.decode()
    assert "tailoring" in body
    assert client.get(f"/api/v1/plans/{plan.pk}").json()["goals"][0]["text"].startswith("Find")


def test_a_plan_of_another_case_is_not_reached_through_this_case(
    login: Any, amina: Any, setting: dict[str, Any], register: Any
) -> None:
    other: Case = register(amina, given_name="Other")
    plan = setting["plan"]
    assert login(amina).get(f"/cases/{other.pk}/plans/{plan.pk}/").status_code == 404
