"""Data written before agencies had their own keys moves to them (`casework reencrypt
--to-agency-keys`, resumable and idempotent); a transferred case moves to the receiving
agency's keys."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from casework.accounts.models import Agency, Team
from casework.audit.models import AuditEntry
from casework.cases import services, workflow
from casework.cases.models import Case, ContactType
from casework.people.models import Person, PersonNameIndex
from casework.people.services import matching_person_ids
from casework.retention import rekeying
from casework.vault import blind, keys, rotation
from casework.vault.crypto import decrypt_bytes, encrypt_bytes, key_id_of
from casework.vault.models import Checkpoint, DataKey


def _reencrypt(*options: str) -> str:
    out = io.StringIO()
    call_command("reencrypt", *options, stdout=out)
    return out.getvalue()


def _values_by_owner() -> dict[str, set[int | None]]:
    """For each table, the owners of the keys its stored values are encrypted with."""
    owner_of: dict[int | None, int | None] = dict(DataKey.objects.values_list("pk", "agency_id"))
    found: dict[str, set[int | None]] = {}
    for table in rotation.encrypted_tables():
        for batch in rotation.raw_batches(table, batch_size=1000):
            for _pk, _owner, *values in batch:
                for value in values:
                    if value:
                        found.setdefault(table.label, set()).add(owner_of[key_id_of(value)])
    return found


def _as_before_agency_keys() -> None:
    """Rewrite every stored value and name digest as they were before agencies had keys: under
    the instance's data key and its (old) blind-index key."""
    for table in rotation.encrypted_tables():
        for batch in rotation.raw_batches(table, batch_size=1000):
            for pk, _owner, *values in batch:
                for col, value in zip(table.encrypted, values, strict=True):
                    if not value:
                        continue
                    plain = decrypt_bytes(value, context=col.context)
                    assert plain is not None
                    legacy = encrypt_bytes(plain, context=col.context, agency_id=None)
                    with connection.cursor() as cursor:
                        cursor.execute(
                            f"UPDATE {table.model._meta.db_table} SET {col.column} = %s "  # noqa: S608
                            "WHERE id = %s",
                            [legacy, pk],
                        )
    keys.create_data_key(DataKey.Purpose.INDEX, agency_id=None)
    for person in Person.objects.all():
        PersonNameIndex.objects.filter(person=person).delete()
        PersonNameIndex.objects.bulk_create(
            PersonNameIndex(person=person, agency_id=person.agency_id, kind=kind, digest=digest)
            for kind, digest in blind.name_digests(
                person.given_name, person.family_name, person.other_names, agency_id=None
            )
        )


@pytest.fixture
def legacy(register: Any, amina: Any, xena: Any) -> tuple[Case, Case]:
    here = register(amina, given_name="Aïcha", family_name="Diallo", age=12)
    services.add_note(here, by=amina, text="Met Aïcha at school.", contact_type=ContactType.SCHOOL)
    there = register(xena, given_name="Binta", family_name="Sow")
    _as_before_agency_keys()
    assert all(owners == {None} for owners in _values_by_owner().values())
    return here, there


def test_it_moves_every_value_to_its_agency_key_and_rebuilds_the_name_index(
    legacy: tuple[Case, Case],
) -> None:
    here, there = legacy
    # Meanwhile the old index still finds people.
    assert here.person_id in {row["person_id"] for row in matching_person_ids("Aïcha Diallo")}

    output = _reencrypt("--to-agency-keys", "--batch-size", "2")

    owners = _values_by_owner()
    assert owners["people.person"] == {here.agency_id, there.agency_id}
    assert owners["cases.casenote"] == {here.agency_id}
    # Given and family names of the two clients and of the child's caregiver.
    assert "people.person: 6 values re-encrypted" in output
    assert not DataKey.objects.filter(purpose=DataKey.Purpose.INDEX, agency__isnull=True).exists()
    assert "old name-index key was deleted" in output
    keys.clear_cache()
    for case in (here, there):
        person = Person.objects.get(pk=case.person_id)
        expected = blind.name_digests(
            person.given_name, person.family_name, person.other_names, agency_id=case.agency_id
        )
        assert set(
            PersonNameIndex.objects.filter(person=person).values_list("kind", "digest")
        ) == set(expected)
    assert here.person_id in {row["person_id"] for row in matching_person_ids("Aïcha Diallo")}
    assert Case.objects.get(pk=here.pk).notes.get().text == "Met Aïcha at school."
    assert not Checkpoint.objects.exists()


