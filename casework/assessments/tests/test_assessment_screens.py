"""The assessment screens over HTTP: the form (with the agency's questions), the current
assessment on the case page, history, and who sees free text."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from casework.assessments.models import Assessment
from casework.cases.models import Status


def _post_data(case: Any, **extra: Any) -> dict[str, Any]:
    return {
        "version": case.version,
        "assessed_on": timezone.localdate().isoformat(),
        "shelter_level": "high",
        "shelter_notes": "Sleeps at a friend's, must leave Friday",
        "shelter_services": ["shelter"],
        "safety_legal_level": "medium",
        "safety_legal_services": ["documentation"],
        "client_needs": "A room of my own",
        "risk_level": "high",
        "risk_rationale": "The trafficker knows where she sleeps",
        **extra,
    }


def test_it_records_an_assessment_from_the_form(
    login: Any, amina: Any, case: Any, household: Any
) -> None:
    client = login(amina)
    page = client.get(f"/cases/{case.pk}/assessments/new/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Living conditions &amp; shelter" in body
    assert "How many people live in the household?" in body  # the agency's questionnaire
    prefix = f"answers.{household.pk}."
    response = client.post(
        f"/cases/{case.pk}/assessments/new/",
        _post_data(
            case,
            **{
                prefix + "household_size": "3",
                prefix + "children": "1",
                prefix + "needs": ["food"],
                prefix + "safe_now": "no",
                prefix + "danger_who": "Her former employer",
            },
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assessment = Assessment.objects.get(case=case)
    assert response["Location"] == f"/cases/{case.pk}/assessments/1/"
    assert {f.domain for f in assessment.findings.all()} == {"shelter", "safety_legal"}
    case.refresh_from_db()
    assert case.status == Status.ASSESSED and case.risk_level == "high"
    detail = client.get(response["Location"]).content.decode()
    assert "The trafficker knows where she sleeps" in detail
    assert "Her former employer" in detail
    assert "Civil documentation" in detail


def test_the_form_shows_the_servers_refusals(
    login: Any, amina: Any, case: Any, household: Any
) -> None:
    prefix = f"answers.{household.pk}."
    response = login(amina).post(
        f"/cases/{case.pk}/assessments/new/",
        _post_data(
            case,
            risk_rationale="",
            food_notes="Eats once a day",
            **{
                prefix + "household_size": "99",
                prefix + "needs": ["food"],
                prefix + "safe_now": "yes",
            },
        ),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Between 1 and 39 people" in body
    assert "Choose the level of need" in body
    assert not Assessment.objects.exists()


def test_questions_that_do_not_apply_are_hidden_while_answering(
    login: Any, amina: Any, case: Any, household: Any
) -> None:
    prefix = f"answers.{household.pk}."
    response = login(amina).post(
        f"/cases/{case.pk}/assessments/new/questions/",
        {prefix + "household_size": "1", prefix + "needs": ["shelter"]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count(" hidden>") == 2  # "children" (one person) and the danger group
    assert "Describe the shelter problem" in body


def test_the_case_page_shows_the_current_assessment(
    login: Any, amina: Any, case: Any, assess: Any
) -> None:
    assess(case, amina, risk_level="low")
    assess(case, amina, risk_level="high")
    body = login(amina).get(f"/cases/{case.pk}/").content.decode()
    assert "Assessment 2" in body and "Reassess" in body
    history = login(amina).get(f"/cases/{case.pk}/assessments/").content.decode()
    assert history.count("/assessments/1/") == 1 and history.count("/assessments/2/") == 1


def test_the_programme_manager_sees_no_free_text(
    login: Any, amina: Any, paul: Any, case: Any, assess: Any
) -> None:
    assess(case, amina, client_needs="A room of my own")
    body = login(paul).get(f"/cases/{case.pk}/assessments/1/").content.decode()
    assert "Not shown to your role." in body
    assert "A room of my own" not in body and "exploited" not in body
    payload = login(paul).get(f"/api/v1/assessments/cases/{case.pk}/1").json()
    assert payload["client_needs"] is None and payload["risk_rationale"] is None
    assert payload["findings"][0]["need_level"] == "high"
    page = login(paul).get(f"/cases/{case.pk}/").content.decode()
    assert "Reassess" not in page


def test_the_api_records_and_reads_assessments(
    login: Any, amina: Any, case: Any, household: Any
) -> None:
    client = login(amina)
    form = client.get(f"/api/v1/assessments/cases/{case.pk}/questionnaires").json()
    assert [item["id"] for item in form] == [household.pk]
    payload = {
        "risk_level": "medium",
        "risk_rationale": "Possible risk",
        "findings": [{"domain": "food", "need_level": "medium", "services": ["food"]}],
        "client_needs": "Food for the children",
        "questionnaires": [
            {
                "version": household.pk,
                "answers": {
                    "household_size": 2,
                    "children": 1,
                    "needs": ["food"],
                    "safe_now": "yes",
                },
            }
        ],
    }
    tag = client.get(f"/api/v1/cases/{case.pk}").headers["ETag"]
    created = client.post(
        f"/api/v1/assessments/cases/{case.pk}",
        payload,
        content_type="application/json",
        headers={"If-Match": tag},
    )
    assert created.status_code == 201, created.content
    assert created.json()["responses"][0]["answers"]["household_size"] == 2
    listed = client.get(f"/api/v1/assessments/cases/{case.pk}").json()
    assert [item["number"] for item in listed] == [1]
    refused = client.post(
        f"/api/v1/assessments/cases/{case.pk}",
        payload | {"questionnaires": []},
        content_type="application/json",
        headers={"If-Match": created.headers["ETag"]},
    )
    assert refused.status_code == 400
    assert f"answers.{household.pk}.household_size" in refused.json()["fields"]


def test_pages_keep_a_bounded_number_of_queries(
    login: Any,
    amina: Any,
    case: Any,
    household: Any,
    assess: Any,
    django_assert_max_num_queries: Any,
) -> None:
    answers = {
        household.pk: {"household_size": "2", "children": "1", "needs": ["food"], "safe_now": "yes"}
    }
    for _ in range(5):
        assess(case, amina, answers=answers)
    client = login(amina)
    client.get("/")  # the session is warm
    with django_assert_max_num_queries(30):
        assert client.get(f"/cases/{case.pk}/assessments/").status_code == 200
    with django_assert_max_num_queries(30):
        assert client.get(f"/cases/{case.pk}/assessments/5/").status_code == 200
    with django_assert_max_num_queries(30):
        assert client.get(f"/cases/{case.pk}/assessments/new/").status_code == 200
