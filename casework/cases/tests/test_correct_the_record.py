"""Correcting a person's details and a case's registration facts: the old values are kept as
revision rows (encrypted), the timeline and the audit trail say who changed what and why, and the
next report counts the corrected facts."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.cases import corrections, services
from casework.cases.models import Case, CaseRevision, Status
from casework.core.errors import CaseworkError, Conflict, FieldErrors
from casework.indicators.periods import parse_period
from casework.indicators.report import build_report
from casework.people import services as people
from casework.people.models import PersonRevision
from casework.people.services import matching_person_ids
from casework.reference.models import Location, ProtectionConcern

TODAY = datetime.date.today  # noqa: DTZ011 (the tests' dates are calendar days)


def _children_counted(case: Case) -> int:
    """CM_CHILDREN_YOUTH for the case's agency over this year."""
    report = build_report(
        agency_id=case.agency_id,
        agency_code=case.agency.code,
        period=parse_period(str(timezone.localdate().year)),
        min_cell=1,
        codes=["CM_CHILDREN_YOUTH"],
    )
    return report.indicators[0].total.figures[0]


def _planned(case: Case, by: Any) -> Case:
    services.transition_case(case, to=Status.ASSESSED, by=by)
    services.transition_case(case, to=Status.PLANNED, by=by)
    return case


def _form(case: Case, **changes: Any) -> dict[str, Any]:
    """The correction form as the page fills it, with `changes` typed over it."""
    person = case.person
    data: dict[str, Any] = {
        "given_name": person.given_name,
        "family_name": person.family_name,
        "other_names": person.other_names,
        "sex": person.sex,
        "date_of_birth": person.date_of_birth or "",
        "estimated_age": person.estimated_age if person.estimated_age is not None else "",
        "nationality": person.nationality,
        "disability": person.disability,
        "mobility_status": person.mobility_status,
        "languages": person.languages,
        "phone": person.phone,
        "address": person.address,
        "programme": case.programme_id,
        "service_type": case.service_type,
        "identification_source": case.identification_source,
        "identified_on": case.identified_on,
        "registered_on": case.registered_on or "",
        "primary_concern": case.primary_concern_id or "",
        "secondary_concerns": [c.pk for c in case.secondary_concerns.all()],
        "location": case.location_id or "",
        "case_version": case.version,
        "person_version": case.person.version,
        "reason": "Typed from the wrong form",
    }
    return data | changes


