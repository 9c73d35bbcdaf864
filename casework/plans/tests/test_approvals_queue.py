"""The supervisor's queue: their team's submitted plans, in a bounded number of queries."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from casework.plans import services
from casework.plans.models import CasePlan
from casework.plans.tests.conftest import assess, content, participation


def _submitted_plan(register: Any, by: Any, **person: Any) -> CasePlan:
    case = assess(register(by, **person), by)
    plan = services.create_plan(case, by=by, content=content(goals=[f"Goal of {case.reference}"]))
    services.record_participation(plan, by=by, details=participation())
    services.submit_plan(plan, by=by)
    return plan


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_queue_lists_only_the_supervisors_team(
    login: Any, register: Any, amina: Any, omar: Any, sam: Any, olga: Any
) -> None:
    north = _submitted_plan(register, amina)
    south = _submitted_plan(register, omar, given_name="Salif")
    sam_page = login(sam).get("/approvals/").content.decode()
    assert north.case.reference in sam_page and south.case.reference not in sam_page
    olga_page = login(olga).get("/approvals/").content.decode()
    assert south.case.reference in olga_page and north.case.reference not in olga_page
    assert "Fatima" in sam_page  # supervisors see names


def test_the_queue_flags_plans_that_are_not_individualised(
    login: Any, register: Any, amina: Any, sam: Any
) -> None:
    first = _submitted_plan(register, amina)
    case = assess(register(amina, given_name="Mariam"), amina)
    copy = services.create_plan(
        case, by=amina, content=content(goals=[f"Goal of {first.case.reference}"])
    )
    services.record_participation(copy, by=amina, details=participation())
    services.submit_plan(copy, by=amina)
    page = login(sam).get("/approvals/").content.decode()
    assert "Same as another person" in page, page[page.find("<table") :]


def test_the_queue_costs_the_same_for_one_plan_or_many(
    login: Any, register: Any, amina: Any, sam: Any
) -> None:
    client = login(sam)
    _submitted_plan(register, amina)
    client.get("/approvals/")  # warm up: session, keys
    one = _queries(client, "/approvals/")
    for number in range(6):
        _submitted_plan(register, amina, given_name=f"Client{number}")
    many = _queries(client, "/approvals/")
    assert many == one
    assert many <= 12
    client.get("/api/v1/plans/approvals")
    assert _queries(client, "/api/v1/plans/approvals") <= 6


def test_the_case_page_section_costs_a_fixed_number_of_queries(amina: Any, register: Any) -> None:
    from casework.plans import panel

    plan = _submitted_plan(register, amina)
    case = plan.case
    with CaptureQueriesContext(connection) as captured:
        context = panel.context(case, amina, True)
    assert context["current"].pk == plan.pk
    assert len(captured) <= 3


def test_the_team_page_counts_the_plans_waiting_for_the_supervisor(
    login: Any, register: Any, amina: Any, sam: Any, olga: Any
) -> None:
    """The plans app adds this line to the case app's team page (cases knows nothing of plans)."""
    _submitted_plan(register, amina)
    _submitted_plan(register, amina)
    body = login(sam).get("/cases/team/").content.decode()
    assert "2 plans waiting for approval" in body and 'href="/approvals/"' in body
    assert "0 plans waiting for approval" in login(olga).get("/cases/team/").content.decode()
