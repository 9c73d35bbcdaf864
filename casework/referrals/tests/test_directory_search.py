"""Finding services by need or sector and by place: an area matches what serves it or any area
containing it."""

from __future__ import annotations

from typing import Any

import pytest

from casework.referrals.models import Organisation, Service
from casework.referrals.services import search_services


@pytest.fixture
def ward_shelter(clinic: Organisation, areas: dict[str, Any]) -> Service:
    service = Service.objects.create(organisation=clinic, name="Ward shelter", sector="shelter")
    service.locations.set([areas["harbour"]])
    return service


@pytest.fixture
def counselling(clinic: Organisation, areas: dict[str, Any]) -> Service:
    service = Service.objects.create(
        organisation=clinic, name="Counselling", sector="mental_health", min_age=18
    )
    service.locations.set([areas["lakeside"]])
    return service


def _names(services: Any) -> set[str]:
    return {service.name for service in services}


def test_it_finds_services_by_sector(
    clinic_care: Service, legal_aid: Service, counselling: Service
) -> None:
    assert _names(search_services(sector="health")) == {"General health care"}
    assert _names(search_services(sector="legal")) == {"Legal aid"}


def test_a_plan_need_finds_every_sector_that_answers_it(
    clinic_care: Service, legal_aid: Service, counselling: Service
) -> None:
    assert _names(search_services(need="health")) == {"General health care", "Counselling"}
    assert _names(search_services(need="safety_legal")) == {"Legal aid"}


def test_a_place_matches_services_serving_it_or_any_area_containing_it(
    areas: dict[str, Any],
    clinic_care: Service,
    legal_aid: Service,
    counselling: Service,
    ward_shelter: Service,
) -> None:
    # Harbour ward lies in Lakeside district, which lies in the North region.
    assert _names(search_services(location=areas["harbour"])) == {
        "General health care",  # serves the North region
        "Counselling",  # serves Lakeside district
        "Ward shelter",  # serves Harbour ward itself
        "Legal aid",  # nationwide
    }
    assert _names(search_services(location=areas["lakeside"])) == {
        "General health care",
        "Counselling",
        "Legal aid",
    }
    # A service in one ward does not serve the whole region; nothing in the North serves the South.
    assert _names(search_services(location=areas["north"])) == {"General health care", "Legal aid"}
    assert _names(search_services(location=areas["south"])) == {"Legal aid"}


def test_sector_place_and_age_combine(
    areas: dict[str, Any], clinic_care: Service, counselling: Service, legal_aid: Service
) -> None:
    assert _names(search_services(sector="mental_health", location=areas["harbour"])) == {
        "Counselling"
    }
    assert _names(search_services(need="health", location=areas["harbour"], age=12)) == {
        "General health care"
    }


def test_inactive_services_and_organisations_are_not_offered(
    clinic: Organisation, clinic_care: Service, legal_aid: Service
) -> None:
    legal_aid.is_active = False
    legal_aid.save()
    assert _names(search_services()) == {"General health care"}
    Organisation.objects.filter(pk=clinic.pk).update(is_active=False)
    assert _names(search_services()) == set()


def test_the_directory_screen_searches_by_sector_and_place(
    login: Any, amina: Any, areas: dict[str, Any], clinic_care: Service, legal_aid: Service
) -> None:
    client = login(amina)
    body = client.get("/services/", {"sector": "health", "location": areas["harbour"].pk}).content
    assert b"General health care" in body and b"Lawyers" not in body
    partial = client.get(
        "/services/", {"location": areas["south"].pk}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "Lawyers" in partial and "General health care" not in partial
    assert "<html" not in partial


def test_the_directory_api_searches_by_area_code(
    login: Any, amina: Any, areas: dict[str, Any], clinic_care: Service, legal_aid: Service
) -> None:
    found = login(amina).get("/api/v1/referrals/services", {"location": "NR-LK-HB"}).json()
    assert {item["name"] for item in found["items"]} == {"General health care", "Legal aid"}
    assert login(amina).get("/api/v1/referrals/services", {"location": "NOPE"}).status_code == 400


@pytest.mark.parametrize("name", ["priya", "mei", "xena"])
def test_the_directory_is_for_staff_who_plan_or_keep_it(
    login: Any, request: pytest.FixtureRequest, name: str, clinic_care: Service
) -> None:
    client = login(request.getfixturevalue(name))
    if name == "xena":
        # Another agency's caseworker plans her own cases: the directory is shared service mapping.
        assert client.get("/services/").status_code == 200
        return
    assert client.get("/services/").status_code == 404
    assert client.get(f"/services/organisations/{clinic_care.organisation_id}/").status_code == 404
    assert client.get("/api/v1/referrals/services").status_code == 404
