"""Each agency's personal data is encrypted and indexed with its own keys, so it can be destroyed
on its own; keys made in a transaction that rolls back are never used; the key file is watched."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from casework.cases.models import Case
from casework.people.models import Person, PersonNameIndex
from casework.people.services import matching_person_ids
from casework.vault import blind, keys
from casework.vault.checks import check_vault_agency
from casework.vault.crypto import Unreadable, decrypt_text, encrypt_text, key_id_of
from casework.vault.fields import agency_of, encrypting_for
from casework.vault.models import DataKey


def _raw_given_name(person_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT given_name FROM people_person WHERE id = %s", [person_id])
        return str(cursor.fetchone()[0])


def _owner(ciphertext: str) -> int | None:
    key_id = key_id_of(ciphertext)
    assert key_id is not None
    return DataKey.objects.get(pk=key_id).agency_id


@pytest.fixture
def two_cases(register: Any, amina: Any, xena: Any) -> tuple[Case, Case]:
    return register(amina, given_name="Aïcha"), register(xena, given_name="Aïcha")


def test_it_encrypts_each_agency_s_values_with_the_agency_s_own_key(
    two_cases: tuple[Case, Case],
) -> None:
    here, there = two_cases

    assert _owner(_raw_given_name(here.person_id)) == here.agency_id
    assert _owner(_raw_given_name(there.person_id)) == there.agency_id
    note_key = key_id_of(str(Case.objects.filter(pk=here.pk).values_list("reference")[0][0]))
    assert note_key is None  # the reference is not personal: it stays in clear
    for agency_id in (here.agency_id, there.agency_id):
        assert set(
            DataKey.objects.filter(agency_id=agency_id).values_list("purpose", flat=True)
        ) == {DataKey.Purpose.DATA, DataKey.Purpose.INDEX}


def test_it_indexes_the_same_name_differently_in_each_agency_and_still_finds_both(
    two_cases: tuple[Case, Case],
) -> None:
    here, there = two_cases
    digests = {
        case.agency_id: set(
            PersonNameIndex.objects.filter(person_id=case.person_id).values_list(
                "digest", flat=True
            )
        )
        for case in (here, there)
    }

    assert digests[here.agency_id] and not digests[here.agency_id] & digests[there.agency_id]
    found = {row["person_id"] for row in matching_person_ids("Aïcha Traoré")}
    assert {here.person_id, there.person_id} <= found
    only_here = blind.query_digests("Aïcha", agency_ids=[here.agency_id])
    assert set(only_here) <= digests[here.agency_id]


def test_a_row_finds_its_agency_along_its_declared_path(two_cases: tuple[Case, Case]) -> None:
    here, _there = two_cases
    note = here.transitions.first()
    assert note is not None
    assert agency_of(note) == here.agency_id
    assert agency_of(here.person) == here.agency_id


def test_a_write_without_a_model_instance_must_name_the_agency(case: Case) -> None:
    people = Person.objects.filter(pk=case.person_id)
    with pytest.raises(ImproperlyConfigured, match="belongs to an agency"), transaction.atomic():
        people.update(given_name="Awa")

    with encrypting_for(case.agency_id):
        people.update(given_name="Awa")

    assert Person.objects.get(pk=case.person_id).given_name == "Awa"
    assert _owner(_raw_given_name(case.person_id)) == case.agency_id


def test_instance_data_keeps_the_instance_key(db: Any) -> None:
    ciphertext = encrypt_text("a staff member's secret", context="accounts.device.secret")

    assert _owner(ciphertext) is None
    assert decrypt_text(ciphertext, context="accounts.device.secret") == "a staff member's secret"


def test_every_model_with_encrypted_fields_says_whose_data_it_holds(db: Any) -> None:
    assert check_vault_agency() == []


def test_a_key_made_in_a_transaction_that_rolls_back_is_never_used(agency: Any) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        lost = encrypt_text("Aïcha", context="people.person.given_name", agency_id=agency.pk)
        raise RuntimeError("rolled back")

    kept = encrypt_text("Aïcha", context="people.person.given_name", agency_id=agency.pk)

    # The key made then is gone with its transaction (its id may be given again to a new key,
    # which does not open what the lost one sealed).
    assert DataKey.objects.filter(agency=agency, purpose=DataKey.Purpose.DATA).count() == 1
    assert decrypt_text(kept, context="people.person.given_name") == "Aïcha"
    assert isinstance(decrypt_text(lost, context="people.person.given_name"), Unreadable)


def test_it_reloads_the_keys_when_the_master_key_file_changes(
    settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, agency: Any
) -> None:
    settings.CASEWORK_MASTER_KEYS = ""
    settings.CASEWORK_KEY_DIR = str(tmp_path)
    keys.init_key_files(tmp_path)
    keys.clear_cache()
    monkeypatch.setattr(keys, "SOURCE_CHECK_SECONDS", 0.0)
    encrypt_text("x", context="c", agency_id=agency.pk)
    before = keys.keyring()
    assert keys.keyring() is before

    keys.add_master_key(tmp_path)

    assert keys.keyring() is not before


def test_replacing_the_master_key_leaves_only_the_new_one(
    settings: Any, tmp_path: Any, register: Any, amina: Any
) -> None:
    settings.CASEWORK_MASTER_KEYS = ""
    settings.CASEWORK_KEY_DIR = str(tmp_path)
    keys.init_key_files(tmp_path)
    keys.clear_cache()
    case = register(amina)
    old = json.loads((tmp_path / keys.MASTER_FILE).read_text())

    new_id, destroyed = keys.replace_master_key()

    now = json.loads((tmp_path / keys.MASTER_FILE).read_text())
    assert destroyed == [old["primary"]]
    assert list(now["keys"]) == [new_id] and now["primary"] == new_id
    assert set(DataKey.objects.values_list("master_key_id", flat=True)) == {new_id}
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [keys.MASTER_FILE, keys.AUDIT_FILE, keys.BACKUP_FILE, keys.SECRET_FILE, keys.LOCK_FILE]
    )
    assert (tmp_path / keys.LOCK_FILE).read_bytes() == b""  # a lock, holding nothing
    keys.clear_cache()
    assert Person.objects.get(pk=case.person_id).given_name == "Fatima"


def test_the_master_key_in_the_environment_is_left_to_the_operator(db: Any) -> None:
    with pytest.raises(keys.MasterKeysInEnvironment):
        keys.replace_master_key()


def _use_a_key_file(settings: Any, tmp_path: Any) -> None:
    settings.CASEWORK_MASTER_KEYS = ""
    settings.CASEWORK_KEY_DIR = str(tmp_path)
    keys.init_key_files(tmp_path)
    keys.clear_cache()


def test_a_data_key_no_master_key_opens_leaves_the_others_readable(
    agency: Any, other_agency: Any, caplog: pytest.LogCaptureFixture
) -> None:
    here = encrypt_text("Aïcha", context="people.person.given_name", agency_id=agency.pk)
    there = encrypt_text("Binta", context="people.person.given_name", agency_id=other_agency.pk)
    DataKey.objects.filter(agency=agency).update(master_key_id="m404")
    keys.clear_cache()

    assert decrypt_text(there, context="people.person.given_name") == "Binta"
    assert isinstance(decrypt_text(here, context="people.person.given_name"), Unreadable)
    assert "cannot be unwrapped" in caplog.text and "Aïcha" not in caplog.text
