"""Answers are checked on the server by the form's own rules: types, required, relevant,
constraint, selected() and the other functions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection

from casework.assessments import services
from casework.assessments.models import QuestionnaireResponse
from casework.assessments.questionnaires import check_answers, read_xlsform
from casework.assessments.tests.xlsforms import household_form
from casework.core.errors import FieldErrors

TODAY = datetime.date(2026, 5, 4)
GOOD = {"household_size": "4", "children": "2", "needs": ["food"], "safe_now": "yes"}


@pytest.fixture(scope="module")
def form() -> dict[str, Any]:
    return read_xlsform(household_form(), "household.xlsx").definition


def _errors(form: dict[str, Any], answers: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(FieldErrors) as refused:
        check_answers(form, answers, today=TODAY)
    return refused.value.errors


def test_good_answers_are_typed(form: dict[str, Any]) -> None:
    checked = check_answers(
        form,
        GOOD
        | {
            "income": "120,50",
            "arrived_on": "2026-01-02",
            "needs": "shelter food",
            "shelter_detail": "Roof leaks",
        },
        today=TODAY,
    )
    assert checked.coded == {
        "household_size": 4,
        "children": 2,
        "needs": ["shelter", "food"],
        "income": 120.5,
        "arrived_on": "2026-01-02",
        "safe_now": "yes",
    }
    assert checked.text == {"shelter_detail": "Roof leaks"}


def test_required_questions_must_be_answered(form: dict[str, Any]) -> None:
    errors = _errors(form, {})
    assert set(errors) == {"household_size", "needs", "safe_now"}
    assert errors["needs"] == ["This question is required."]


def test_a_question_that_is_not_relevant_is_not_required(form: dict[str, Any]) -> None:
    # "children" is asked only when more than one person lives in the household.
    checked = check_answers(form, GOOD | {"household_size": "1", "children": ""}, today=TODAY)
    assert "children" not in checked.relevant
    assert _errors(form, GOOD | {"children": ""}) == {"children": ["This question is required."]}


def test_answers_to_questions_that_do_not_apply_are_dropped(form: dict[str, Any]) -> None:
    checked = check_answers(form, GOOD | {"household_size": "1", "children": "7"}, today=TODAY)
    assert "children" not in checked.coded


def test_selected_makes_a_question_relevant(form: dict[str, Any]) -> None:
    errors = _errors(form, GOOD | {"needs": ["shelter"]})
    assert errors == {"shelter_detail": ["This question is required."]}
    checked = check_answers(
        form, GOOD | {"needs": ["shelter"], "shelter_detail": "No roof"}, today=TODAY
    )
    assert checked.text["shelter_detail"] == "No roof"


def test_a_group_relevance_applies_to_its_questions(form: dict[str, Any]) -> None:
    assert _errors(form, GOOD | {"safe_now": "no"}) == {
        "danger_who": ["This question is required."]
    }
    checked = check_answers(form, GOOD | {"safe_now": "yes", "danger_who": "x"}, today=TODAY)
    assert "danger_who" not in checked.text


def test_constraints_use_the_answer_and_other_answers(form: dict[str, Any]) -> None:
    assert _errors(form, GOOD | {"household_size": "40"}) == {
        "household_size": ["Between 1 and 39 people"]
    }
    assert _errors(form, GOOD | {"children": "4"}) == {"children": ["Fewer children than people"]}
    assert _errors(form, GOOD | {"needs": ["food", "health", "school"]}) == {
        "needs": ["Choose at most two"]
    }
    assert _errors(form, GOOD | {"needs": ["shelter"], "shelter_detail": "ok"}) == {
        "shelter_detail": ["This answer is not allowed."]
    }
    assert _errors(form, GOOD | {"arrived_on": "2026-05-05"}) == {
        "arrived_on": ["This answer is not allowed."]
    }


def test_answers_of_the_wrong_type_are_refused(form: dict[str, Any]) -> None:
    errors = _errors(
        form,
        GOOD
        | {
            "household_size": "four",
            "income": "a lot",
            "arrived_on": "yesterday",
            "safe_now": "maybe",
            "needs": ["food", "cars"],
            "nickname": "Fati",
        },
    )
    assert errors == {
        "household_size": ["Enter a whole number."],
        "income": ["Enter a number."],
        "arrived_on": ["Enter a date as YYYY-MM-DD."],
        "safe_now": ["Choose one of the options."],
        "needs": ["Choose from the options."],
        "nickname": ["This is not a question of the form."],
    }


def test_the_service_checks_answers_and_keeps_free_text_encrypted(
    case: Any, amina: Any, household: Any, assess: Any
) -> None:
    with pytest.raises(FieldErrors) as refused:
        assess(case, amina, answers={household.pk: GOOD | {"household_size": "0"}})
    assert refused.value.errors == {
        f"answers.{household.pk}.household_size": ["Between 1 and 39 people"]
    }
    with pytest.raises(FieldErrors) as refused:
        assess(case, amina)  # the questionnaire is asked: its required questions too
    assert f"answers.{household.pk}.needs" in refused.value.errors
    assessment = assess(
        case,
        amina,
        answers={household.pk: GOOD | {"needs": ["shelter"], "shelter_detail": "Sleeps in a car"}},
    )
    response = QuestionnaireResponse.objects.get(assessment=assessment)
    assert response.version == household
    assert response.coded_answers["needs"] == ["shelter"]
    assert "shelter_detail" not in response.coded_answers
    assert response.answers(include_free_text=True)["shelter_detail"] == "Sleeps in a car"
    with connection.cursor() as cursor:
        cursor.execute("SELECT text_answers FROM assessments_questionnaireresponse")
        assert "Sleeps" not in cursor.fetchone()[0]


def test_answers_for_an_old_version_are_refused(
    case: Any, amina: Any, adam: Any, household: Any, assess: Any
) -> None:
    services.upload_questionnaire(
        by=adam, data=household_form(), file_name="h2.xlsx", questionnaire=household.questionnaire
    )
    with pytest.raises(FieldErrors) as refused:
        assess(case, amina, answers={household.pk: GOOD})
    assert "answers" in refused.value.errors
