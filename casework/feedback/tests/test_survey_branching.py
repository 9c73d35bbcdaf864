"""Every path of the participation survey (seed 000), through the screen a caseworker uses.

Q1 "Do you know that the project developed a case management plan for you?" — no: stop the
questions (Q2 and Q3 are not asked). Yes: Q2 "Do you feel you were involved in the decision
making?" — no: stop. Yes: Q3 "How were you involved?" (one or more ways). An answer to a
question that the path skips is refused, and so is a path that stops early; nothing is saved.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from casework.cases.models import Case
from casework.feedback.models import ParticipationSurvey


def _post(login: Any, user: Any, case: Case, **answers: Any) -> Any:
    data: dict[str, Any] = {"surveyed_on": timezone.localdate().isoformat(), **answers}
    return login(user).post(f"/cases/{case.pk}/surveys/participation/", data)


def _saved(case: Case) -> ParticipationSurvey:
    return ParticipationSurvey.objects.get(case=case)


def _refused(response: Any, case: Case, message: str) -> None:
    assert response.status_code != 302
    assert message in response.content.decode()
    assert not ParticipationSurvey.objects.filter(case=case).exists()


# --- The three paths that end a survey -----------------------------------------------------


def test_q1_no_stops_the_survey_q2_and_q3_are_not_asked(login: Any, amina: Any, case: Case) -> None:
    response = _post(login, amina, case, q1_aware="no", q2_involved="")
    assert response.status_code == 302
    survey = _saved(case)
    assert survey.q1_aware is False
    assert survey.q2_involved is None  # not asked, not "no"
    assert survey.q3_ways == []


def test_q1_yes_q2_no_stops_before_q3(login: Any, amina: Any, case: Case) -> None:
    response = _post(login, amina, case, q1_aware="yes", q2_involved="no")
    assert response.status_code == 302
    survey = _saved(case)
    assert (survey.q1_aware, survey.q2_involved, survey.q3_ways) == (True, False, [])


@pytest.mark.parametrize(
    "ways",
    [["expressed_needs"], ["chose_services", "set_goals", "agreed_plan"], ["declined_services"]],
)
def test_q1_yes_q2_yes_records_how_in_q3(
    login: Any, amina: Any, case: Case, ways: list[str]
) -> None:
    response = _post(login, amina, case, q1_aware="yes", q2_involved="yes", q3_ways=ways)
    assert response.status_code == 302
    survey = _saved(case)
    assert (survey.q1_aware, survey.q2_involved) == (True, True)
    assert sorted(survey.q3_ways) == sorted(ways)


# --- Answers to skipped questions, and paths that stop too early, are refused ------------


def test_q1_no_refuses_an_answer_to_q2(login: Any, amina: Any, case: Case) -> None:
    for q2 in ("yes", "no"):
        response = _post(login, amina, case, q1_aware="no", q2_involved=q2)
        _refused(response, case, "Q2 is not asked when the client is not aware of a plan.")


def test_q1_no_refuses_an_answer_to_q3(login: Any, amina: Any, case: Case) -> None:
    response = _post(login, amina, case, q1_aware="no", q2_involved="", q3_ways=["set_goals"])
    _refused(response, case, "Q3 is not asked when the client is not aware of a plan.")


def test_q1_yes_needs_an_answer_to_q2(login: Any, amina: Any, case: Case) -> None:
    response = _post(login, amina, case, q1_aware="yes", q2_involved="")
    _refused(response, case, "Answer Q2: the client is aware of a plan.")


def test_q2_no_refuses_an_answer_to_q3(login: Any, amina: Any, case: Case) -> None:
    response = _post(login, amina, case, q1_aware="yes", q2_involved="no", q3_ways=["other"])
    _refused(response, case, "Q3 is not asked when the client did not feel involved.")


def test_q2_yes_needs_an_answer_to_q3(login: Any, amina: Any, case: Case) -> None:
    response = _post(login, amina, case, q1_aware="yes", q2_involved="yes")
    _refused(response, case, "Answer Q3: how was the client involved?")


def test_q1_must_be_answered(login: Any, amina: Any, case: Case) -> None:
    response = _post(login, amina, case, q2_involved="")
    assert response.status_code != 302
    assert not ParticipationSurvey.objects.filter(case=case).exists()
