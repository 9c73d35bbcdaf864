"""Retention: who is anonymised, who is not, what is blanked and what indicators keep."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.cases import services
from casework.cases.models import (
    Case,
    CaseNote,
    ClosureReason,
    Consent,
    ContactType,
    NoteRevision,
    Status,
    Transition,
)
from casework.core.schedule import enqueue_due, load_registry
from casework.people.models import MobilityStatus, Person, PersonNameIndex, Relationship
from casework.people.services import matching_person_ids
from casework.retention import services as retention
from casework.retention.tasks import apply_retention_daily

TODAY = datetime.date.today()  # noqa: DTZ011 - the services' own "today" in tests
RETENTION = 7 * 365


def _close(case: Case, by: Any) -> Case:
    services.transition_case(case, to=Status.CLOSED, by=by, closure_reason=ClosureReason.NEEDS_MET)
    case.refresh_from_db()
    return case


def _closed_days_ago(case: Case, days: int) -> None:
    Case.objects.filter(pk=case.pk).update(closed_on=TODAY - datetime.timedelta(days=days))


def _past_retention() -> datetime.date:
    """The first day on which a case closed today is past the default retention period."""
    return TODAY + datetime.timedelta(days=RETENTION + 1)


@pytest.fixture
def closed_case(register: Any, amina: Any) -> Case:
    """A child's closed case with every kind of personal data: household, notes, history."""
    case = register(amina, given_name="Aïcha", family_name="Diallo", age=12)
    person = case.person
    person.other_names = "Ayesha"
    person.phone = "+223 70 00 00 01"
    person.address = "Behind the market, Bamako"
    person.date_of_birth = datetime.date(2014, 3, 9)
    person.mobility_status = MobilityStatus.IDP
    person.nationality = "ML"
    person.save()
    Case.objects.filter(pk=case.pk).update(age_at_registration=12)
    note = services.add_note(
        case, by=amina, text="Met Aïcha at school.", contact_type=ContactType.SCHOOL
    )
    services.edit_note(
        note,
        by=amina,
        text="Met Aïcha and her aunt at school.",
        contact_type=ContactType.SCHOOL,
        contact_on=note.contact_on,
        expected_version=1,
    )
    consent = case.consents.get()
    consent.caregiver_name = "Hawa Diallo"
    consent.save(update_fields=["caregiver_name"])  # encrypted with the case's agency key
    services.transition_case(case, to=Status.PAUSED, by=amina, reason="Aunt took her to Kayes")
    services.withdraw_consent(consent, by=amina, reason="The aunt refused further visits")
    return _close(case, amina)


def test_it_anonymises_a_person_whose_cases_closed_longer_ago_than_retention(
    closed_case: Case,
) -> None:
    report = retention.apply_retention(today=_past_retention())

    assert report.people == {"AGY": 1}
    person = Person.objects.get(pk=closed_case.person_id)
    assert person.anonymised_at is not None
    assert (person.given_name, person.family_name, person.other_names) == ("", "", "")
    assert (person.phone, person.address, person.date_of_birth) == ("", "", None)
    caregiver = Relationship.objects.get(person=person, is_caregiver=True).relative
    assert (caregiver.given_name, caregiver.family_name, caregiver.phone) == ("", "", "")
    assert caregiver.anonymised_at is not None  # no one's client, linked to no one else
    assert CaseNote.objects.get(case=closed_case).text == ""
    assert [r.text for r in NoteRevision.objects.filter(note__case=closed_case)] == [""]
    assert {t.reason for t in Transition.objects.filter(case=closed_case)} == {""}
    consent = Consent.objects.get(case=closed_case)
    assert (consent.caregiver_name, consent.withdrawal_reason) == ("", "")
    assert not PersonNameIndex.objects.filter(person=person).exists()
    assert not matching_person_ids("Aicha Diallo").exists()


def test_it_leaves_no_ciphertext_behind(closed_case: Case) -> None:
    retention.apply_retention(today=_past_retention())

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT given_name, family_name, other_names, date_of_birth, phone, address "
            "FROM people_person WHERE id = %s",
            [closed_case.person_id],
        )
        row = cursor.fetchone()
        cursor.execute("SELECT text FROM cases_casenote WHERE case_id = %s", [closed_case.pk])
        notes = cursor.fetchall()
    assert all(not value for value in row)
    assert notes == [("",)]


def test_it_keeps_what_indicators_count(closed_case: Case) -> None:
    before = Case.objects.values().get(pk=closed_case.pk)
    transitions_before = list(Transition.objects.filter(case=closed_case).values_list("to_status"))

    retention.apply_retention(today=_past_retention())

    after = Case.objects.values().get(pk=closed_case.pk)
    assert after == before  # status, dates, age at registration, location, team: all kept
    assert after["age_at_registration"] == 12
    person = Person.objects.get(pk=closed_case.person_id)
    assert (person.sex, person.mobility_status, person.nationality, person.disability) == (
        "female",
        MobilityStatus.IDP,
        "ML",
        "unknown",
    )
    assert person.reference
    link = Relationship.objects.get(person=person, is_caregiver=True)
    assert (link.kind, link.is_caregiver) == ("parent", True)
    assert list(Transition.objects.filter(case=closed_case).values_list("to_status")) == (
        transitions_before
    )
    assert Consent.objects.get(case=closed_case).withdrawn_on is not None


def test_it_leaves_an_open_case_alone(case: Case) -> None:
    report = retention.apply_retention(today=_past_retention())

    assert report.total == 0
    person = Person.objects.get(pk=case.person_id)
    assert person.anonymised_at is None
    assert person.given_name == "Fatima"


