"""Registration over HTTP and through the service: what is stored, what is refused and where."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.db import connection
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.cases.models import Case, Consent, Status, Transition
from casework.people.models import Person


def _form(programme: Any, **overrides: Any) -> dict[str, Any]:
    today = timezone.localdate().isoformat()
    data = {
        "given_name": "Mariam",
        "family_name": "Coulibaly",
        "sex": "female",
        "estimated_age": "24",
        "disability": "no",
        "mobility_status": "idp",
        "programme": programme.pk,
        "service_type": "case_management",
        "identification_source": "community",
        "identified_on": today,
        "risk_level": "high",
        "consent_given_by": "client",
        "consent_receive_services": "on",
        "consent_anonymised_reporting": "on",
        "consent_method": "written",
        "consent_given_on": today,
    }
    data.update(overrides)
    return data


def test_it_registers_a_case_with_person_consent_and_history(
    login: Any, amina: Any, programme: Any
) -> None:
    response = login(amina).post("/cases/register/", _form(programme))
    assert response.status_code == 302
    case = Case.objects.get()
    assert re.fullmatch(r"AGY-\d{4}-000001", case.reference)
    assert response["Location"] == f"/cases/{case.pk}/"
    assert case.status == Status.REGISTERED
    assert case.caseworker == amina and case.team == amina.team
    assert case.age_at_registration == 24
    assert case.next_due_at is not None  # high risk: due within 48 hours
    assert case.next_due_at - timezone.now() <= datetime.timedelta(hours=48)
    assert list(Transition.objects.filter(case=case).values_list("to_status", flat=True)) == [
        "identified",
        "registered",
    ]
    consent = Consent.objects.get(case=case)
    assert consent.receive_services and consent.recorded_by == amina
    assert AuditEntry.objects.filter(action="cases.case.registered", case_id=case.pk).exists()


def test_it_shows_each_error_next_to_its_field_and_writes_nothing(
    login: Any, amina: Any, programme: Any
) -> None:
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = login(amina).post(
        "/cases/register/",
        _form(programme, given_name="", family_name="", identified_on=tomorrow, estimated_age="12"),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_given_name_error"' in body
    assert 'id="id_identified_on_error"' in body
    assert 'id="id_consent_given_by_error"' in body  # a child's consent comes from a caregiver
    assert Case.objects.count() == 0 and Person.objects.count() == 0


def test_names_are_ciphertext_in_the_database(case: Case) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT given_name, family_name, phone FROM people_person")
        given, family, _phone = cursor.fetchone()
        cursor.execute("SELECT * FROM people_person")
        every_column = " ".join(str(value) for value in cursor.fetchone())
    assert given.startswith("cw1$") and family.startswith("cw1$")
    assert "Fatima" not in every_column and "Traoré" not in every_column
    person = Person.objects.get()
    assert (person.given_name, person.family_name) == ("Fatima", "Traoré")


def test_references_count_up_per_agency(register: Any, amina: Any, xena: Any) -> None:
    first = register(amina)
    second = register(amina)
    elsewhere = register(xena)
    assert first.reference.endswith("000001") and second.reference.endswith("000002")
    assert elsewhere.reference.startswith("OTH-") and elsewhere.reference.endswith("000001")


def test_a_supervisor_assigns_within_the_team_only(
    login: Any, sam: Any, amina: Any, omar: Any, programme: Any
) -> None:
    client = login(sam)
    refused = client.post("/cases/register/", _form(programme, caseworker=omar.pk))
    assert refused.status_code == 400
    accepted = client.post("/cases/register/", _form(programme, caseworker=amina.pk))
    assert accepted.status_code == 302
    assert Case.objects.get().caseworker == amina
