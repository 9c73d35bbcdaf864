"""Who is still to be surveyed this data-collection period (seed 000: "survey all survivors in the
project's case management during each data collection period"), over the API and the screen, and
the "survey this client" tasks it opens.

Who counts follows the interchange contract's PARTICIPATION indicator: a case-management case
registered by the period's end and not closed before its start; a survey dated inside the period,
on any of the person's cases, takes the person off the list.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from casework.cases.models import Case, ClosureReason, ServiceType
from casework.core.periods import Period, current_quarter, last_complete_quarter
from casework.feedback.tests.conftest import another_case_of
from casework.worklist.models import Task

API = "/api/v1/feedback/still-to-survey"
SCREEN = "/surveys/still-to-survey/"


def _listed(client: Client, **query: str) -> list[str]:
    response = client.get(API, query)
    assert response.status_code == 200, response.content
    return [line["reference"] for line in response.json()["items"]]


def _survey(client: Client, case: Case, day: datetime.date) -> None:
    body = {"q1_aware": False, "surveyed_on": day.isoformat()}
    response = client.post(
        f"/api/v1/feedback/cases/{case.pk}/surveys", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content


def _dated(case: Case, **dates: Any) -> Case:
    Case.objects.filter(pk=case.pk).update(**dates)
    case.refresh_from_db()
    return case


@pytest.fixture
def past() -> Period:
    """The quarter before this one: its edges can all be set without a date in the future."""
    return last_complete_quarter(timezone.localdate())


# --- who is on the list --------------------------------------------------------------------------


def test_a_caseworkers_new_case_is_on_her_list_until_the_client_is_surveyed(
    login: Any, amina: Any, case: Case
) -> None:
    client = login(amina)
    answer = client.get(API).json()
    this_quarter = current_quarter(timezone.localdate())
    assert answer["period"] == {
        "period": str(this_quarter),
        "start": this_quarter.start.isoformat(),
        "end": this_quarter.end.isoformat(),
    }
    assert [line["reference"] for line in answer["items"]] == [case.reference]
    assert answer["items"][0]["last_surveyed_on"] is None
    _survey(client, case, timezone.localdate())
    assert _listed(client) == []


def test_a_survey_on_another_case_of_the_same_person_takes_both_off(
    login: Any, register: Any, amina: Any, case: Case
) -> None:
    second = another_case_of(case, by=amina)
    other_person = register(amina, given_name="Awa")
    client = login(amina)
    expected = {case.reference, second.reference, other_person.reference}
    assert set(_listed(client)) == expected
    _survey(client, case, timezone.localdate())
    assert _listed(client) == [other_person.reference]


def test_the_period_edges(login: Any, register: Any, amina: Any, past: Period) -> None:
    """Registered on the last day: in. The day after: out. Closed on the first day: in. The day
    before: out. A survey on the first or the last day takes the client off; the day before the
    period does not (and is shown as the last survey)."""
    day = datetime.timedelta(days=1)
    client = login(amina)
    early = past.start - datetime.timedelta(days=30)

    def made(name: str, **dates: Any) -> Case:
        return _dated(register(amina, given_name=name), **dates)

    registered_last_day = made("Ana", registered_on=past.end)
    registered_after = made("Bea", registered_on=past.end + day)
    closed_first_day = made("Cira", registered_on=early, closed_on=past.start, status="closed")
    closed_before = made("Dora", registered_on=early, closed_on=past.start - day, status="closed")
    surveyed_first_day = made("Eve", registered_on=early)
    surveyed_last_day = made("Fay", registered_on=early)
    surveyed_before = made("Gia", registered_on=early)
    _survey(client, surveyed_first_day, past.start)
    _survey(client, surveyed_last_day, past.end)
    _survey(client, surveyed_before, past.start - day)

    answer = client.get(API, {"period": str(past)}).json()
    listed = {line["reference"]: line for line in answer["items"]}
    assert set(listed) == {
        registered_last_day.reference,
        closed_first_day.reference,
        surveyed_before.reference,
    }
    assert listed[surveyed_before.reference]["last_surveyed_on"] == (past.start - day).isoformat()
    assert registered_after.reference not in listed and closed_before.reference not in listed
    # The same period written as two dates gives the same list.
    as_dates = f"{past.start.isoformat()}..{past.end.isoformat()}"
    assert set(_listed(client, period=as_dates)) == set(listed)


def test_one_shot_services_and_clients_who_died_are_not_listed(
    login: Any, register: Any, amina: Any, case: Case
) -> None:
    referral_only = register(amina, given_name="Ina", service_type=ServiceType.REFERRAL_ONLY)
    died = _dated(
        register(amina, given_name="Jo"),
        closed_on=timezone.localdate(),
        closure_reason=ClosureReason.DEATH,
        status="closed",
    )
    listed = _listed(login(amina))
    assert listed == [case.reference]
    assert referral_only.reference not in listed and died.reference not in listed


def test_a_supervisor_sees_her_team_and_a_caseworker_only_her_own(
    login: Any, register: Any, amina: Any, sam: Any, omar: Any, olga: Any, case: Case
) -> None:
    south_case = register(omar, given_name="Lina")
    assert _listed(login(sam), scope="team") == [case.reference]
    assert _listed(login(sam)) == []  # sam holds no case herself
    assert _listed(login(omar), scope="team") == [south_case.reference]  # no team view: his own
    assert _listed(login(olga), scope="team") == [south_case.reference]
    team = login(sam).get(API, {"scope": "team"}).json()
    assert team["scope"] == "team" and team["items"][0]["caseworker"] == amina.username


@pytest.mark.parametrize("name", ["paul", "mei", "priya", "adam", "dana"])
def test_roles_that_do_not_survey_get_404(login: Any, case: Case, name: str, request: Any) -> None:
    client = login(request.getfixturevalue(name))
    assert client.get(API).status_code == 404
    assert client.post(f"{API}/tasks").status_code == 404
    assert client.get(SCREEN).status_code == 404
    assert client.post(SCREEN).status_code == 404
    assert not Task.objects.filter(kind=Task.Kind.SURVEY_DUE).exists()


def test_an_unreadable_period_is_refused_naming_the_field(login: Any, amina: Any) -> None:
    client = login(amina)
    refused = client.get(API, {"period": "last spring"})
    assert refused.status_code == 400 and refused.json()["field"] == "period"
    assert client.get(SCREEN, {"period": "last spring"}).status_code == 400


def test_the_list_reads_in_a_bounded_number_of_queries(
    login: Any, register: Any, amina: Any, django_assert_max_num_queries: Any
) -> None:
    for number in range(6):
        register(amina, given_name=f"Client{number}")
    client = login(amina)
    client.get(API)  # the session and the user are cached after the first request
    with django_assert_max_num_queries(12):
        assert len(client.get(API).json()["items"]) == 6
    with django_assert_max_num_queries(14):
        assert client.get(SCREEN).status_code == 200


# --- the task option -----------------------------------------------------------------------------


def _survey_tasks(case: Case) -> list[Task]:
    return list(Task.objects.filter(case=case, kind=Task.Kind.SURVEY_DUE))


def test_the_task_button_opens_one_task_per_client_and_not_twice(
    login: Any, register: Any, amina: Any, case: Case
) -> None:
    other = register(amina, given_name="Awa")
    client = login(amina)
    first = client.post(f"{API}/tasks")
    assert first.status_code == 200 and (first.json()["opened"], first.json()["already_open"]) == (
        2,
        0,
    )
    again = client.post(f"{API}/tasks")
    assert (again.json()["opened"], again.json()["already_open"]) == (0, 2)
    for each in (case, other):
        tasks = _survey_tasks(each)
        assert len(tasks) == 1 and tasks[0].is_open
        quarter_end = current_quarter(timezone.localdate()).end
        assert timezone.localdate(tasks[0].due_at) == quarter_end
    assert all(line["survey_task_open"] for line in client.get(API).json()["items"])
    # The task is in her worklist, named by its kind.
    assert "Participation survey due this period" in client.get("/tasks/").content.decode()


def test_recording_the_survey_closes_the_task(login: Any, amina: Any, case: Case) -> None:
    client = login(amina)
    client.post(f"{API}/tasks")
    _survey(client, case, timezone.localdate())
    (task,) = _survey_tasks(case)
    assert task.status == Task.Status.DONE and task.closed_by == amina
    assert client.post(f"{API}/tasks").json()["opened"] == 0  # surveyed: no longer listed


def test_a_survey_dated_in_another_period_leaves_this_periods_task_open(
    login: Any, amina: Any, case: Case, past: Period
) -> None:
    client = login(amina)
    _dated(case, registered_on=past.start)
    client.post(f"{API}/tasks")
    _survey(client, case, past.end)
    (task,) = _survey_tasks(case)
    assert task.is_open


def test_no_tasks_for_a_period_that_has_ended(
    login: Any, amina: Any, case: Case, past: Period
) -> None:
    _dated(case, registered_on=past.start)
    refused = login(amina).post(f"{API}/tasks?period={past}")
    assert refused.status_code == 400 and refused.json()["code"] == "period_ended"
    assert not _survey_tasks(case)


def test_a_supervisor_opens_tasks_for_her_team_in_the_holders_worklist(
    login: Any, amina: Any, sam: Any, case: Case
) -> None:
    opened = login(sam).post(f"{API}/tasks?scope=team").json()
    assert opened["opened"] == 1 and opened["scope"] == "team"
    (task,) = _survey_tasks(case)
    assert task.assignee is None  # whoever holds the case: amina
    assert Task.objects.for_user(amina).filter(pk=task.pk).exists()


# --- the screen ----------------------------------------------------------------------------------


def test_the_screen_lists_the_clients_and_its_button_opens_the_tasks_once(
    login: Any, register: Any, amina: Any, case: Case
) -> None:
    client = login(amina)
    page = client.get(SCREEN)
    assert page.status_code == 200
    assert case.reference in page.content.decode()
    assert "Add a “survey this client” task for each" in page.content.decode()
    posted = client.post(SCREEN, {"period": "", "scope": "mine"}, follow=True)
    assert posted.redirect_chain and "1 survey task opened." in posted.content.decode()
    again = client.post(SCREEN, {"period": "", "scope": "mine"}, follow=True)
    assert "0 survey tasks opened. 1 was already open." in again.content.decode()
    assert len(_survey_tasks(case)) == 1


def test_the_screen_and_the_api_list_the_same_clients(
    login: Any, register: Any, amina: Any, sam: Any, case: Case
) -> None:
    register(amina, given_name="Awa")
    for user, scope in ((amina, "mine"), (sam, "team")):
        client = login(user)
        page = client.get(SCREEN, {"scope": scope}).content.decode()
        listed = _listed(client, scope=scope)
        assert listed and all(reference in page for reference in listed)


def test_the_menu_offers_the_list_to_those_who_survey(login: Any, amina: Any, mei: Any) -> None:
    for user, offered in ((amina, True), (mei, False)):
        page = login(user).get("/", follow=True)
        assert page.status_code == 200
        assert (f'href="{SCREEN}"' in page.content.decode()) is offered


def test_a_survey_closes_the_tasks_of_the_persons_other_cases_in_the_systems_name(
    login: Any, amina: Any, omar: Any, case: Case
) -> None:
    """The person also has a case in omar's team: the survey amina records takes the person off
    omar's list too, but his task is closed by the system, not in the name of amina, who cannot
    see his case."""
    theirs = another_case_of(case, by=omar)
    login(omar).post(f"{API}/tasks")
    client = login(amina)
    client.post(f"{API}/tasks")
    _survey(client, case, timezone.localdate())
    (mine,) = _survey_tasks(case)
    (his,) = _survey_tasks(theirs)
    assert (mine.status, mine.closed_by) == (Task.Status.DONE, amina)
    assert (his.status, his.closed_by) == (Task.Status.DONE, None)


def test_the_task_button_costs_the_same_statements_for_two_clients_or_eight(
    login: Any, register: Any, amina: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(amina)
    client.get(API)
    counts = []
    for clients in (2, 8):
        Task.objects.filter(kind=Task.Kind.SURVEY_DUE).delete()
        while Case.objects.filter(caseworker=amina).count() < clients:
            register(amina, given_name=f"Client{Case.objects.count()}")
        with CaptureQueriesContext(connection) as queries:
            assert client.post(f"{API}/tasks").json()["opened"] == clients
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
