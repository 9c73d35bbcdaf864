"""Supervision sessions over HTTP: recorded by a supervisor, seen by the supervisor and the
caseworkers of the session and nobody else; agreed actions become tasks; decisions encrypted."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from casework.supervision.models import AgreedAction, DiscussedCase, SupervisionSession
from casework.supervision.tests.conftest import ACTION, DECISIONS
from casework.worklist.models import Task
from casework.worklist.services import due_by_end_of

API = "/api/v1/supervision"


def _body(case: Any, amina: Any, **overrides: Any) -> dict[str, Any]:
    today = timezone.localdate()
    body: dict[str, Any] = {
        "kind": "individual",
        "held_on": today.isoformat(),
        "caseworker_ids": [amina.pk],
        "cases": [{"case_id": case.pk, "decisions": DECISIONS}],
        "actions": [
            {
                "case_id": case.pk,
                "text": ACTION,
                "assignee_id": amina.pk,
                "due_on": (today + datetime.timedelta(days=7)).isoformat(),
            }
        ],
    }
    body.update(overrides)
    return body


def test_it_records_a_session_whose_agreed_action_becomes_a_task(
    login: Any, case: Any, amina: Any, sam: Any
) -> None:
    response = login(sam).post(
        f"{API}/sessions", _body(case, amina), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["caseworkers"] == ["amina"] and answer["supervisor"] == "sam"
    assert answer["cases"][0]["decisions"] == DECISIONS
    [action] = answer["actions"]
    task = Task.objects.get(pk=action["task_id"])
    assert task.kind == Task.Kind.SUPERVISION_ACTION and task.assignee == amina
    assert task.due_at == due_by_end_of(timezone.localdate() + datetime.timedelta(days=7))
    mine = login(amina).get("/api/v1/tasks").json()["items"]
    assert [item["kind"] for item in mine if item["id"] == task.pk] == ["supervision_action"]


def test_decisions_and_actions_are_stored_encrypted(session: SupervisionSession) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT decisions FROM supervision_discussedcase WHERE session_id = %s",
            [session.pk],
        )
        [(decisions,)] = cursor.fetchall()
        cursor.execute(
            "SELECT text FROM supervision_agreedaction WHERE session_id = %s", [session.pk]
        )
        [(text,)] = cursor.fetchall()
    assert "shelter" not in decisions and "shelter" not in text
    assert DiscussedCase.objects.get(session=session).decisions == DECISIONS


def test_only_its_supervisor_and_caseworkers_see_a_session(
    login: Any, session: SupervisionSession, everyone: dict[str, Any], sue: Any
) -> None:
    people = {**everyone, "sue": sue}
    for name, user in people.items():
        client = login(user)
        page = client.get(f"/supervision/{session.pk}/")
        api = client.get(f"{API}/sessions/{session.pk}")
        if name in ("amina", "sam"):
            assert page.status_code == 200 and DECISIONS in page.content.decode(), name
            assert api.status_code == 200 and api.json()["cases"][0]["decisions"] == DECISIONS
        else:
            assert (page.status_code, api.status_code) == (404, 404), name
        listed = client.get(f"{API}/sessions")
        if name in ("amina", "sam"):
            assert [item["id"] for item in listed.json()["items"]] == [session.pk]
        elif name in ("omar", "olga", "xena", "sue"):
            assert listed.status_code == 200 and listed.json()["count"] == 0, name
        else:  # no part in supervision: programme manager, M&E, partner, administrator, DPO
            assert listed.status_code == 404, name
            assert client.get("/supervision/").status_code == 404, name


def test_a_group_session_shows_each_caseworker_only_the_cases_she_may_see(
    login: Any, register: Any, case: Any, amina: Any, bea: Any, sam: Any
) -> None:
    beas_case = register(bea, given_name="Awa", family_name="Keita")
    body = _body(
        case,
        amina,
        kind="group",
        caseworker_ids=[amina.pk, bea.pk],
        cases=[
            {"case_id": case.pk, "decisions": DECISIONS},
            {"case_id": beas_case.pk, "decisions": "Awa is referred for legal aid."},
        ],
    )
    created = login(sam).post(f"{API}/sessions", body, content_type="application/json")
    assert created.status_code == 201, created.content
    session_id = created.json()["id"]
    for_amina = login(amina).get(f"{API}/sessions/{session_id}").json()
    assert [item["case_id"] for item in for_amina["cases"]] == [case.pk]
    assert [item["case_id"] for item in for_amina["actions"]] == [case.pk]
    page = login(bea).get(f"/supervision/{session_id}/").content.decode()
    assert "Awa is referred for legal aid." in page and DECISIONS not in page
    assert case.reference not in page


def test_only_the_sessions_supervisor_adds_to_it(
    login: Any, session: SupervisionSession, case: Any, amina: Any, sue: Any
) -> None:
    action = {
        "case_id": case.pk,
        "text": "Visit the family",
        "assignee_id": amina.pk,
        "due_on": timezone.localdate().isoformat(),
    }
    for user in (amina, sue):
        client = login(user)
        url = f"{API}/sessions/{session.pk}/actions"
        assert client.post(url, action, content_type="application/json").status_code == 404
        assert client.get(f"/supervision/{session.pk}/actions/add/").status_code == 404
        assert client.get(f"/supervision/{session.pk}/cases/add/").status_code == 404
    assert AgreedAction.objects.filter(session=session).count() == 1


def test_it_refuses_caseworkers_and_cases_outside_the_supervisors_team(
    login: Any, register: Any, case: Any, amina: Any, bea: Any, omar: Any, sam: Any, olga: Any
) -> None:
    supervisor = login(sam)

    def refused(client: Any, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(f"{API}/sessions", body, content_type="application/json")
        assert response.status_code == 400, response.content
        return dict(response.json()["fields"])

    assert "caseworker_ids" in refused(supervisor, _body(case, amina, caseworker_ids=[omar.pk]))
    assert "caseworker_ids" in refused(login(olga), _body(case, amina))
    assert "caseworkers" in refused(
        supervisor, _body(case, amina, caseworker_ids=[amina.pk, bea.pk])
    )
    beas_case = register(bea, given_name="Awa", family_name="Keita")
    # A case held by someone not in the session: she would read what was decided about it.
    assert "cases" in refused(
        supervisor, _body(case, amina, cases=[{"case_id": beas_case.pk}], actions=[])
    )
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    assert "held_on" in refused(supervisor, _body(case, amina, held_on=tomorrow))
    assert (
        SupervisionSession.objects.count() == 0
        and not Task.objects.filter(kind=Task.Kind.SUPERVISION_ACTION).exists()
    )


def test_caseworkers_and_other_roles_cannot_record_a_session(
    login: Any, case: Any, everyone: dict[str, Any]
) -> None:
    body = _body(case, everyone["amina"])
    for name in ("amina", "omar", "paul", "mei", "priya", "xena", "adam", "dana"):
        client = login(everyone[name])
        assert (
            client.post(f"{API}/sessions", body, content_type="application/json").status_code == 404
        )
        assert client.get("/supervision/new/").status_code == 404
    assert SupervisionSession.objects.count() == 0


def test_the_supervisor_records_a_session_on_screen_step_by_step(
    login: Any, case: Any, amina: Any, sam: Any
) -> None:
    supervisor = login(sam)
    today = timezone.localdate()
    made = supervisor.post(
        "/supervision/new/",
        {"kind": "individual", "held_on": today.isoformat(), "caseworkers": [amina.pk]},
    )
    assert made.status_code == 302
    session = SupervisionSession.objects.get()
    assert made["Location"] == f"/supervision/{session.pk}/"
    added = supervisor.post(
        f"/supervision/{session.pk}/cases/add/", {"case": case.pk, "decisions": DECISIONS}
    )
    assert added.status_code == 302
    due = today + datetime.timedelta(days=3)
    agreed = supervisor.post(
        f"/supervision/{session.pk}/actions/add/",
        {"case": case.pk, "text": ACTION, "assignee": amina.pk, "due_on": due.isoformat()},
    )
    assert agreed.status_code == 302
    page = login(amina).get("/tasks/").content.decode()
    assert case.reference in page and "Action agreed in supervision" in page
    # An action on a case not discussed in the session is refused on the form.
    other = supervisor.post(
        f"/supervision/{session.pk}/actions/add/",
        {"case": 999999, "text": ACTION, "assignee": amina.pk, "due_on": due.isoformat()},
    )
    assert other.status_code == 400


def test_the_lists_of_sessions_take_a_bounded_number_of_queries(
    login: Any,
    register: Any,
    amina: Any,
    bea: Any,
    sam: Any,
    django_assert_max_num_queries: Any,
) -> None:
    from casework.supervision import services

    cases = [register(amina, given_name=f"Client{n}", family_name="Keita") for n in range(4)]
    for number, case in enumerate(cases):
        services.record_session(
            by=sam,
            details=services.SessionDetails(
                kind="group",
                held_on=timezone.localdate() - datetime.timedelta(days=number),
                caseworkers=[amina, bea],
                discussed=[services.DiscussionDetails(case, "Agreed.")],
            ),
        )
    client = login(amina)
    client.get("/supervision/")
    with django_assert_max_num_queries(8):
        page = client.get("/supervision/")
    assert page.status_code == 200 and page.content.decode().count("Bea") == 4
    with django_assert_max_num_queries(8):
        listed = client.get(f"{API}/sessions").json()
    assert listed["count"] == 4 and all(item["case_count"] == 1 for item in listed["items"])


def test_overlong_decisions_or_actions_are_refused_naming_the_field(
    login: Any, case: Any, amina: Any, sam: Any
) -> None:
    client = login(sam)
    long_decisions = _body(case, amina, cases=[{"case_id": case.pk, "decisions": "x" * 4001}])
    long_action = _body(case, amina)
    long_action["actions"][0]["text"] = "y" * 1001
    for body, field in ((long_decisions, "decisions"), (long_action, "actions.text")):
        response = client.post(f"{API}/sessions", body, content_type="application/json")
        assert response.status_code in (400, 422), response.content
        assert field in response.content.decode()
    assert (
        not SupervisionSession.objects.exists()
        and not Task.objects.filter(kind=Task.Kind.SUPERVISION_ACTION).exists()
    )
    exactly = _body(case, amina, cases=[{"case_id": case.pk, "decisions": "x" * 4000}])
    assert (
        client.post(f"{API}/sessions", exactly, content_type="application/json").status_code == 201
    )