def test_a_stopped_run_resumes_after_the_last_batch_it_committed(
    legacy: tuple[Case, Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rotation._compare_and_set
    writes = 0

    def fail_on_the_third(*args: Any, **kwargs: Any) -> bool:
        nonlocal writes
        writes += 1
        if writes == 3:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or a killed process
        return real(*args, **kwargs)

    monkeypatch.setattr(rotation, "_compare_and_set", fail_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        _reencrypt("--to-agency-keys", "--batch-size", "1")
    saved = Checkpoint.objects.get(job=rekeying.JOB, step="people.person")
    assert saved.position > 0 and saved.finished_at is None

    starts: list[Any] = []
    batches = rotation.raw_batches

    def spy(table: Any, **kwargs: Any) -> Any:
        if table.label == "people.person":
            starts.append(kwargs.get("after"))
        return batches(table, **kwargs)

    monkeypatch.setattr(rotation, "raw_batches", spy)
    monkeypatch.setattr(rotation, "_compare_and_set", real)
    _reencrypt("--to-agency-keys", "--batch-size", "1")

    assert starts == [saved.position]
    owners = _values_by_owner()
    assert all(None not in found for found in owners.values())


def test_running_it_again_changes_nothing(legacy: tuple[Case, Case]) -> None:
    _reencrypt("--to-agency-keys")
    before = _values_by_owner()

    output = _reencrypt("--to-agency-keys")

    assert "re-encrypted" not in output
    assert _values_by_owner() == before


def test_a_transferred_case_moves_to_the_receiving_agency_s_keys(
    case: Case, amina: Any, other_agency: Any, make_user: Any
) -> None:
    team = Team.objects.create(agency=other_agency, name="Intake")
    rita = make_user("rita", agency=other_agency, team=team, role="supervisor")
    services.add_note(case, by=amina, text="Family moving north.", contact_type=ContactType.PHONE)
    services.record_consent(
        case,
        by=amina,
        details=services.ConsentDetails(
            receive_services=True,
            recipients=[
                services.RecipientDetails(
                    organisation_name=other_agency.name,
                    organisation_code=other_agency.code,
                    purpose="transfer",
                )
            ],
        ),
    )
    transfer = workflow.request_transfer(
        case, to_agency=other_agency, by=amina, reason="Moving", summary="Needs school"
    )
    workflow.decide_transfer(transfer, by=rita, accept=True)

    owners = _values_by_owner()
    for label in ("people.person", "cases.casenote", "cases.transferrequest", "cases.transition"):
        assert owners[label] == {other_agency.pk}, label
    keys.clear_cache()
    moved = Case.objects.get(pk=case.pk)
    assert moved.notes.get().text == "Family moving north."
    found = PersonNameIndex.objects.filter(person_id=moved.person_id)
    assert set(found.values_list("agency_id", flat=True)) == {other_agency.pk}
    assert set(found.values_list("kind", "digest")) == set(
        blind.name_digests("Fatima", "Traoré", "", agency_id=other_agency.pk)
    )


def test_the_importer_and_the_demo_data_write_with_agency_keys_from_the_start(db: Any) -> None:
    from casework.interchange.example import load_example

    call_command("demo", "--cases", "20", "--seed", "5", stdout=io.StringIO())
    load_example("EXA")

    owners = _values_by_owner()
    assert None not in set().union(*owners.values())
    example = Agency.objects.get(code="EXA").pk  # dates of birth and plan texts, no names
    assert example in owners["people.person"] and example in owners["plans.caseplan"]
    assert not DataKey.objects.filter(purpose=DataKey.Purpose.INDEX, agency__isnull=True).exists()
    named = [person for person in Person.objects.order_by("pk") if person.given_name]
    assert len(named) == 20  # the demo's
    for person in named:
        expected = blind.name_digests(
            person.given_name, person.family_name, person.other_names, agency_id=person.agency_id
        )
        indexed = set(PersonNameIndex.objects.filter(person=person).values_list("kind", "digest"))
        assert indexed == set(expected), person.reference


def test_a_transferred_case_s_rows_changed_meanwhile_are_gone_over_again(
    case: Case, other_agency: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    Case.objects.filter(pk=case.pk).update(agency=other_agency)
    Person.objects.filter(pk=case.person_id).update(agency=other_agency)
    case.refresh_from_db()
    written = rotation._compare_and_set
    refusals = iter([False])  # the first write finds the row changed by the application

    def changed_once(*args: Any) -> bool:
        return next(refusals, True) and written(*args)

    monkeypatch.setattr(rotation, "_compare_and_set", changed_once)

    report = rekeying.rekey_transferred_case(case, to_agency_id=other_agency.pk)

    assert report.skipped_changed == 0
    assert _values_by_owner()["people.person"] == {other_agency.pk}
    assert not AuditEntry.objects.filter(action="retention.transfer.rekey_incomplete").exists()


def test_a_transferred_case_left_under_the_old_key_is_audited(
    case: Case, other_agency: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    Case.objects.filter(pk=case.pk).update(agency=other_agency)
    Person.objects.filter(pk=case.person_id).update(agency=other_agency)
    case.refresh_from_db()
    monkeypatch.setattr(rotation, "_compare_and_set", lambda *args: False)  # always changed

    report = rekeying.rekey_transferred_case(case, to_agency_id=other_agency.pk)

    entry = AuditEntry.objects.get(action="retention.transfer.rekey_incomplete")
    assert entry.case_id == case.pk and entry.data["skipped_changed"] == report.skipped_changed > 0
    assert entry.outcome == AuditEntry.Outcome.FAILED
