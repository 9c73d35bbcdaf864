"""Rotating keys: every value still reads, is rewritten under the new key, and search still works."""

from __future__ import annotations

import base64
import datetime
import io
import json
import secrets
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from casework.cases import services
from casework.cases.models import Case, CaseNote, ContactType, Status
from casework.people.models import Person, PersonNameIndex
from casework.people.services import matching_person_ids
from casework.vault import keys, rotation
from casework.vault.crypto import decrypt_text, encrypt_text, key_id_of
from casework.vault.models import DataKey


def _keys(*, command: str, **options: Any) -> str:
    out = io.StringIO()
    call_command("keys", *command.split(), stdout=out, **options)
    return out.getvalue()


def _raw(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _every_ciphertext() -> list[str]:
    values: list[str] = []
    for table in rotation.encrypted_tables():
        meta = table.model._meta
        columns = ", ".join(connection.ops.quote_name(column) for column, _ in table.columns)
        for row in _raw(f"SELECT {columns} FROM {connection.ops.quote_name(meta.db_table)}"):  # noqa: S608
            values.extend(value for value in row if value)
    return values


def _data_key() -> DataKey:
    """The primary data key of the agency the tests' cases belong to."""
    return DataKey.objects.get(purpose=DataKey.Purpose.DATA, is_primary=True, agency__code="AGY")


def _settle() -> None:
    """Pretend the new key has been primary long enough for every app server to have reloaded."""
    DataKey.objects.filter(is_primary=True).update(
        created_at=timezone.now() - datetime.timedelta(seconds=rotation.SETTLE_SECONDS + 1)
    )


@pytest.fixture
def full_case(register: Any, amina: Any) -> Case:
    """A child's case with every kind of encrypted value filled in: names, contacts, notes."""
    case = register(amina, given_name="Aïcha", family_name="Diallo", age=12)
    person = case.person
    person.other_names = "Ayesha"
    person.phone = "+223 70 00 00 01"
    person.address = "Behind the market, Bamako"
    person.date_of_birth = datetime.date(2014, 3, 9)
    person.save()
    services.add_note(case, by=amina, text="Met Aïcha at school.", contact_type=ContactType.SCHOOL)
    services.transition_case(case, to=Status.PAUSED, by=amina, reason="Family travelling")
    return case


def test_it_stores_names_as_ciphertext_not_plain_text(full_case: Case) -> None:
    (row,) = _raw(
        "SELECT given_name, family_name, other_names, phone, address, date_of_birth "
        "FROM people_person WHERE id = %s",
        [full_case.person_id],
    )
    assert all(str(value).startswith("cw1$") for value in row)
    assert "Aïcha" not in " ".join(row)
    (note,) = _raw("SELECT text FROM cases_casenote WHERE case_id = %s", [full_case.pk])
    assert note[0].startswith("cw1$")
    assert "school" not in note[0]


def test_it_reencrypts_every_value_with_the_new_data_key(full_case: Case) -> None:
    old_key = _data_key()
    before = _every_ciphertext()
    assert before and {key_id_of(value) for value in before} == {old_key.pk}

    output = _keys(command="rotate --data --batch-size 2")

    new_key = _data_key()
    assert new_key.pk != old_key.pk
    after = _every_ciphertext()
    assert len(after) == len(before)
    assert {key_id_of(value) for value in after} == {new_key.pk}
    # The instance's key is rotated too, and the agency's.
    assert f"#{new_key.pk} are now primary." in output
    # The client's six values and the caregiver's two (a person linked to the child).
    assert "people.person: 8 values re-encrypted" in output

    keys.clear_cache()
    person = Person.objects.get(pk=full_case.person_id)
    assert (person.given_name, person.family_name, person.other_names) == (
        "Aïcha",
        "Diallo",
        "Ayesha",
    )
    assert person.phone == "+223 70 00 00 01"
    assert person.address == "Behind the market, Bamako"
    assert person.date_of_birth == datetime.date(2014, 3, 9)
    assert person.relationships.get(is_caregiver=True).relative.given_name == "Hawa"
    assert CaseNote.objects.get(case=full_case).text == "Met Aïcha at school."
    assert full_case.transitions.get(to_status=Status.PAUSED).reason == "Family travelling"


def test_it_keeps_the_blind_index_so_names_are_still_found(full_case: Case) -> None:
    index_key = DataKey.objects.get(purpose=DataKey.Purpose.INDEX)
    digests = set(PersonNameIndex.objects.values_list("digest", flat=True))

    _keys(command="rotate --data")

    keys.clear_cache()
    assert DataKey.objects.get(purpose=DataKey.Purpose.INDEX) == index_key
    assert set(PersonNameIndex.objects.values_list("digest", flat=True)) == digests
    matches: Any = matching_person_ids("aicha diallo")
    found = [row["person_id"] for row in matches]
    assert found[0] == full_case.person_id  # then Hawa Diallo, her caregiver, by family name


def test_it_keeps_old_keys_readable_until_they_are_retired(full_case: Case) -> None:
    old_key = _data_key()
    _keys(command="rotate --data")

    with pytest.raises(CommandError, match="wait"):
        _keys(command="rotate --retire")
    assert DataKey.objects.filter(pk=old_key.pk).exists()

    _settle()
    output = _keys(command="rotate --retire")

    assert f"Deleted old data keys #{old_key.pk}." in output
    assert not DataKey.objects.filter(pk=old_key.pk).exists()
    keys.clear_cache()
    assert Person.objects.get(pk=full_case.person_id).given_name == "Aïcha"
    assert "No old data keys to retire." in _keys(command="rotate --retire")


def test_it_reencrypts_what_a_stale_server_wrote_with_the_old_key_before_retiring(
    full_case: Case,
) -> None:
    (old_ciphertext,) = _raw(
        "SELECT given_name FROM people_person WHERE id = %s", [full_case.person_id]
    )[0]
    _keys(command="rotate --data")
    # An app server that has not reloaded its keyring yet still writes with the old key.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE people_person SET given_name = %s WHERE id = %s",
            [old_ciphertext, full_case.person_id],
        )
    _settle()

    _keys(command="rotate --retire")

    keys.clear_cache()
    assert {key_id_of(value) for value in _every_ciphertext()} == {_data_key().pk}
    assert Person.objects.get(pk=full_case.person_id).given_name == "Aïcha"


