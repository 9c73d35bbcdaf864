"""Every assessment URL and API operation against the permission matrix: people who may not see
amina's case get the same 404 as for a case that does not exist."""

from __future__ import annotations

from typing import Any

import pytest

from casework.assessments.models import Questionnaire

OUTSIDERS = ["omar", "xena", "mei", "priya", "adam"]


def _case_requests(case: Any) -> list[tuple[str, str, Any]]:
    pk = case.pk
    return [
        ("get", f"/cases/{pk}/assessments/", None),
        ("get", f"/cases/{pk}/assessments/new/", None),
        ("post", f"/cases/{pk}/assessments/new/", {"risk_level": "high"}),
        ("post", f"/cases/{pk}/assessments/new/questions/", {}),
        ("get", f"/cases/{pk}/assessments/1/", None),
        ("get", f"/api/v1/assessments/cases/{pk}", None),
        ("get", f"/api/v1/assessments/cases/{pk}/questionnaires", None),
        ("get", f"/api/v1/assessments/cases/{pk}/1", None),
        (
            "post",
            f"/api/v1/assessments/cases/{pk}",
            {
                "risk_level": "low",
                "risk_rationale": "x",
                "findings": [{"domain": "food", "need_level": "low"}],
            },
        ),
    ]


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_on_the_case(
    request: Any, who: str, login: Any, amina: Any, case: Any, assess: Any
) -> None:
    assess(case, amina)
    client = login(request.getfixturevalue(who))
    for method, url, data in _case_requests(case):
        if method == "get":
            response = client.get(url)
        elif url.startswith("/api/"):
            response = client.post(url, data, content_type="application/json")
        else:
            response = client.post(url, data)
        assert response.status_code == 404, (who, method, url, response.status_code)
    case.refresh_from_db()
    assert case.assessments.count() == 1


def test_the_supervisor_and_the_owner_may_see_it(
    login: Any, amina: Any, sam: Any, case: Any, assess: Any
) -> None:
    assess(case, amina)
    for user in (amina, sam):
        for method, url, _data in _case_requests(case):
            if method == "get":
                assert login(user).get(url).status_code == 200, url


def test_read_only_roles_cannot_write(login: Any, paul: Any, amina: Any, case: Any) -> None:
    client = login(paul)
    assert client.get(f"/cases/{case.pk}/assessments/").status_code == 200
    assert client.get(f"/cases/{case.pk}/assessments/new/").status_code == 404
    response = client.post(
        f"/api/v1/assessments/cases/{case.pk}",
        {
            "risk_level": "low",
            "risk_rationale": "x",
            "findings": [{"domain": "food", "need_level": "low"}],
        },
        content_type="application/json",
    )
    assert response.status_code == 404


def _settings_urls(questionnaire: Questionnaire) -> list[tuple[str, str]]:
    pk = questionnaire.pk
    return [
        ("get", "/questionnaires/"),
        ("get", "/questionnaires/upload/"),
        ("get", f"/questionnaires/{pk}/"),
        ("get", f"/questionnaires/{pk}/upload/"),
        ("post", f"/questionnaires/{pk}/active/"),
        ("get", f"/questionnaires/{pk}/versions/1/file/"),
        ("get", "/settings/risk-follow-up/"),
        ("get", "/api/v1/assessments/questionnaires"),
        ("get", f"/api/v1/assessments/questionnaires/{pk}"),
        ("post", f"/api/v1/assessments/questionnaires/{pk}/active"),
    ]


@pytest.mark.parametrize("who", ["amina", "sam", "paul", "mei", "priya", "xena"])
def test_only_the_agencys_administrator_manages_questionnaires(
    request: Any, who: str, login: Any, household: Any
) -> None:
    client = login(request.getfixturevalue(who))
    for method, url in _settings_urls(household.questionnaire):
        if method == "get":
            response = client.get(url)
        else:
            response = client.post(url, {"active": False}, content_type="application/json")
        assert response.status_code == 404, (who, url, response.status_code)
    assert Questionnaire.objects.get().is_active


def test_the_administrator_manages_them(login: Any, adam: Any, household: Any) -> None:
    client = login(adam)
    for method, url in _settings_urls(household.questionnaire):
        if method == "get":
            assert client.get(url).status_code == 200, url
