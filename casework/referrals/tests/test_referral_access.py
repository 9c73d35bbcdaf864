"""Amina's case referrals are a 404 for everyone who may not see her case, on every URL and endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from casework.cases.models import Case
from casework.referrals.models import NoReferralNeeded, Referral, Service

OUTSIDERS = ["omar", "xena", "mei", "adam"]


def _html(case: Case, referral: Referral) -> list[tuple[str, str]]:
    return [
        ("get", f"/cases/{case.pk}/referrals/new/"),
        ("post", f"/cases/{case.pk}/referrals/new/"),
        ("get", f"/cases/{case.pk}/referrals/{referral.pk}/"),
        ("post", f"/cases/{case.pk}/referrals/{referral.pk}/move/"),
        ("get", f"/cases/{case.pk}/referrals/not-needed/"),
        ("post", f"/cases/{case.pk}/referrals/not-needed/"),
    ]


def _api(case: Case, referral: Referral, service: Service) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("get", f"/api/v1/referrals/cases/{case.pk}", {}),
        (
            "post",
            f"/api/v1/referrals/cases/{case.pk}",
            {"service": service.pk, "need_code": "health"},
        ),
        (
            "post",
            f"/api/v1/referrals/cases/{case.pk}/not-needed",
            {"need_code": "health", "reason": "already_receiving"},
        ),
        ("get", f"/api/v1/referrals/{referral.pk}", {}),
        ("post", f"/api/v1/referrals/{referral.pk}/status", {"status": "cancelled"}),
    ]


@pytest.mark.parametrize("name", OUTSIDERS)
def test_outsiders_get_404_on_the_case_referral_screens(
    login: Any, request: pytest.FixtureRequest, name: str, case: Case, referral: Referral
) -> None:
    client = login(request.getfixturevalue(name))
    for method, url in _html(case, referral):
        data = {"status": "cancelled", "need_code": "health", "reason": "already_receiving"}
        response = getattr(client, method)(url, data) if method == "post" else client.get(url)
        assert response.status_code == 404, (method, url)
    referral.refresh_from_db()
    assert referral.status == Referral.Status.SENT
    assert not NoReferralNeeded.objects.exists()


@pytest.mark.parametrize("name", OUTSIDERS)
def test_outsiders_get_404_on_the_case_referral_api(
    login: Any,
    request: pytest.FixtureRequest,
    name: str,
    case: Case,
    referral: Referral,
    clinic_care: Service,
) -> None:
    client = login(request.getfixturevalue(name))
    for method, url, payload in _api(case, referral, clinic_care):
        if method == "post":
            response = client.post(url, payload, content_type="application/json")
        else:
            response = client.get(url)
        assert response.status_code == 404, (method, url)
        assert response.json()["code"] == "not_found"
    assert Referral.objects.count() == 1
    assert not NoReferralNeeded.objects.exists()


@pytest.mark.parametrize("name", ["amina", "sam"])
def test_the_caseworker_and_her_supervisor_reach_them(
    login: Any, request: pytest.FixtureRequest, name: str, case: Case, referral: Referral
) -> None:
    client = login(request.getfixturevalue(name))
    assert client.get(f"/cases/{case.pk}/referrals/{referral.pk}/").status_code == 200
    assert client.get(f"/cases/{case.pk}/referrals/new/").status_code == 200
    assert client.get(f"/api/v1/referrals/{referral.pk}").status_code == 200
    assert (
        client.get(f"/api/v1/referrals/cases/{case.pk}").json()["referrals"][0]["id"] == referral.pk
    )


def test_the_programme_manager_reads_without_the_shared_details(
    login: Any, paul: Any, case: Case, referral: Referral
) -> None:
    client = login(paul)
    body = client.get(f"/cases/{case.pk}/referrals/{referral.pk}/").content.decode()
    assert "Needs a check-up" not in body
    assert client.get(f"/api/v1/referrals/{referral.pk}").json()["shared"] is None
    assert (
        client.post(
            f"/cases/{case.pk}/referrals/{referral.pk}/move/", {"status": "cancelled"}
        ).status_code
        == 404
    )
