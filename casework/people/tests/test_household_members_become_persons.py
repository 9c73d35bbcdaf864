"""The migration that made household members persons: each old row becomes a person linked to
the client both ways, in one household, found by name; a consent names the caregiver person."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("cases", "0009_screening"), ("people", "0003_households_and_relationships")]
AFTER = [("cases", "0010_caregiver_is_a_person"), ("people", "0004_household_members_are_persons")]


@pytest.mark.commits
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_household_members_become_linked_persons_and_consents_follow() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        _check_the_move()
    finally:
        latest = MigrationExecutor(connection)
        latest.migrate(latest.loader.graph.leaf_nodes())


def _check_the_move() -> None:
    executor = MigrationExecutor(connection)
    old = executor.loader.project_state(BEFORE).apps
    agency = old.get_model("accounts", "Agency").objects.create(code="MIG", name="Migrated")
    team = old.get_model("accounts", "Team").objects.create(agency=agency, name="T")
    programme = old.get_model("reference", "Programme").objects.get(code="CP")
    child = old.get_model("people", "Person").objects.create(
        agency=agency, reference="MIG-P-0000001", given_name="Aïcha", family_name="Diallo"
    )
    member = old.get_model("people", "HouseholdMember").objects.create(
        person=child,
        given_name="Hawa",
        family_name="Diallo",
        relationship="mother",
        is_caregiver=True,
        age=35,
        phone="+223 70 00 00 02",
    )
    old.get_model("people", "HouseholdMember").objects.create(
        person=child, given_name="Oumar", relationship="sibling"
    )
    case = old.get_model("cases", "Case").objects.create(
        agency=agency,
        reference="MIG-2026-000001",
        person=child,
        programme=programme,
        identified_on=datetime.date(2026, 1, 5),
        team=team,
    )
    staff = old.get_model("accounts", "User").objects.create(username="mig", agency=agency)
    consent = old.get_model("cases", "Consent").objects.create(
        case=case,
        recorded_by=staff,
        given_by="caregiver",
        caregiver=member,
        receive_services=True,
        given_on=datetime.date(2026, 1, 5),
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    Person = new.get_model("people", "Person")
    Relationship = new.get_model("people", "Relationship")
    hawa = Person.objects.get(reference="MIG-P-0000001-1")
    oumar = Person.objects.get(reference="MIG-P-0000001-2")
    assert (hawa.given_name, hawa.family_name, hawa.phone) == ("Hawa", "Diallo", "+223 70 00 00 02")
    assert hawa.estimated_age == 35 and hawa.age_estimated_on <= timezone.localdate()
    link = Relationship.objects.get(person_id=child.pk, relative=hawa)
    assert (link.kind, link.is_caregiver) == ("parent", True)
    assert Relationship.objects.get(person=hawa, relative_id=child.pk).kind == "child"
    assert Relationship.objects.get(person_id=child.pk, relative=oumar).kind == "sibling"
    households = set(
        Person.objects.filter(pk__in=[child.pk, hawa.pk, oumar.pk]).values_list(
            "household_id", flat=True
        )
    )
    assert len(households) == 1 and None not in households
    assert new.get_model("cases", "Consent").objects.get(pk=consent.pk).caregiver_id == hawa.pk
    from casework.people.services import matching_person_ids

    assert hawa.pk in {row["person_id"] for row in matching_person_ids("Hawa Diallo")}