def test_it_leaves_an_unreadable_value_as_it_was(full_case: Case) -> None:
    # A family name copied into the given-name column fails authentication (wrong column).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE people_person SET given_name = family_name WHERE id = %s",
            [full_case.person_id],
        )
    (tampered,) = _raw("SELECT given_name FROM people_person WHERE id = %s", [full_case.person_id])[
        0
    ]

    output = _keys(command="rotate --data")

    assert "people.person: 1 values unreadable, left as they were" in output
    (after,) = _raw("SELECT given_name FROM people_person WHERE id = %s", [full_case.person_id])[0]
    assert after == tampered
    _settle()
    _keys(command="rotate --retire")  # a lost value does not hold retirement up


def test_a_server_with_a_cached_keyring_reads_values_under_a_newer_key(db: Any) -> None:
    stale = keys.keyring()
    keys.create_data_key(DataKey.Purpose.DATA)
    ciphertext = encrypt_text("Aïcha", context="people.person.given_name")
    keys._cached = stale  # as another process would still hold it

    assert decrypt_text(ciphertext, context="people.person.given_name") == "Aïcha"


def test_it_rewraps_data_keys_under_a_new_master_key_in_the_key_file(
    settings: Any, tmp_path: Any, register: Any, amina: Any
) -> None:
    settings.CASEWORK_MASTER_KEYS = ""
    settings.CASEWORK_KEY_DIR = str(tmp_path)
    keys.init_key_files(tmp_path)
    keys.clear_cache()
    case = register(amina, given_name="Aïcha")
    assert set(DataKey.objects.values_list("master_key_id", flat=True)) == {"m1"}

    output = _keys(command="rotate --master")

    assert "Re-wrapped 2 data keys under master key m2." in output
    assert set(DataKey.objects.values_list("master_key_id", flat=True)) == {"m2"}
    assert json.loads((tmp_path / "master.keys").read_text())["primary"] == "m2"
    keys.clear_cache()
    assert Person.objects.get(pk=case.person_id).given_name == "Aïcha"


def test_it_rewraps_under_a_master_key_added_to_the_environment(settings: Any, case: Case) -> None:
    current = json.loads(settings.CASEWORK_MASTER_KEYS)
    assert "already wrapped" in _keys(command="rotate --master")

    new = base64.b64encode(secrets.token_bytes(32)).decode()
    settings.CASEWORK_MASTER_KEYS = json.dumps(
        {"primary": "t2", "keys": current["keys"] | {"t2": new}}
    )
    output = _keys(command="rotate --master")

    assert "Re-wrapped 2 data keys under master key t2." in output
    keys.clear_cache()
    assert Person.objects.get(pk=case.person_id).given_name == "Fatima"


def test_it_lists_keys_and_counts_values_per_key(full_case: Case) -> None:
    output = _keys(command="status --values")

    key = _data_key()
    assert f"#{key.pk}  data" in output
    assert "primary" in output
    assert f"{len(_every_ciphertext())} values" in output


def test_it_refuses_a_rotation_without_saying_what(db: Any) -> None:
    with pytest.raises(CommandError, match="Say what to rotate"):
        _keys(command="rotate")
    with pytest.raises(CommandError, match="separate step"):
        _keys(command="rotate --data --retire")
