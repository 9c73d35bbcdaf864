"""An agency uploads an XLSForm: good forms become questionnaires, broken ones are refused with
the row and the reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from casework.assessments import services
from casework.assessments.models import Questionnaire, QuestionnaireVersion
from casework.assessments.questionnaires import FormRefused, label_for, read_xlsform
from casework.assessments.tests.xlsforms import (
    HOUSEHOLD_CHOICES,
    household_form,
    simple_form,
    workbook,
)
from casework.core.errors import NotAllowed

YES_NO = [["list_name", "name", "label"], ["yes_no", "yes", "Yes"], ["yes_no", "no", "No"]]


def _refusal(survey: list[list[Any]], choices: list[list[Any]] | None = None) -> FormRefused:
    with pytest.raises(FormRefused) as refused:
        read_xlsform(workbook(survey, choices or YES_NO), "form.xlsx")
    return refused.value


def test_it_reads_every_supported_question_type() -> None:
    definition = read_xlsform(household_form(), "household.xlsx").definition
    types = {q["name"]: q["type"] for q in definition["questions"]}
    assert types == {
        "intro": "note",
        "household_size": "integer",
        "children": "integer",
        "needs": "select_multiple",
        "shelter_detail": "text",
        "income": "decimal",
        "arrived_on": "date",
        "safe_now": "select_one",
        "danger_who": "text",
    }
    assert definition["title"] == "Household" and definition["form_version"] == "2026-01"
    by_name = {q["name"]: q for q in definition["questions"]}
    assert by_name["household_size"]["required"] == "true()"
    assert by_name["household_size"]["constraint"] == ". > 0 and . < 40"
    assert by_name["shelter_detail"]["relevant"] == "selected(${needs}, 'shelter')"
    # A group's relevance applies to the questions inside it.
    assert by_name["danger_who"]["relevant"] == "${safe_now} = 'no'"
    assert label_for(by_name["danger_who"]["section"], "en") == "Danger"
    assert by_name["household_size"]["row"] == 4


def test_labels_keep_every_language() -> None:
    definition = read_xlsform(household_form(), "household.xlsx").definition
    assert definition["languages"] == [
        {"code": "en", "name": "English"},
        {"code": "fr", "name": "Français"},
    ]
    needs = next(q for q in definition["questions"] if q["name"] == "needs")
    assert label_for(needs["label"], "fr") == "Quels besoins sont les plus urgents ?"
    assert label_for(needs["label"], "en") == "Which needs are most urgent?"
    assert label_for(needs["label"], "ar") == "Which needs are most urgent?"  # falls back
    assert [label_for(c["label"], "fr") for c in needs["choices"]] == [
        "Abri",
        "Nourriture",
        "Soins",
        "École",
    ]


def test_phone_metadata_is_skipped() -> None:
    read = read_xlsform(household_form(), "household.xlsx")
    assert read.skipped == ["start"]


@pytest.mark.parametrize(
    ("survey", "row", "reason"),
    [
        ([["type", "name", "label"], ["text", "a", "A"], ["txet", "b", "B"]], 3, "txet"),
        ([["type", "name", "label"], ["select_one colours", "a", "A"]], 2, "colours"),
        ([["type", "name", "label"], ["text", "a", "A"], ["text", "a", "B"]], 3, "'a'"),
        (
            [["type", "name", "label", "relevant"], ["text", "a", "A", "${nobody} = 'x'"]],
            2,
            "nobody",
        ),
        ([["type", "name", "label"], ["begin_group", "g", "G"], ["text", "a", "A"]], 2, "g"),
        ([["type", "name", "label"], ["geopoint", "where", "Where?"]], 2, "geopoint"),
        (
            [
                ["type", "name", "label"],
                ["begin_repeat", "kids", "Kids"],
                ["text", "a", "A"],
                ["end_repeat", "", ""],
            ],
            2,
            "repeat",
        ),
        (
            [["type", "name", "label", "constraint"], ["integer", "age", "Age", ". > 0 and"]],
            2,
            "ends too early",
        ),
        (
            [
                ["type", "name", "label", "constraint"],
                ["integer", "age", "Age", "pulldata('x', 1)"],
            ],
            2,
            "pulldata() is not supported",
        ),
        (
            [["type", "name", "label", "relevant"], ["text", "a", "A", "/data/b = 'x'"]],
            2,
            "cannot read",
        ),
    ],
    ids=[
        "unknown type",
        "list not on the choices sheet",
        "name used twice",
        "reference to no question",
        "group never closed",
        "unsupported type",
        "repeat",
        "constraint cut short",
        "unknown function",
        "xpath path",
    ],
)
def test_a_broken_form_is_refused_with_row_and_reason(
    survey: list[list[Any]], row: int, reason: str
) -> None:
    refusal = _refusal(survey)
    problem = refusal.problems[0]
    assert problem.row == row, refusal.problems
    assert reason in problem.reason
    assert f"Row {row}:" in str(problem)


def test_a_file_that_is_not_a_workbook_is_refused() -> None:
    with pytest.raises(FormRefused, match="not an XLSForm"):
        read_xlsform(b"name,age\nFatima,30\n", "people.xlsx")


def test_a_form_without_a_survey_sheet_is_refused() -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "questions"
    import io

    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(FormRefused, match="survey"):
        read_xlsform(buffer.getvalue(), "x.xlsx")


def test_the_upload_service_keeps_the_file_and_versions(adam: Any) -> None:
    data = simple_form()
    first = services.upload_questionnaire(by=adam, data=data, file_name="papers.xlsx")
    questionnaire = first.questionnaire
    assert first.number == 1 and first.source_file is not None
    assert bytes(first.source_file) == data
    second = services.upload_questionnaire(
        by=adam,
        data=simple_form("Does she have papers?"),
        file_name="papers-2.xlsx",
        questionnaire=questionnaire,
    )
    assert second.number == 2
    assert QuestionnaireVersion.objects.filter(questionnaire=questionnaire).count() == 2


def test_only_configuration_managers_upload(amina: Any, sam: Any) -> None:
    for user in (amina, sam):
        with pytest.raises(NotAllowed):
            services.upload_questionnaire(by=user, data=simple_form(), file_name="x.xlsx")


def test_the_upload_page_shows_row_and_reason(login: Any, adam: Any) -> None:
    broken = workbook([["type", "name", "label"], ["text", "a", "A"], ["txet", "b", "B"]])
    response = login(adam).post(
        "/questionnaires/upload/",
        {"file": SimpleUploadedFile("broken.xlsx", broken), "title": "Broken"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Row 3:" in body and "txet" in body
    assert not Questionnaire.objects.exists()


def test_the_upload_page_accepts_a_good_form(login: Any, adam: Any) -> None:
    response = login(adam).post(
        "/questionnaires/upload/",
        {"file": SimpleUploadedFile("household.xlsx", household_form()), "title": ""},
    )
    questionnaire = Questionnaire.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/questionnaires/{questionnaire.pk}/"
    assert questionnaire.title == "Household" and questionnaire.code == "household"
    page = login(adam).get(f"/questionnaires/{questionnaire.pk}/").content.decode()
    assert "household_size" in page and "count-selected(.) &lt;= 2" in page


def test_the_api_refuses_with_problems(login: Any, adam: Any) -> None:
    broken = workbook(
        [["type", "name", "label"], ["select_one colours", "a", "A"]], HOUSEHOLD_CHOICES
    )
    response = login(adam).post(
        "/api/v1/assessments/questionnaires",
        {"file": SimpleUploadedFile("broken.xlsx", broken)},
    )
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "form_refused"
    assert payload["problems"][0]["row"] == 2
    assert "colours" in payload["problems"][0]["reason"]


def test_the_api_accepts_a_good_form(login: Any, adam: Any) -> None:
    response = login(adam).post(
        "/api/v1/assessments/questionnaires",
        {"file": SimpleUploadedFile("household.xlsx", household_form()), "title": "Ménage"},
    )
    assert response.status_code == 201, response.content
    payload = response.json()
    assert payload["title"] == "Ménage" and payload["number"] == 1
    assert len(payload["definition"]["questions"]) == 9
