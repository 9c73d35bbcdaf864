"""The participation survey and the exit interview over the API (/api/v1/feedback), as a
caseworker's app or a data-collection tool would send them.

Every path of seed 000's Q1 → Q2 → Q3 is accepted or refused exactly as on the survey screen
(casework/feedback/tests/test_survey_branching.py walks the screen): the screen and the API call
one service, and `test_the_screen_and_the_api_give_the_same_answer` sends the same answers to both.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from casework.cases.models import Case
from casework.feedback.models import ExitInterview, ParticipationSurvey

API = "/api/v1/feedback"


def _surveys(case: Case) -> str:
    return f"{API}/cases/{case.pk}/surveys"


def _send(client: Client, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(path, body, content_type="application/json", headers=headers)


def _refusal(response: Any, field: str, message: str) -> None:
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["code"] == "invalid_fields"
    assert answer["fields"][field] == [message]


# --- the three paths that end a survey -------------------------------------------------------


def test_it_records_q1_no_and_stops_there(login: Any, amina: Any, case: Case) -> None:
    response = _send(login(amina), _surveys(case), {"q1_aware": False})
    assert response.status_code == 201
    body = response.json()
    assert (body["q1_aware"], body["q2_involved"], body["q3_ways"]) == (False, None, [])
    assert body["surveyed_on"] == timezone.localdate().isoformat()
    assert body["surveyed_by"] == amina.username and body["by_own_caseworker"] is True
    survey = ParticipationSurvey.objects.get(case=case)
    assert (survey.q1_aware, survey.q2_involved, survey.q3_ways) == (False, None, [])


def test_it_records_q1_yes_q2_no_and_stops_before_q3(login: Any, amina: Any, case: Case) -> None:
    response = _send(login(amina), _surveys(case), {"q1_aware": True, "q2_involved": False})
    assert response.status_code == 201
    survey = ParticipationSurvey.objects.get(case=case)
    assert (survey.q1_aware, survey.q2_involved, survey.q3_ways) == (True, False, [])


@pytest.mark.parametrize(
    "ways", [["expressed_needs"], ["chose_services", "set_goals", "agreed_plan"], ["other"]]
)
def test_it_records_q1_yes_q2_yes_and_how_in_q3(
    login: Any, sam: Any, case: Case, ways: list[str]
) -> None:
    body = {"q1_aware": True, "q2_involved": True, "q3_ways": ways, "surveyed_on": None}
    response = _send(login(sam), _surveys(case), body)
    assert response.status_code == 201
    assert sorted(response.json()["q3_ways"]) == sorted(ways)
    assert response.json()["by_own_caseworker"] is False  # her supervisor asked, not amina
    assert sorted(ParticipationSurvey.objects.get(case=case).q3_ways) == sorted(ways)


# --- answers the path does not reach, and paths that stop too early ----------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"q1_aware": False, "q2_involved": True},
            "q2_involved",
            "Q2 is not asked when the client is not aware of a plan.",
        ),
        (
            {"q1_aware": False, "q2_involved": False},
            "q2_involved",
            "Q2 is not asked when the client is not aware of a plan.",
        ),
        (
            {"q1_aware": False, "q3_ways": ["set_goals"]},
            "q3_ways",
            "Q3 is not asked when the client is not aware of a plan.",
        ),
        ({"q1_aware": True}, "q2_involved", "Answer Q2: the client is aware of a plan."),
        (
            {"q1_aware": True, "q2_involved": None, "q3_ways": ["other"]},
            "q2_involved",
            "Answer Q2: the client is aware of a plan.",
        ),
        (
            {"q1_aware": True, "q2_involved": False, "q3_ways": ["other"]},
            "q3_ways",
            "Q3 is not asked when the client did not feel involved.",
        ),
        (
            {"q1_aware": True, "q2_involved": True},
            "q3_ways",
            "Answer Q3: how was the client involved?",
        ),
        (
            {"q1_aware": True, "q2_involved": True, "q3_ways": []},
            "q3_ways",
            "Answer Q3: how was the client involved?",
        ),
    ],
)
def test_it_refuses_a_path_the_survey_does_not_take_and_saves_nothing(
    login: Any, amina: Any, case: Case, body: dict[str, Any], field: str, message: str
) -> None:
    _refusal(_send(login(amina), _surveys(case), body), field, message)
    assert not ParticipationSurvey.objects.filter(case=case).exists()


def test_it_refuses_a_survey_without_q1_or_with_an_unknown_way(
    login: Any, amina: Any, case: Case
) -> None:
    client = login(amina)
    missing = _send(client, _surveys(case), {"q2_involved": True, "q3_ways": ["other"]})
    assert missing.status_code == 422 and "q1_aware" in missing.json()["fields"]
    unknown = {"q1_aware": True, "q2_involved": True, "q3_ways": ["bribed"]}
    refused = _send(client, _surveys(case), unknown)
    assert refused.status_code == 422
    assert any(name.startswith("q3_ways") for name in refused.json()["fields"])
    assert not ParticipationSurvey.objects.filter(case=case).exists()


def test_it_refuses_a_date_in_the_future_naming_it(login: Any, amina: Any, case: Case) -> None:
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    body = {"q1_aware": False, "surveyed_on": tomorrow.isoformat()}
    _refusal(
        _send(login(amina), _surveys(case), body),
        "surveyed_on",
        "The date cannot be in the future.",
    )


# --- one set of rules: the screen and the API agree ---------------------------------------------

PATHS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    # (API body, the same answers as the screen posts them)
    ({"q1_aware": False}, {"q1_aware": "no", "q2_involved": ""}),
    ({"q1_aware": False, "q2_involved": True}, {"q1_aware": "no", "q2_involved": "yes"}),
    (
        {"q1_aware": False, "q3_ways": ["set_goals"]},
        {"q1_aware": "no", "q2_involved": "", "q3_ways": ["set_goals"]},
    ),
    ({"q1_aware": True}, {"q1_aware": "yes", "q2_involved": ""}),
    ({"q1_aware": True, "q2_involved": False}, {"q1_aware": "yes", "q2_involved": "no"}),
    (
        {"q1_aware": True, "q2_involved": False, "q3_ways": ["other"]},
        {"q1_aware": "yes", "q2_involved": "no", "q3_ways": ["other"]},
    ),
    ({"q1_aware": True, "q2_involved": True}, {"q1_aware": "yes", "q2_involved": "yes"}),
    (
        {"q1_aware": True, "q2_involved": True, "q3_ways": ["agreed_plan", "declined_services"]},
        {"q1_aware": "yes", "q2_involved": "yes", "q3_ways": ["agreed_plan", "declined_services"]},
    ),
]


@pytest.mark.parametrize(("body", "form"), PATHS)
def test_the_screen_and_the_api_give_the_same_answer(
    login: Any, register: Any, amina: Any, body: dict[str, Any], form: dict[str, Any]
) -> None:
    client = login(amina)
    on_screen, by_api = register(amina), register(amina, given_name="Awa")
    day = timezone.localdate().isoformat()
    screen = client.post(
        f"/cases/{on_screen.pk}/surveys/participation/", {"surveyed_on": day, **form}
    )
    api = _send(client, _surveys(by_api), {"surveyed_on": day, **body})
    saved = {
        case.pk: [
            (s.q1_aware, s.q2_involved, sorted(s.q3_ways))
            for s in ParticipationSurvey.objects.filter(case=case)
        ]
        for case in (on_screen, by_api)
    }
    assert (screen.status_code == 302) == (api.status_code == 201)
    assert saved[on_screen.pk] == saved[by_api.pk]
    if api.status_code != 201:
        assert screen.status_code == 400
        for messages in api.json()["fields"].values():
            for message in messages:
                assert message in screen.content.decode()


# --- who may record and read --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["omar", "olga", "xena", "mei", "priya", "adam", "dana"])
def test_outsiders_get_404_and_nothing_is_recorded(
    login: Any, case: Case, name: str, request: Any
) -> None:
    client = login(request.getfixturevalue(name))
    survey = {"q1_aware": True, "q2_involved": True, "q3_ways": ["set_goals"]}
    interview = {"overall": 4, "needs_met": "yes"}
    for path in (_surveys(case), f"{API}/cases/{case.pk}/exit-interviews"):
        assert client.get(path).status_code == 404
    assert _send(client, _surveys(case), survey).status_code == 404
    assert _send(client, f"{API}/cases/{case.pk}/exit-interviews", interview).status_code == 404
    assert _send(client, f"{API}/cases/999999/surveys", survey).status_code == 404
    assert not ParticipationSurvey.objects.exists() and not ExitInterview.objects.exists()


def test_the_programme_manager_reads_the_surveys_but_cannot_record_one(
    login: Any, amina: Any, paul: Any, case: Case
) -> None:
    _send(login(amina), _surveys(case), {"q1_aware": True, "q2_involved": False})
    manager = login(paul)
    listed = manager.get(_surveys(case))
    assert listed.status_code == 200 and [s["q2_involved"] for s in listed.json()] == [False]
    assert _send(manager, _surveys(case), {"q1_aware": False}).status_code == 404
    assert ParticipationSurvey.objects.filter(case=case).count() == 1


def test_the_gate_answers_before_the_precondition_and_the_body_after(
    login: Any, amina: Any, omar: Any, case: Case
) -> None:
    stale = {"If-Match": '"999999"'}
    assert _send(login(omar), _surveys(case), {}, **stale).status_code == 404
    client = login(amina)
    assert _send(client, _surveys(case), {}, **stale).status_code == 412
    assert _send(client, _surveys(case), {"q1_aware": False}, **stale).status_code == 412
    assert _send(client, _surveys(case), {}).status_code == 422
    tag = client.get(f"/api/v1/cases/{case.pk}")["ETag"]
    assert (
        _send(client, _surveys(case), {"q1_aware": False}, **{"If-Match": tag}).status_code == 201
    )
    assert ParticipationSurvey.objects.filter(case=case).count() == 1


def test_it_lists_a_cases_surveys_newest_first(login: Any, amina: Any, case: Case) -> None:
    client = login(amina)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Case.objects.filter(pk=case.pk).update(registered_on=yesterday)
    _send(client, _surveys(case), {"q1_aware": False, "surveyed_on": yesterday.isoformat()})
    _send(client, _surveys(case), {"q1_aware": True, "q2_involved": False})
    listed = client.get(_surveys(case)).json()
    assert [s["q1_aware"] for s in listed] == [True, False]
    assert listed[1]["surveyed_on"] == yesterday.isoformat()


# --- the exit interview -------------------------------------------------------------------------


def test_it_records_an_exit_interview_and_shows_comments_only_to_those_who_read_free_text(
    login: Any, amina: Any, paul: Any, case: Case
) -> None:
    path = f"{API}/cases/{case.pk}/exit-interviews"
    body = {"overall": 5, "needs_met": "partly", "felt_safe": True, "comments": "More visits."}
    response = _send(login(amina), path, body)
    assert response.status_code == 201
    assert response.json()["comments"] == "More visits." and response.json()["felt_safe"] is True
    interview = ExitInterview.objects.get(case=case)
    assert (interview.overall, interview.needs_met, interview.felt_respected) == (5, "partly", None)
    assert login(amina).get(path).json()[0]["comments"] == "More visits."
    assert login(paul).get(path).json()[0]["comments"] is None


def test_it_refuses_an_exit_interview_with_an_answer_off_the_list(
    login: Any, amina: Any, case: Case
) -> None:
    path = f"{API}/cases/{case.pk}/exit-interviews"
    refused = _send(login(amina), path, {"overall": 9, "needs_met": "maybe"})
    assert refused.status_code == 422
    assert {"overall", "needs_met"} <= set(refused.json()["fields"])
    assert not ExitInterview.objects.exists()