def test_it_waits_until_the_retention_period_is_over(case: Case, amina: Any) -> None:
    _close(case, amina)
    last_day_kept = TODAY + datetime.timedelta(days=RETENTION)

    assert retention.apply_retention(today=last_day_kept).total == 0
    assert Person.objects.get(pk=case.person_id).given_name == "Fatima"
    assert retention.apply_retention(today=last_day_kept + datetime.timedelta(days=1)).total == 1


def test_it_keeps_a_person_with_one_open_and_one_old_closed_case(register: Any, amina: Any) -> None:
    old = _close(register(amina), amina)
    _closed_days_ago(old, RETENTION + 100)
    still_open = register(amina, given_name="Other")
    Case.objects.filter(pk=still_open.pk).update(person=old.person)

    assert retention.apply_retention().total == 0
    assert Person.objects.get(pk=old.person_id).given_name == "Fatima"


def test_it_anonymises_once_every_case_of_the_person_is_past_retention(
    register: Any, amina: Any
) -> None:
    first = _close(register(amina), amina)
    second = _close(register(amina, given_name="Other"), amina)
    Case.objects.filter(pk=second.pk).update(person=first.person)
    _closed_days_ago(first, RETENTION + 100)
    _closed_days_ago(second, RETENTION - 1)

    assert retention.apply_retention().people["AGY"] == 0
    _closed_days_ago(second, RETENTION + 1)
    assert retention.apply_retention().people["AGY"] == 1
    assert Person.objects.get(pk=first.person_id).anonymised_at is not None


def test_a_dry_run_changes_nothing(closed_case: Case) -> None:
    entries = AuditEntry.objects.count()

    report = retention.apply_retention(today=_past_retention(), dry_run=True)

    assert report.people == {"AGY": 1}
    person = Person.objects.get(pk=closed_case.person_id)
    assert person.anonymised_at is None
    assert person.given_name == "Aïcha"
    assert PersonNameIndex.objects.filter(person=person).exists()
    assert AuditEntry.objects.count() == entries


def test_it_audits_each_batch_with_counts_only(register: Any, amina: Any, agency: Any) -> None:
    for name in ("Ana", "Bea", "Cleo"):
        _close(register(amina, given_name=name), amina)

    retention.apply_retention(today=_past_retention(), batch_size=2)

    entries = AuditEntry.objects.filter(action="retention.anonymised").order_by("id")
    assert [(e.data, e.agency_id, e.actor_id) for e in entries] == [
        ({"people": 2}, agency.pk, None),
        ({"people": 1}, agency.pk, None),
    ]
    assert Person.objects.filter(anonymised_at__isnull=True).count() == 0


def test_it_uses_each_agencys_own_retention_period(
    register: Any, amina: Any, xena: Any, agency: Any
) -> None:
    ours = _close(register(amina), amina)
    theirs = _close(register(xena), xena)
    agency.retention_days = 30
    agency.save(update_fields=["retention_days"])

    report = retention.apply_retention(today=TODAY + datetime.timedelta(days=31))

    assert report.people == {"AGY": 1, "OTH": 0}
    assert Person.objects.get(pk=ours.person_id).anonymised_at is not None
    assert Person.objects.get(pk=theirs.person_id).anonymised_at is None


def test_it_does_not_anonymise_anyone_twice(closed_case: Case) -> None:
    retention.apply_retention(today=_past_retention())
    anonymised_at = Person.objects.get(pk=closed_case.person_id).anonymised_at

    assert retention.apply_retention(today=_past_retention()).total == 0
    assert Person.objects.get(pk=closed_case.person_id).anonymised_at == anonymised_at


def test_it_rechecks_the_cases_under_lock_before_anonymising(case: Case, amina: Any) -> None:
    # Selected as due, then reopened before the batch ran: the locked re-check keeps it.
    _close(case, amina)
    cutoff = TODAY + datetime.timedelta(days=1)
    assert retention.lock_still_due([case.person_id], cutoff) == [case.person_id]
    services.transition_case(case, to=Status.REOPENED, by=amina, reason="She came back")
    assert retention.lock_still_due([case.person_id], cutoff) == []


def test_the_command_reports_and_anonymises(closed_case: Case) -> None:
    _closed_days_ago(closed_case, RETENTION + 1)
    out = io.StringIO()

    call_command("retention", "run", "--dry-run", stdout=out)
    assert "AGY: 1 people would be anonymised" in out.getvalue()
    assert Person.objects.get(pk=closed_case.person_id).anonymised_at is None

    call_command("retention", "run", "--agency", "AGY", stdout=out)
    assert "AGY: 1 people anonymised" in out.getvalue()
    assert Person.objects.get(pk=closed_case.person_id).anonymised_at is not None


def test_it_runs_daily_from_the_scheduler(closed_case: Case) -> None:
    _closed_days_ago(closed_case, RETENTION + 1)
    job = load_registry()[apply_retention_daily.module_path]
    assert job.interval == datetime.timedelta(days=1)

    # The test settings run tasks immediately on enqueue.
    enqueued = enqueue_due(timezone.now())

    assert apply_retention_daily.module_path in enqueued
    assert Person.objects.get(pk=closed_case.person_id).anonymised_at is not None


def test_a_relative_who_is_also_a_client_keeps_their_data(
    closed_case: Case, register: Any, amina: Any
) -> None:
    from casework.people.services import link_persons

    sister_case = register(amina, given_name="Mariam", family_name="Diallo", age=16)
    link_persons(closed_case.person, sister_case.person, kind="sibling", by=amina)
    retention.apply_retention(today=_past_retention())
    sister = Person.objects.get(pk=sister_case.person_id)
    assert sister.anonymised_at is None and sister.given_name == "Mariam"
    assert Person.objects.get(pk=closed_case.person_id).anonymised_at is not None
