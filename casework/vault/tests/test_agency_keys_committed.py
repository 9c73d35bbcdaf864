"""The tests of test_agency_keys.py that commit (transactional), kept in a file of their own:
make test hands out whole files, and a transactional test leaves the database flushed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction

from casework.vault import keys
from casework.vault.crypto import decrypt_text, encrypt_text
from casework.vault.models import DataKey
from casework.vault.tests.test_agency_keys import _use_a_key_file


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.commits
def test_another_thread_does_not_use_a_key_before_it_is_committed(agency: Any) -> None:
    keys.clear_cache()
    seen: list[set[int | None]] = []
    with transaction.atomic():
        encrypt_text("Aïcha", context="people.person.given_name", agency_id=agency.pk)

        def look() -> None:
            seen.append(set(keys.keyring().primary))
            connection.close()

        other = threading.Thread(target=look)
        other.start()
        other.join()
        assert agency.pk in keys.keyring().primary  # this thread sees its own key

    assert seen == [set()]
    assert agency.pk in keys.keyring().primary  # committed: everyone sees it


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.commits
def test_two_master_key_replacements_at_once_leave_every_agency_readable(
    settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, agency: Any, other_agency: Any
) -> None:
    _use_a_key_file(settings, tmp_path)
    context = "people.person.given_name"
    here = encrypt_text("Aïcha", context=context, agency_id=agency.pk)
    there = encrypt_text("Binta", context=context, agency_id=other_agency.pk)
    # The first replacement pauses between reading the key file and writing it back; without a
    # lock the second one adds its key, re-wraps every data key and drops the old master in
    # that pause, and the first then writes back the file it had read: every agency unreadable.
    next_id = keys._next_master_id

    def slow(current: keys.MasterKeys) -> str:
        if threading.current_thread().name == "first":
            time.sleep(0.5)
        return next_id(current)

    monkeypatch.setattr(keys, "_next_master_id", slow)
    errors: list[BaseException] = []

    def replace() -> None:
        try:
            keys.replace_master_key()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    first = threading.Thread(target=replace, name="first")
    second = threading.Thread(target=replace, name="second")
    first.start()
    time.sleep(0.1)
    second.start()
    first.join()
    second.join()

    assert errors == []
    keys.clear_cache()
    master = keys.load_master_keys()
    assert list(master.keys) == [master.primary]
    assert set(DataKey.objects.values_list("master_key_id", flat=True)) == {master.primary}
    assert decrypt_text(here, context=context) == "Aïcha"
    assert decrypt_text(there, context=context) == "Binta"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.commits
def test_a_key_made_during_a_replacement_is_wrapped_by_the_new_master(
    settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, agency: Any
) -> None:
    _use_a_key_file(settings, tmp_path)
    encrypt_text("x", context="c", agency_id=None)
    replacing = threading.Event()
    add = keys.add_master_key

    def add_slowly(directory: Any = None) -> str:
        replacing.set()
        time.sleep(0.3)  # the agency's first write comes now, while the lock is held
        return add(directory)

    monkeypatch.setattr(keys, "add_master_key", add_slowly)

    def replace() -> None:
        keys.replace_master_key()
        connection.close()

    replacement = threading.Thread(target=replace)
    replacement.start()
    assert replacing.wait(5)
    sealed = encrypt_text("Aïcha", context="people.person.given_name", agency_id=agency.pk)
    replacement.join()

    keys.clear_cache()
    master = keys.load_master_keys()
    assert set(DataKey.objects.values_list("master_key_id", flat=True)) == {master.primary}
    assert decrypt_text(sealed, context="people.person.given_name") == "Aïcha"