def test_a_corrected_birth_date_changes_the_next_report_and_keeps_the_old_one(
    login: Any, case: Case, amina: Any
) -> None:
    _planned(case, amina)
    assert case.age_at_registration == 30 and _children_counted(case) == 0
    born = TODAY() - datetime.timedelta(days=365 * 10 + 40)
    response = login(amina).post(
        f"/cases/{case.pk}/correct/", _form(case, date_of_birth=born, estimated_age="")
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.age_at_registration == 10
    assert case.person.date_of_birth == born and case.person.estimated_age is None
    assert _children_counted(case) == 1
    revision = PersonRevision.objects.get(person=case.person)
    assert revision.fields == ["date_of_birth", "estimated_age"]
    assert json.loads(revision.previous) == {"date_of_birth": None, "estimated_age": 30}
    assert revision.reason == "Typed from the wrong form" and revision.corrected_by == amina
    entry = AuditEntry.objects.get(action="people.person.corrected")
    assert entry.case_id == case.pk and entry.data["fields"] == ["date_of_birth", "estimated_age"]


def test_the_old_values_are_stored_encrypted(case: Case, amina: Any) -> None:
    details = people.details_of(case.person)
    details.given_name = "Fatoumata"
    people.correct_person(case.person, by=amina, details=details, reason="Spelling")
    with connection.cursor() as cursor:
        cursor.execute("SELECT previous, reason FROM people_personrevision")
        previous, reason = cursor.fetchone()
    assert "Fatima" not in previous and "Spelling" not in reason
    assert json.loads(PersonRevision.objects.get().previous) == {"given_name": "Fatima"}


def test_the_name_search_finds_the_corrected_name_only(case: Case, amina: Any) -> None:
    details = people.details_of(case.person)
    details.given_name, details.family_name = "Mariam", "Keita"
    people.correct_person(case.person, by=amina, details=details, reason="Spelling")
    assert case.person_id in {row["person_id"] for row in matching_person_ids("Mariam Keita")}
    assert case.person_id not in {row["person_id"] for row in matching_person_ids("Traoré")}


def test_registration_facts_are_corrected_with_their_history_on_the_timeline(
    login: Any, case: Case, amina: Any, sam: Any
) -> None:
    trafficking = ProtectionConcern.objects.exclude(code="separated").first()
    place = Location.objects.create(code="ML-BKO", name="Bamako", adm1_code="ML-BKO")
    assert trafficking is not None
    client = login(sam)  # the team's supervisor may correct too
    response = client.post(
        f"/cases/{case.pk}/correct/",
        _form(case, primary_concern=trafficking.pk, location=place.pk, sex="male"),
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.primary_concern == trafficking and case.location == place
    assert case.person.sex == "male"
    revision = CaseRevision.objects.get(case=case)
    assert revision.fields == ["primary_concern", "location"]
    assert json.loads(revision.previous) == {"primary_concern": "separated", "location": None}
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Case details corrected" in page and "Person's details corrected" in page
    assert "Typed from the wrong form" in page
    timeline = client.get(f"/api/v1/cases/{case.pk}/timeline").json()
    corrected = [event for event in timeline if event["kind"] == "correction"]
    assert {event["corrected"] for event in corrected} == {"case", "person"}
    assert any(event["previous"] == {"sex": "Female"} for event in corrected)


def test_a_corrected_registration_date_recomputes_the_age_at_registration(
    case: Case, amina: Any
) -> None:
    details = people.details_of(case.person)
    eighteen = TODAY() - datetime.timedelta(days=1)  # the 18th birthday was yesterday
    details.date_of_birth = eighteen.replace(year=eighteen.year - 18)
    people.correct_person(case.person, by=amina, details=details, reason="Birth certificate")
    case.refresh_from_db()
    assert case.age_at_registration == 18  # registered today
    facts = corrections.facts_of(case)
    facts.registered_on = TODAY() - datetime.timedelta(days=2)
    corrections.correct_registration(case, by=amina, facts=facts, reason="Registered earlier")
    case.refresh_from_db()
    assert case.registered_on == TODAY() - datetime.timedelta(days=2)
    assert case.age_at_registration == 17


def test_a_correction_needs_a_reason_and_a_change(case: Case, amina: Any) -> None:
    details = people.details_of(case.person)
    with pytest.raises(CaseworkError) as nothing:
        people.correct_person(case.person, by=amina, details=details, reason="No change")
    assert nothing.value.code == "no_change"
    details.sex = "male"
    with pytest.raises(FieldErrors) as no_reason:
        people.correct_person(case.person, by=amina, details=details, reason=" ")
    assert "reason" in no_reason.value.errors
    facts = corrections.facts_of(case)
    facts.registered_on = facts.identified_on - datetime.timedelta(days=1)
    with pytest.raises(FieldErrors) as early:
        corrections.correct_registration(case, by=amina, facts=facts, reason="x")
    assert "registered_on" in early.value.errors
    assert not PersonRevision.objects.exists() and not CaseRevision.objects.exists()


def test_bad_values_are_refused_field_by_field_and_nothing_changes(
    login: Any, case: Case, amina: Any
) -> None:
    future = TODAY() + datetime.timedelta(days=3)
    response = login(amina).post(
        f"/cases/{case.pk}/correct/",
        _form(case, date_of_birth=future, given_name="", family_name="", identified_on=future),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The date of birth cannot be in the future." in body
    assert "Enter at least a given name or a family name." in body
    assert "The identification date cannot be in the future." in body
    case.refresh_from_db()
    assert case.person.given_name == "Fatima" and case.identified_on != future
    assert not PersonRevision.objects.exists() and not CaseRevision.objects.exists()


def test_a_stale_form_is_refused_with_a_way_to_reload(login: Any, case: Case, amina: Any) -> None:
    stale = _form(case, nationality="Malian")
    details = people.details_of(case.person)
    details.languages = "Bambara"
    people.correct_person(case.person, by=amina, details=details, reason="Asked again")
    response = login(amina).post(f"/cases/{case.pk}/correct/", stale)
    assert response.status_code == 400
    body = response.content.decode()
    assert "changed by someone else" in body and "Reload to see their changes" in body
    case.person.refresh_from_db()
    assert case.person.nationality == "" and case.person.languages == "Bambara"


def test_a_stale_version_changes_nothing_in_the_service(case: Case, amina: Any) -> None:
    details = people.details_of(case.person)
    details.sex = "male"
    with pytest.raises(Conflict):
        people.correct_person(
            case.person, by=amina, details=details, reason="x", expected_version=99
        )
    case.person.refresh_from_db()
    assert case.person.sex == "female"


@pytest.mark.parametrize("who", ["omar", "olga", "paul", "mei", "priya", "adam", "xena"])
def test_only_the_caseworker_and_the_teams_supervisor_may_correct(
    who: str, request: pytest.FixtureRequest, login: Any, case: Case
) -> None:
    client = login(request.getfixturevalue(who))
    assert client.get(f"/cases/{case.pk}/correct/").status_code == 404
    assert client.post(f"/cases/{case.pk}/correct/", _form(case, sex="male")).status_code == 404
    headers = {"If-Match": f'"{case.version}"'}
    patched = client.patch(
        f"/api/v1/cases/{case.pk}",
        {"reason": "x"},
        content_type="application/json",
        headers=headers,
    )
    assert patched.status_code == 404
    patched = client.patch(
        f"/api/v1/persons/{case.person_id}",
        {"reason": "x", "sex": "male"},
        content_type="application/json",
        headers={"If-Match": '"1"'},
    )
    assert patched.status_code == 404
    case.person.refresh_from_db()
    assert case.person.sex == "female"


def test_opening_the_form_is_an_audited_read(login: Any, case: Case, amina: Any) -> None:
    AuditEntry.objects.filter(action="cases.case.viewed").delete()
    assert login(amina).get(f"/cases/{case.pk}/correct/").status_code == 200
    assert AuditEntry.objects.filter(action="cases.case.viewed", case_id=case.pk).count() == 1


# --- over the API -------------------------------------------------------------------------------


def test_the_api_corrects_a_person_with_if_match(login: Any, case: Case, amina: Any) -> None:
    client = login(amina)
    read = client.get(f"/api/v1/persons/{case.person_id}")
    assert read.status_code == 200 and read.json()["cases"] == [case.pk]
    tag = read.headers["ETag"]
    url = f"/api/v1/persons/{case.person_id}"
    body = {"reason": "Birth certificate", "date_of_birth": "2015-01-01"}
    missing = client.patch(url, body, content_type="application/json")
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    done = client.patch(url, body, content_type="application/json", headers={"If-Match": tag})
    assert done.status_code == 200, done.json()
    assert done.json()["date_of_birth"] == "2015-01-01" and done.headers["ETag"] != tag
    stale = client.patch(url, body, content_type="application/json", headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    case.refresh_from_db()
    assert case.registered_on is not None
    assert case.age_at_registration == case.person.age_on(case.registered_on)


def test_the_api_corrects_registration_facts(login: Any, case: Case, amina: Any) -> None:
    client = login(amina)
    tag = client.get(f"/api/v1/cases/{case.pk}").headers["ETag"]
    response = client.patch(
        f"/api/v1/cases/{case.pk}",
        {"reason": "Wrong programme", "service_type": "ipa", "secondary_concerns": ["separated"]},
        content_type="application/json",
        headers={"If-Match": tag},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["service_type"] == "ipa"
    assert response.json()["secondary_concerns"] == ["separated"]
    revision = CaseRevision.objects.get(case=case)
    assert revision.fields == ["service_type", "secondary_concerns"]


def test_the_api_checks_the_gate_then_the_version_then_the_body(
    login: Any, case: Case, amina: Any, omar: Any
) -> None:
    url = f"/api/v1/cases/{case.pk}"
    bad = {"service_type": "no such thing"}  # and no reason
    assert login(omar).patch(url, bad, content_type="application/json").status_code == 404
    client = login(amina)
    assert client.patch(url, bad, content_type="application/json").status_code == 428
    stale = {"If-Match": '"999"'}
    assert client.patch(url, bad, content_type="application/json", headers=stale).status_code == 412
    fresh = {"If-Match": f'"{case.version}"'}
    response = client.patch(url, bad, content_type="application/json", headers=fresh)
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"reason", "service_type"}
