"""Registration starts with screening and a search for the person: likely existing persons are
shown before anything is created, as far as the caseworker may know of them, and the choice is
recorded. Names never travel in URLs."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from casework.accounts.models import MatchAgreement, Team
from casework.accounts.services import set_match_agreement
from casework.audit.models import AuditEntry
from casework.cases.models import Case, Screening
from casework.cases.screening import find_matches
from casework.people.matching import Query, find_candidates
from casework.people.models import Person

SEARCH = {
    "step": "search",
    "outcome": "eligible",
    "reason": "",
    "referred_to": "",
    "given_name": "Fatima",
    "family_name": "Traore",  # registered as Traoré
    "other_names": "",
    "sex": "female",
    "date_of_birth": "",
    "estimated_age": "30",
}


def test_the_person_already_registered_is_shown_before_anything_is_created(
    login: Any, case: Case, amina: Any
) -> None:
    persons = Person.objects.count()
    response = login(amina).post("/cases/register/", SEARCH)
    body = response.content.decode()
    assert response.status_code == 200 and "Is this person registered already?" in body
    assert case.person.reference in body and "Fatima Traoré" in body
    assert "same name" in body and "similar age" in body and "same sex" in body
    assert f"/persons/{case.person_id}/cases/new/?screening=" in body
    assert Person.objects.count() == persons  # nothing created by the search
    entry = AuditEntry.objects.get(action="people.match.searched")
    assert entry.data == {"shown": [case.person_id], "hinted": []}
    assert Screening.objects.get().candidates_shown == 1


def test_a_person_in_another_team_is_only_a_hint_with_no_personal_data(
    login: Any, register: Any, omar: Any, amina: Any
) -> None:
    theirs = register(omar)  # Fatima Traoré, in the South team
    response = login(amina).post("/cases/register/", SEARCH)
    body = response.content.decode()
    assert "A possible match exists in team South" in body
    for leak in ("Fatima", "Traor", theirs.person.reference, theirs.reference):
        assert leak not in body.split("<main", 1)[1].split("<form", 1)[0], leak
    assert f"/persons/{theirs.person_id}/" not in body
    entry = AuditEntry.objects.get(action="people.match.searched")
    assert entry.data == {"shown": [], "hinted": [theirs.person_id]}


def test_another_agencys_client_is_never_mentioned_without_both_agreeing(
    login: Any, register: Any, xena: Any, amina: Any, adam: Any, make_user: Any
) -> None:
    register(xena)
    body = login(amina).post("/cases/register/", SEARCH).content.decode()
    assert "Other Agency" not in body and "possible match" not in body
    set_match_agreement(by=adam, with_agency=xena.agency, agree=True)  # one side only
    body = login(amina).post("/cases/register/", SEARCH).content.decode()
    assert "possible match" not in body
    theirs = make_user("tariq", agency=xena.agency, role="none", is_administrator=True)
    set_match_agreement(by=theirs, with_agency=amina.agency, agree=True)
    assert MatchAgreement.agencies_matched_with(amina.agency_id) == [xena.agency_id]
    body = login(amina).post("/cases/register/", SEARCH).content.decode()
    assert (
        "A possible match exists in Other Agency" in body
        and "Fatima" not in body.split("<main", 1)[1].split("<form", 1)[0]
    )


def test_the_agreement_is_set_on_the_administrators_screen(
    login: Any, adam: Any, other_agency: Any, amina: Any
) -> None:
    client = login(adam)
    page = client.get("/accounts/matching/").content.decode()
    assert "Other Agency" in page and "Agree to match" in page
    client.post("/accounts/matching/", {"agency": other_agency.code, "agree": "yes"})
    assert MatchAgreement.objects.filter(agency=adam.agency, with_agency=other_agency).exists()
    client.post("/accounts/matching/", {"agency": other_agency.code, "agree": "no"})
    assert not MatchAgreement.objects.exists()
    assert login(amina).get("/accounts/matching/").status_code == 404
    assert AuditEntry.objects.filter(action="accounts.match_agreement.withdrawn").exists()


def test_a_different_person_is_registered_with_what_was_typed_and_the_choice_recorded(
    login: Any, case: Case, amina: Any, programme: Any
) -> None:
    client = login(amina)
    client.post("/cases/register/", SEARCH)
    screening = Screening.objects.get()
    details = client.post(
        "/cases/register/",
        {
            **{k: v for k, v in SEARCH.items() if k != "step"},
            "step": "details",
            "screening": screening.pk,
        },
    ).content.decode()
    assert 'value="Traore"' in details and f'name="screening" value="{screening.pk}"' in details
    today = timezone.localdate()
    response = client.post(
        "/cases/register/",
        {
            **{k: v for k, v in SEARCH.items() if k not in ("step", "outcome", "reason")},
            "given_name": "Fatoumata",
            "screening": screening.pk,
            "disability": "unknown",
            "mobility_status": "unknown",
            "programme": programme.pk,
            "service_type": "case_management",
            "identification_source": "self",
            "identified_on": today,
            "consent_given_by": "client",
            "consent_receive_services": "on",
            "consent_method": "written",
            "consent_given_on": today,
        },
    )
    assert response.status_code == 302, response.content.decode()
    screening.refresh_from_db()
    assert screening.choice == Screening.Choice.NEW_PERSON
    assert screening.case is not None and screening.case.person.given_name == "Fatoumata"
    assert Person.objects.count() == 2


def test_not_eligible_is_recorded_and_nothing_else(login: Any, amina: Any) -> None:
    client = login(amina)
    refused = client.post("/cases/register/", {**SEARCH, "outcome": "not_eligible"})
    assert refused.status_code == 400 and "Say why the person is not eligible." in (
        refused.content.decode()
    )
    done = client.post(
        "/cases/register/", {**SEARCH, "outcome": "not_eligible", "reason": "outside_area"}
    )
    assert done.status_code == 302
    referred = client.post(
        "/cases/register/", {**SEARCH, "outcome": "referred", "referred_to": "Red Cross"}
    )
    assert referred.status_code == 302
    assert Person.objects.count() == 0 and Case.objects.count() == 0
    assert list(Screening.objects.values_list("outcome", "reason", "referred_to")) == [
        ("not_eligible", "outside_area", ""),
        ("referred", "", "Red Cross"),
    ]
    assert not AuditEntry.objects.filter(action="people.match.searched").exists()


def test_the_search_needs_a_name(login: Any, amina: Any) -> None:
    response = login(amina).post(
        "/cases/register/", {**SEARCH, "given_name": "", "family_name": ""}
    )
    assert response.status_code == 400
    assert "Enter at least a given name or a family name." in response.content.decode()


def test_a_name_is_never_searched_through_a_url(login: Any, case: Case, amina: Any) -> None:
    page = login(amina).get("/cases/register/?given_name=Fatima&family_name=Traore")
    assert "Is this person registered already?" not in page.content.decode()
    assert not AuditEntry.objects.filter(action="people.match.searched").exists()


def test_the_best_match_comes_first_with_its_reasons(register: Any, amina: Any) -> None:
    exact = register(amina, given_name="Awa", family_name="Diallo", age=12)
    register(amina, given_name="Awa", family_name="Diallo", age=40)
    register(amina, given_name="Ava", family_name="Dialo", age=12)
    found = find_candidates(
        Query(given_name="Awa", family_name="Diallo", sex="female", estimated_age=12),
        agency_ids=[amina.agency_id],
        today=timezone.localdate(),
    )
    assert found[0].person.pk == exact.person_id
    assert found[0].reasons == ["same_name", "similar_age", "same_sex"]
    assert [f.score for f in found] == sorted((f.score for f in found), reverse=True)
    assert any("age_differs" in f.reasons for f in found)


def test_a_birth_date_counts_more_than_an_age(register: Any, amina: Any) -> None:
    from casework.people import services as people

    case = register(amina, given_name="Moussa", family_name="Keita")
    details = people.details_of(case.person)
    details.date_of_birth = datetime.date(2010, 5, 1)
    people.correct_person(case.person, by=amina, details=details, reason="Certificate")
    same_day = find_candidates(
        Query(given_name="Moussa", family_name="Keita", date_of_birth=datetime.date(2010, 5, 1)),
        agency_ids=[amina.agency_id],
        today=timezone.localdate(),
    )
    same_year = find_candidates(
        Query(given_name="Moussa", family_name="Keita", date_of_birth=datetime.date(2010, 9, 9)),
        agency_ids=[amina.agency_id],
        today=timezone.localdate(),
    )
    assert "same_birth_date" in same_day[0].reasons and "same_birth_year" in same_year[0].reasons
    assert same_day[0].score > same_year[0].score


def test_the_search_reads_at_most_a_capped_number_whatever_the_names(
    register: Any, amina: Any, django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casework.people import matching

    for number in range(6):
        register(amina, given_name="Mohamed", family_name=f"Sow{number}")
    monkeypatch.setattr(matching, "CAP", 3)
    with django_assert_num_queries(2):  # the ids by digest hits, then those persons
        found = find_candidates(
            Query(given_name="Mohamed"), agency_ids=[amina.agency_id], today=timezone.localdate()
        )
    assert len(found) <= 3


def test_a_common_name_is_found_by_its_two_sounds_together(
    register: Any, amina: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casework.people import matching

    # More Fatoumatas and more Traorés than one key is read for: the one registered last is
    # still found, through the pair of sounds, and ranked first.
    for family in ("Diallo", "Keita", "Sow", "Ba", "Kone"):
        register(amina, given_name="Fatoumata", family_name=family, age=20)
    for given in ("Moussa", "Awa", "Salif", "Mariam", "Issa"):
        register(amina, given_name=given, family_name="Traoré", age=20)
    sought = register(amina, given_name="Fatoumata", family_name="Traoré", age=20)
    monkeypatch.setattr(matching, "LIST", 3)
    monkeypatch.setattr(matching, "CAP", 4)
    found = find_candidates(
        Query(given_name="Fatoumata", family_name="Traore", sex="female", estimated_age=20),
        agency_ids=[amina.agency_id],
        today=timezone.localdate(),
    )
    assert found[0].person.pk == sought.person_id


def test_an_outsider_sees_nothing_through_the_service(register: Any, omar: Any, sam: Any) -> None:
    theirs = register(omar)
    matches = find_matches(sam, Query(given_name="Fatima", family_name="Traoré"))
    assert matches.shown == [] and matches.in_teams == ["South"]
    assert Team.objects.get(name="South").pk == theirs.team_id


# --- over the API -------------------------------------------------------------------------------


def test_the_api_shows_the_candidate_and_nothing_of_the_others(
    login: Any, case: Case, register: Any, omar: Any, amina: Any
) -> None:
    theirs = register(omar, given_name="Fatima", family_name="Traoré", age=31)
    response = login(amina).post(
        "/api/v1/persons/matches",
        {"given_name": "Fatima", "family_name": "Traore", "estimated_age": 30, "sex": "female"},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert [c["person"]["id"] for c in body["candidates"]] == [case.person_id]
    assert body["candidates"][0]["reasons"][0] == "same_name"
    assert body["in_teams"] == ["South"]
    text = response.content.decode()
    assert str(theirs.person.reference) not in text and f'"id": {theirs.person_id}' not in text


def test_the_api_records_screenings_and_reports_the_funnel(
    login: Any, amina: Any, mei: Any
) -> None:
    client = login(amina)
    refused = client.post(
        "/api/v1/cases/screenings", {"outcome": "not_eligible"}, content_type="application/json"
    )
    assert refused.status_code == 400 and "reason" in refused.json()["fields"]
    client.post(
        "/api/v1/cases/screenings",
        {"outcome": "not_eligible", "reason": "declined"},
        content_type="application/json",
    )
    screened = client.post(
        "/api/v1/cases/screenings", {"outcome": "eligible"}, content_type="application/json"
    ).json()
    registered = client.post(
        "/api/v1/cases",
        {
            "person": {"given_name": "Binta", "estimated_age": 30},
            "case": {"programme": "CP"},
            "consent": {"receive_services": True},
            "screening": screened["id"],
        },
        content_type="application/json",
    )
    assert registered.status_code == 201, registered.json()
    funnel = login(mei).get("/api/v1/cases/screenings/funnel").json()
    assert (funnel["screened"], funnel["eligible"], funnel["not_eligible"]) == (2, 1, 1)
    assert (funnel["registered"], funnel["new_persons"]) == (1, 1)
