"""The form editor builds the same definition an XLSForm upload does, one version per change."""

from __future__ import annotations

from typing import Any

import pytest

from casework.assessments import services
from casework.assessments.models import QuestionnaireVersion
from casework.assessments.questionnaires import FormRefused, QuestionInput, read_xlsform
from casework.assessments.tests.xlsforms import workbook


def _strip_rows(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in q.items() if k != "row"} for q in definition["questions"]]


def test_the_editor_and_an_upload_give_the_same_questions(adam: Any) -> None:
    uploaded = read_xlsform(
        workbook(
            [
                ["type", "name", "label::English (en)", "required", "relevant", "constraint"],
                ["select_one yes_no", "papers", "Identity papers?", "yes", "", ""],
                ["integer", "papers_count", "How many?", "", "${papers} = 'yes'", ". > 0"],
            ],
            [
                ["list_name", "name", "label::English (en)"],
                ["yes_no", "yes", "Yes"],
                ["yes_no", "no", "No"],
            ],
        ),
        "papers.xlsx",
    ).definition

    questionnaire = services.create_questionnaire(by=adam, title="Papers")
    services.add_question(
        questionnaire,
        by=adam,
        question=QuestionInput(
            type="select_one",
            name="papers",
            labels={"en": "Identity papers?"},
            required=True,
            choices=[("yes", {"en": "Yes"}), ("no", {"en": "No"})],
        ),
    )
    version = services.add_question(
        questionnaire,
        by=adam,
        question=QuestionInput(
            type="integer",
            name="papers_count",
            labels={"en": "How many?", "fr": "Combien ?"},
            relevant="${papers} = 'yes'",
            constraint=". > 0",
        ),
    )
    assert version.number == 2
    edited = _strip_rows(version.definition)
    edited[1]["label"].pop("fr")
    assert edited == _strip_rows(uploaded)
    assert [lang["code"] for lang in version.definition["languages"]] == ["en", "fr"]


def test_the_editor_refuses_what_an_upload_would(adam: Any) -> None:
    questionnaire = services.create_questionnaire(by=adam, title="Papers")
    with pytest.raises(FormRefused, match="not supported"):
        services.add_question(
            questionnaire,
            by=adam,
            question=QuestionInput(
                type="integer", name="n", labels={"en": "N"}, constraint="eval('1')"
            ),
        )
    with pytest.raises(FormRefused, match="no choices"):
        services.add_question(
            questionnaire,
            by=adam,
            question=QuestionInput(type="select_one", name="c", labels={"en": "C"}),
        )
    assert not QuestionnaireVersion.objects.exists()


def test_the_editor_page_adds_a_question(login: Any, adam: Any) -> None:
    client = login(adam)
    response = client.post("/questionnaires/new/", {"title": "Education"})
    assert response.status_code == 302
    page = response["Location"]
    response = client.post(
        page,
        {
            "type": "select_one",
            "name": "in_school",
            "label_en": "Is the child in school?",
            "label_fr": "L'enfant va-t-il à l'école ?",
            "required": "on",
            "choices": "yes|Yes\nno|No",
        },
    )
    assert response.status_code == 302
    version = QuestionnaireVersion.objects.get()
    question = version.definition["questions"][0]
    assert question["label"] == {
        "en": "Is the child in school?",
        "fr": "L'enfant va-t-il à l'école ?",
    }
    assert [c["name"] for c in question["choices"]] == ["yes", "no"]
    response = client.post(
        page, {"type": "integer", "name": "grade", "label_en": "Grade", "constraint": ". >"}
    )
    assert response.status_code == 400
    assert "cannot be checked" in response.content.decode()
