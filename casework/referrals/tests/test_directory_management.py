"""Keeping the directory: organisations and their services, by screen and API, by administrators."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from casework.audit.models import AuditEntry
from casework.core.errors import FieldErrors
from casework.referrals import services
from casework.referrals.models import Organisation, Service


def test_an_administrator_adds_an_organisation_and_a_service(
    login: Any, adam: Any, partner_agency: Any, areas: dict[str, Any]
) -> None:
    client = login(adam)
    response = client.post(
        "/services/organisations/add/",
        {
            "code": "hope",
            "name": "Hope Clinic",
            "agency": partner_agency.pk,
            "referral_method": "phone",
            "has_agreement": "on",
            "quality_notes": "Friendly staff; long queues on Mondays.",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    hope = Organisation.objects.get(code="HOPE")
    assert hope.agency == partner_agency and hope.has_agreement
    response = client.post(
        f"/services/organisations/{hope.pk}/services/add/",
        {
            "name": "Clinical management of rape",
            "sector": "health",
            "locations": [areas["lakeside"].pk],
            "min_age": "",
            "max_age": "",
            "answer_within_days": "1",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    service = Service.objects.get(organisation=hope)
    assert service.answer_within_days == 1
    assert list(service.locations.all()) == [areas["lakeside"]]
    page = client.get(f"/services/organisations/{hope.pk}/").content.decode()
    assert "Clinical management of rape" in page and "long queues" in page
    assert AuditEntry.objects.filter(action="referrals.organisation.created", actor=adam).exists()
    assert AuditEntry.objects.filter(action="referrals.service.created", actor=adam).exists()


def test_quality_notes_are_encrypted_at_rest(adam: Any) -> None:
    services.save_organisation(
        by=adam,
        details=services.OrganisationDetails(
            code="HOPE", name="Hope", quality_notes="Staff turnover high"
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT quality_notes FROM referrals_organisation")
        (raw,) = cursor.fetchone()
    assert "turnover" not in raw


def test_a_service_must_say_where_it_is_available(adam: Any, clinic: Organisation) -> None:
    with pytest.raises(FieldErrors) as error:
        services.save_service(
            clinic, by=adam, details=services.ServiceDetails(name="Care", sector="health")
        )
    assert "locations" in error.value.errors


def test_only_a_service_provider_agency_receives_referrals(adam: Any, agency: Any) -> None:
    with pytest.raises(FieldErrors) as error:
        services.save_organisation(
            by=adam, details=services.OrganisationDetails(code="AGY", name="Us", agency=agency)
        )
    assert "agency" in error.value.errors


def test_codes_are_unique(adam: Any, clinic: Organisation) -> None:
    with pytest.raises(FieldErrors) as error:
        services.save_organisation(
            by=adam, details=services.OrganisationDetails(code="prt", name="Copy")
        )
    assert "code" in error.value.errors


@pytest.mark.parametrize("name", ["amina", "sam", "paul", "priya", "xena"])
def test_only_administrators_change_the_directory(
    login: Any, request: pytest.FixtureRequest, name: str, clinic: Organisation
) -> None:
    client = login(request.getfixturevalue(name))
    assert client.get("/services/organisations/add/").status_code == 404
    assert (
        client.post(f"/services/organisations/{clinic.pk}/edit/", {"name": "X"}).status_code == 404
    )
    assert client.get(f"/services/organisations/{clinic.pk}/services/add/").status_code == 404
    response = client.post(
        "/api/v1/referrals/organisations",
        {"code": "NEW", "name": "New"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not Organisation.objects.filter(code="NEW").exists()


def test_the_api_adds_and_changes_organisations_and_services(
    login: Any, adam: Any, amina: Any, areas: dict[str, Any], partner_agency: Any
) -> None:
    client = login(adam)
    created = client.post(
        "/api/v1/referrals/organisations",
        {
            "code": "HOPE",
            "name": "Hope Clinic",
            "partner_agency": "PRT",
            "referral_method": "email",
        },
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["receives_in_casework"] is True
    service = client.post(
        "/api/v1/referrals/organisations/HOPE/services",
        {"name": "Care", "sector": "health", "locations": ["NR"], "answer_within_days": 2},
        content_type="application/json",
    )
    assert service.status_code == 201 and service.json()["locations"] == ["NR"]
    changed = client.put(
        f"/api/v1/referrals/organisations/HOPE/services/{service.json()['id']}",
        {"name": "Care", "sector": "health", "nationwide": True},
        content_type="application/json",
    )
    assert changed.status_code == 200 and changed.json()["nationwide"] is True
    unknown_area = client.post(
        "/api/v1/referrals/organisations/HOPE/services",
        {"name": "Other", "sector": "health", "locations": ["ATLANTIS"]},
        content_type="application/json",
    )
    assert unknown_area.status_code == 400
    found = login(amina).get("/api/v1/referrals/organisations/hope").json()
    assert [s["name"] for s in found["services"]] == ["Care"]
