"""Form versions are kept: answers keep the version they were given against."""

from __future__ import annotations

from typing import Any

from casework.assessments import services
from casework.assessments.models import QuestionnaireResponse
from casework.assessments.tests.xlsforms import simple_form


def test_old_answers_keep_their_version(
    case: Any, amina: Any, adam: Any, assess: Any, login: Any
) -> None:
    first = services.upload_questionnaire(by=adam, data=simple_form(), file_name="papers.xlsx")
    assess(case, amina, answers={first.pk: {"papers": "no"}})
    second = services.upload_questionnaire(
        by=adam,
        data=simple_form("Has she got a birth certificate or an ID card?"),
        file_name="papers.xlsx",
        questionnaire=first.questionnaire,
    )
    assert services.current_questionnaires(adam.agency_id) == [second]
    assess(case, amina, answers={second.pk: {"papers": "yes"}})

    responses = QuestionnaireResponse.objects.order_by("assessment__number")
    assert [r.version_id for r in responses] == [first.pk, second.pk]
    old_page = login(amina).get(f"/cases/{case.pk}/assessments/1/").content.decode()
    assert "Does the client have identity papers?" in old_page
    assert "birth certificate" not in old_page
    new_page = login(amina).get(f"/cases/{case.pk}/assessments/2/").content.decode()
    assert "Has she got a birth certificate or an ID card?" in new_page


def test_a_retired_questionnaire_is_no_longer_asked(
    case: Any, amina: Any, adam: Any, assess: Any
) -> None:
    version = services.upload_questionnaire(by=adam, data=simple_form(), file_name="p.xlsx")
    assess(case, amina, answers={version.pk: {"papers": "no"}})
    services.set_questionnaire_active(version.questionnaire, by=adam, active=False)
    assert services.current_questionnaires(adam.agency_id) == []
    assess(case, amina)  # no answers needed now
    assert QuestionnaireResponse.objects.count() == 1
