"""A client's family and household: relatives are persons linked to the client (both ways, one
household), shown on the case page through the gate, and the caregiver who consents for a child
is one of them."""

from __future__ import annotations

from typing import Any

import pytest

from casework.audit.models import AuditEntry
from casework.cases import services
from casework.cases.models import Case
from casework.people.models import Person, Relationship
from casework.people.services import caregivers_of, link_persons


@pytest.fixture
def child(register: Any, amina: Any) -> Case:
    return register(amina, given_name="Mariam", family_name="Diallo", age=9)


def test_the_caregiver_typed_at_registration_is_a_linked_person(child: Case) -> None:
    caregiver = caregivers_of(child.person).get().relative
    assert (caregiver.given_name, caregiver.family_name) == ("Hawa", "Diallo")
    assert caregiver.agency_id == child.agency_id and caregiver.reference.startswith("AGY-P-")
    assert child.consents.get().caregiver == caregiver
    back = Relationship.objects.get(person=caregiver, relative=child.person)
    assert back.kind == "child" and not back.is_caregiver
    child.person.refresh_from_db()
    caregiver.refresh_from_db()
    assert child.person.household_id is not None
    assert caregiver.household_id == child.person.household_id
    assert not Case.objects.filter(person=caregiver).exists()  # not a client, counted nowhere


def test_a_later_consent_by_the_caregiver_on_record_needs_no_name(child: Case, amina: Any) -> None:
    consent = services.record_consent(
        child,
        by=amina,
        details=services.ConsentDetails(
            receive_services=True, given_by="caregiver", child_assent=True
        ),
    )
    assert consent.caregiver == caregivers_of(child.person).get().relative
    assert Person.objects.count() == 2  # no second caregiver


def test_relatives_are_added_and_shown_on_the_case_page(
    login: Any, child: Case, amina: Any
) -> None:
    client = login(amina)
    response = client.post(
        f"/cases/{child.pk}/relatives/add/",
        {
            "kind": "sibling",
            "given_name": "Oumar",
            "family_name": "Diallo",
            "sex": "male",
            "estimated_age": "14",
            "phone": "",
        },
    )
    assert response.status_code == 302, response.content.decode()
    brother = Relationship.objects.get(person=child.person, kind="sibling").relative
    assert brother.given_name == "Oumar" and brother.estimated_age == 14
    assert Relationship.objects.get(person=brother, relative=child.person).kind == "sibling"
    page = client.get(f"/cases/{child.pk}/").content.decode()
    family = page.split('id="family"', 1)[1].split("</section>", 1)[0]
    assert "Oumar Diallo" in family and "Hawa Diallo" in family and "Sibling" in family
    assert f"/persons/{brother.pk}/" not in family  # no case of his own: no page to open
    assert AuditEntry.objects.filter(action="people.relationship.linked").count() == 2


def test_a_relative_who_is_a_client_is_linked_by_number_and_opened_through_the_gate(
    login: Any, child: Case, register: Any, amina: Any, omar: Any
) -> None:
    sister = register(amina, given_name="Awa", family_name="Diallo", age=16)
    client = login(amina)
    response = client.post(
        f"/cases/{child.pk}/relatives/link/",
        {"reference": sister.person.reference, "kind": "sibling"},
    )
    assert response.status_code == 302
    family = client.get(f"/cases/{child.pk}/").content.decode().split('id="family"', 1)[1]
    assert f"/persons/{sister.person_id}/" in family.split("</section>", 1)[0]
    # Someone of another team is not linked: the number says nothing to her.
    theirs = register(omar, given_name="Bintou", family_name="Diallo")
    refused = client.post(
        f"/cases/{child.pk}/relatives/link/",
        {"reference": theirs.person.reference, "kind": "sibling"},
    )
    assert refused.status_code == 400
    assert "No person you may see has this number." in refused.content.decode()
    assert not Relationship.objects.filter(relative=theirs.person).exists()


def test_a_link_is_removed_both_ways(login: Any, child: Case, amina: Any) -> None:
    caregiver = caregivers_of(child.person).get().relative
    response = login(amina).post(f"/cases/{child.pk}/relatives/{caregiver.pk}/unlink/")
    assert response.status_code == 302
    assert not Relationship.objects.filter(person__in=[child.person, caregiver]).exists()


@pytest.mark.parametrize("who", ["omar", "olga", "paul", "mei", "priya", "adam", "xena"])
def test_only_those_who_may_change_the_case_record_relatives(
    who: str, request: pytest.FixtureRequest, login: Any, child: Case
) -> None:
    client = login(request.getfixturevalue(who))
    form = {"kind": "sibling", "given_name": "Oumar", "sex": "male"}
    assert client.post(f"/cases/{child.pk}/relatives/add/", form).status_code == 404
    caregiver = caregivers_of(child.person).get().relative
    unlink = client.post(f"/cases/{child.pk}/relatives/{caregiver.pk}/unlink/")
    assert unlink.status_code == 404
    assert Relationship.objects.filter(person=child.person).count() == 1


def test_a_person_cannot_be_linked_across_agencies_or_to_themselves(
    child: Case, register: Any, amina: Any, xena: Any
) -> None:
    from casework.core.errors import FieldErrors

    theirs = register(xena)
    with pytest.raises(FieldErrors):
        link_persons(child.person, theirs.person, kind="sibling", by=amina)
    with pytest.raises(FieldErrors):
        link_persons(child.person, child.person, kind="sibling", by=amina)


def test_the_api_reads_adds_and_removes_relationships(login: Any, child: Case, amina: Any) -> None:
    client = login(amina)
    url = f"/api/v1/persons/{child.person_id}/relationships"
    listed = client.get(url).json()
    assert [(r["kind"], r["is_caregiver"]) for r in listed] == [("parent", True)]
    assert listed[0]["relative"]["given_name"] == "Hawa"
    added = client.post(
        url,
        {"kind": "other_relative", "given_name": "Fanta", "estimated_age": 60},
        content_type="application/json",
    )
    assert added.status_code == 201, added.json()
    aunt = next(r for r in added.json() if r["kind"] == "other_relative")["relative"]
    removed = client.delete(f"{url}/{aunt['id']}")
    assert removed.status_code == 200 and len(removed.json()) == 1


def test_the_programme_manager_reads_links_without_names(
    login: Any, child: Case, paul: Any
) -> None:
    listed = login(paul).get(f"/api/v1/persons/{child.person_id}/relationships").json()
    assert listed[0]["relative"]["given_name"] is None
