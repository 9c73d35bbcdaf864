"""The purge, step by step: the command (break-glass, resumable, honest about a master key it
cannot replace), the sweep of what another key still reads, and the administrators' screen with
its two-person confirmation."""

from __future__ import annotations

import base64
import datetime
import io
import json
import re
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from casework.accounts import mfa, tokens
from casework.accounts.models import Agency, ApiToken, Authenticator, Team, User
from casework.accounts.tests.conftest import code_for
from casework.audit.models import AuditEntry
from casework.cases import services, workflow
from casework.cases.models import Case, ContactType
from casework.people.models import Person, PersonNameIndex
from casework.retention import purge as purging
from casework.retention import rekeying
from casework.retention.management.commands.purge import as_code
from casework.retention.models import CONFIRM_WITHIN, AgencyPurge, PurgeRequest
from casework.vault import blind, keys, rotation
from casework.vault.crypto import Unreadable, decrypt_bytes, encrypt_text, key_id_of
from casework.vault.models import DataKey


def _purge(code: str, *options: str) -> str:
    out = io.StringIO()
    call_command("purge", "--agency", code, *options, stdout=out)
    return out.getvalue()


def _actions(agency_id: int) -> list[str]:
    return list(
        AuditEntry.objects.filter(agency_id=agency_id, action__startswith="retention.purge")
        .order_by("pk")
        .values_list("action", flat=True)
    )


def _given_name(person_id: int) -> str:
    keys.clear_cache()
    return Person.objects.get(pk=person_id).given_name


# --- the command ---------------------------------------------------------------------------


def test_the_command_needs_the_code_typed_again(case: Case) -> None:
    with pytest.raises(CommandError, match="Not confirmed"):
        _purge("AGY", "--confirm", "OTH")
    with pytest.raises(CommandError, match="No agency"):
        _purge("NOPE", "--confirm", "NOPE")
    assert DataKey.objects.filter(agency=case.agency).exists()
    assert not AgencyPurge.objects.exists()


def test_with_master_keys_in_the_environment_the_operator_is_told_to_replace_them(
    case: Case,
) -> None:
    output = _purge("AGY", "--confirm", "AGY")

    purge = AgencyPurge.objects.get()
    assert purge.finished_at is not None and purge.master_replaced_at is None
    assert "CASEWORK_MASTER_KEYS" in output and "keys rotate --master" in output
    assert isinstance(_given_name(case.person_id), Unreadable)
    assert _actions(case.agency_id) == [
        "retention.purge.started",
        "retention.purge.prepared",
        "retention.purge.keys_destroyed",
        "retention.purge.swept",
        "retention.purge.instance_keys_replaced",
        "retention.purge.finished",
    ]
    # Who ran it: the OS account and the host, as codes.
    started = AuditEntry.objects.get(action="retention.purge.started")
    assert set(started.data) >= {"os_user", "host"} and started.data["via"] == "command"
    assert re.fullmatch(r"[A-Za-z0-9_.:@-]{1,64}", started.data["host"])


def test_the_operator_s_names_are_made_codes() -> None:
    assert as_code("Amina Diallo (ops)") == "Amina-Diallo--ops-"
    assert as_code("") == "-" and len(as_code("x" * 100)) == 64


def test_an_interrupted_purge_is_finished_by_running_it_again(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(purging, "sweep", crash)
    with pytest.raises(KeyboardInterrupt):
        _purge("AGY", "--confirm", "AGY")
    purge = AgencyPurge.objects.get()
    assert purge.keys_destroyed_at is not None and purge.finished_at is None
    assert isinstance(_given_name(case.person_id), Unreadable)  # the keys went first

    monkeypatch.undo()
    _purge("AGY", "--confirm", "AGY")

    purge.refresh_from_db()
    assert AgencyPurge.objects.count() == 1 and purge.finished_at is not None
    assert _actions(case.agency_id).count("retention.purge.keys_destroyed") == 1


def _plant_under_the_instance_key(person_id: int, name: str) -> str:
    """A given name written before agencies had keys (reencrypt --to-agency-keys not yet run)."""
    legacy = encrypt_text(name, context="people.person.given_name", agency_id=None)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE people_person SET given_name = %s WHERE id = %s", [legacy, person_id]
        )
    return legacy


def _raw_given_name(person_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT given_name FROM people_person WHERE id = %s", [person_id])
        return str(cursor.fetchone()[0])


def test_a_value_still_under_the_instance_key_is_moved_to_the_agency_s_key_and_goes_with_it(
    case: Case, register: Any, xena: Any
) -> None:
    elsewhere = register(xena, given_name="Binta")
    legacy = _plant_under_the_instance_key(case.person_id, "Fatima")
    assert decrypt_bytes(legacy, context="people.person.given_name") == b"Fatima"

    _purge("AGY", "--confirm", "AGY")

    purge = AgencyPurge.objects.get()
    assert purge.values_moved == 1 and purge.values_blanked == 0
    keys.clear_cache()
    # What is stored opens with none of the keys left, the instance key among them.
    assert DataKey.objects.filter(agency__isnull=True).exists()
    stored = _raw_given_name(case.person_id)
    assert stored != legacy
    assert decrypt_bytes(stored, context="people.person.given_name") is None
    assert isinstance(_given_name(case.person_id), Unreadable)
    assert _given_name(elsewhere.person_id) == "Binta"


def test_the_sweep_blanks_what_was_written_under_another_key_after_the_preparation(
    case: Case, register: Any, xena: Any
) -> None:
    elsewhere = register(xena, given_name="Binta")
    purge = purging.start(case.agency, by=None, via=AgencyPurge.Via.COMMAND)
    purge = purging.destroy_keys(purging.prepare(purge, by=None), by=None)
    _plant_under_the_instance_key(case.person_id, "Fatima")  # a stale server, say

    purge = purging.sweep(purge, by=None)

    assert purge.values_blanked == 1
    assert _given_name(case.person_id) == ""
    assert _given_name(elsewhere.person_id) == "Binta"


def test_a_case_transferred_out_but_still_under_the_agency_s_key_survives_its_purge(
    case: Case,
    amina: Any,
    other_agency: Any,
    make_user: Any,
    register: Any,
    monkeypatch: pytest.MonkeyPatch,
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
    # The re-encryption for the receiving agency does not happen (a crash, an older version).
    monkeypatch.setattr(rekeying, "rekey_transferred_case", lambda *a, **k: None)
    transfer = workflow.request_transfer(
        case, to_agency=other_agency, by=amina, reason="Moving", summary="Needs school"
    )
    workflow.decide_transfer(transfer, by=rita, accept=True)
    agy_keys = set(DataKey.objects.filter(agency=case.agency).values_list("pk", flat=True))
    assert key_id_of(_raw_given_name(case.person_id)) in agy_keys
    stays = register(amina, given_name="Aïcha")

    _purge("AGY", "--confirm", "AGY")

    purge = AgencyPurge.objects.get()
    assert purge.foreign_values_moved >= 2  # the name and the note, at least
    keys.clear_cache()
    moved = Case.objects.get(pk=case.pk)
    assert moved.agency == other_agency and moved.person.given_name == "Fatima"
    assert moved.notes.get().text == "Family moving north."
    assert isinstance(_given_name(stays.person_id), Unreadable)


def test_the_purge_closes_the_agency_its_users_their_sessions_and_tokens(
    case: Case, amina: Any, sam: Any, xena: Any
) -> None:
    token = tokens.create_token(owner=amina, by=None, name="sync", scopes=["read"], days=30)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get(f"/api/v1/cases/{case.pk}").status_code == 200
    browser = _client(sam)
    assert browser.get(f"/cases/{case.pk}/").status_code == 200
    generation = User.objects.get(pk=amina.pk).session_generation

    _purge("AGY", "--confirm", "AGY")

    assert not Agency.objects.get(pk=case.agency_id).is_active
    assert not User.objects.filter(agency=case.agency, is_active=True).exists()
    assert User.objects.get(pk=amina.pk).session_generation == generation + 1
    assert ApiToken.objects.get(user=amina).revoke_reason == "purge"
    assert api.get(f"/api/v1/cases/{case.pk}").status_code == 401
    assert browser.get(f"/cases/{case.pk}/").status_code == 302  # signed out
    assert User.objects.get(pk=xena.pk).is_active  # the other agency's are untouched
    assert (
        AgencyPurge.objects.get().users_deactivated
        == User.objects.filter(agency=case.agency).count()
    )


def test_nothing_of_the_agency_can_be_written_after_its_purge(case: Case, amina: Any) -> None:
    browser = _client(amina)
    assert browser.get(f"/cases/{case.pk}/").status_code == 200  # the page open before

    _purge("AGY", "--confirm", "AGY")

    # The form opened before is sent after: its session ended, nothing is stored.
    sent = browser.post(
        f"/cases/{case.pk}/notes/add/", {"text": "After the evacuation", "contact_type": "phone"}
    )
    assert sent.status_code == 302 and sent["Location"].startswith("/accounts/login/")
    assert not Case.objects.get(pk=case.pk).notes.exists()
    # Nor can anything else (a worker, a command) write it readable: no key is made again.
    person = Person.objects.get(pk=case.person_id)
    person.given_name = "Fatima"
    with pytest.raises(keys.AgencyPurged), transaction.atomic():
        person.save()
    with pytest.raises(keys.AgencyPurged):
        encrypt_text("Fatima", context="people.person.given_name", agency_id=case.agency_id)
    assert not DataKey.objects.filter(agency=case.agency).exists()


def test_one_purge_that_fails_in_the_worker_does_not_hold_up_the_others(
    case: Case, register: Any, xena: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(xena)
    first = purging.start(case.agency, by=None, via=AgencyPurge.Via.COMMAND)
    second = purging.start(xena.agency, by=None, via=AgencyPurge.Via.COMMAND)
    prepare = purging.prepare

    def fail_first(purge: AgencyPurge, **kwargs: Any) -> AgencyPurge:
        if purge.pk == first.pk:
            raise OSError("disk full")
        return prepare(purge, **kwargs)

    monkeypatch.setattr(purging, "prepare", fail_first)

    assert purging.finish_purges.call() == 1

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.finished_at is None and second.finished_at is not None
    failed = AuditEntry.objects.get(action="retention.purge.failed")
    assert failed.agency_id == case.agency_id and failed.data == {"error": "OSError"}
    assert failed.outcome == AuditEntry.Outcome.FAILED

    monkeypatch.undo()
    assert purging.finish_purges.call() == 1  # the next run finishes it
    first.refresh_from_db()
    assert first.finished_at is not None


# --- the instance's keys, which a backup's values of the agency may be under ----------------

NAME = "people.person.given_name"


@pytest.fixture
def key_file(settings: Any, tmp_path: Any) -> Any:
    """Master keys in a key file, as in production, so the purge replaces the master key.
    Ask for it before any fixture that makes keys."""
    settings.CASEWORK_MASTER_KEYS = ""
    settings.CASEWORK_KEY_DIR = str(tmp_path / "keys")
    keys.init_key_files(tmp_path / "keys")
    keys.clear_cache()
    return tmp_path / "keys"


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return str(cursor.fetchone()[0])


def _upgraded(case: Case, register: Any, xena: Any) -> dict[str, Any]:
    """An installation upgraded from before agency keys: a value of A and one of B under the
    instance key, and both persons' names indexed with the instance's index key; B's user xena
    has an authenticator (a staff secret, under the instance key by design)."""
    b = register(xena, given_name="Binta")
    for person_id, name in ((case.person_id, "Fatima"), (b.person_id, "Binta")):
        _plant_under_the_instance_key(person_id, name)
        person = Person.objects.get(pk=person_id)
        PersonNameIndex.objects.filter(person=person).delete()
        PersonNameIndex.objects.bulk_create(
            PersonNameIndex(person=person, agency_id=person.agency_id, kind=kind, digest=digest)
            for kind, digest in blind.name_digests(name, "Traoré", agency_id=None)
        )
    device = Authenticator.objects.create(user=xena, name="authenticator", confirmed=True)
    instance = keys.keyring().primary[None]
    assert key_id_of(_raw("accounts_authenticator", "secret", device.pk)) == instance
    index = DataKey.objects.get(agency__isnull=True, purpose=DataKey.Purpose.INDEX).pk
    return {"b": b, "device": device, "instance_key": instance, "index_key": index}


def _backup(case: Case, key_dir: Any) -> dict[str, Any]:
    """What a backup taken now holds: A's raw values and index rows, every wrapped data key,
    and the master key file."""
    return {
        "a_value": _raw_given_name(case.person_id),
        "a_digests": set(
            PersonNameIndex.objects.filter(person_id=case.person_id).values_list(
                "digest", flat=True
            )
        ),
        "data_keys": list(DataKey.objects.values("purpose", "agency_id", "wrapped")),
        "master_file": (key_dir / keys.MASTER_FILE).read_text(),
    }


def _unwrapped(master_file: str, rows: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    """(purpose, key) of every data key any of these master keys unwraps, whatever master key
    each row names: every key derivable from these rows and this key file."""
    masters = json.loads(master_file)["keys"].values()
    found = []
    for row in rows:
        blob = bytes(row["wrapped"])
        aad = keys._aad(row["purpose"], row["agency_id"])
        for master in masters:
            try:
                key = AESGCM(base64.b64decode(master)).decrypt(blob[:12], blob[12:], aad)
            except InvalidTag:
                continue
            found.append((row["purpose"], key))
    return found


def _opens(ciphertext: str, candidates: list[tuple[str, bytes]]) -> bool:
    """Whether any of the data keys decrypts `ciphertext` (any key, whatever id it names)."""
    blob = base64.urlsafe_b64decode(ciphertext.split("$", 2)[2])
    for purpose, key in candidates:
        if purpose != DataKey.Purpose.DATA:
            continue
        try:
            AESGCM(key).decrypt(blob[:12], blob[12:], NAME.encode())
        except InvalidTag:
            continue
        return True
    return False


def _digests(candidates: list[tuple[str, bytes]], text: str) -> set[str]:
    """The full-name digest of `text` under each index key (as a name list would be tested)."""
    return {
        blind._keyed(key, "full", blind.normalise(text))
        for purpose, key in candidates
        if purpose == DataKey.Purpose.INDEX
    }


def _live() -> list[tuple[str, bytes]]:
    """Every key derivable from the live database and the current key file."""
    rows = [dict(row) for row in DataKey.objects.values("purpose", "agency_id", "wrapped")]
    return _unwrapped((keys.key_dir() / keys.MASTER_FILE).read_text(), rows)


def test_a_backup_s_values_of_the_agency_under_the_instance_key_open_with_no_key_left(
    key_file: Any, case: Case, register: Any, xena: Any
) -> None:
    planted = _upgraded(case, register, xena)
    backup = _backup(case, key_file)
    old_keys = _unwrapped(backup["master_file"], backup["data_keys"])
    # The backup does open with the keys of its time: what follows is not vacuous.
    assert _opens(backup["a_value"], old_keys)
    assert backup["a_digests"] & _digests(old_keys, "Fatima Traoré")
    assert _opens(backup["a_value"], _live())  # and, before the purge, with the live ones

    _purge("AGY", "--confirm", "AGY")

    purge = AgencyPurge.objects.get()
    replaced, master = purge.instance_keys_replaced_at, purge.master_replaced_at
    assert replaced is not None and master is not None and replaced < master
    # The old instance data and index keys are gone; the instance has a new data key.
    assert not DataKey.objects.filter(pk=planted["instance_key"]).exists()
    assert not DataKey.objects.filter(agency__isnull=True, purpose="index").exists()
    assert purge.instance_key_id is not None
    assert DataKey.objects.filter(agency__isnull=True, pk=purge.instance_key_id).exists()
    assert purge.instance_keys_deleted == 2 and purge.instance_values_moved >= 2
    # No key derivable from the live database and the key file opens A's backup value, nor
    # reproduces its name digests; nor does the new master unwrap the backup's keys.
    live = _live()
    assert len(live) == DataKey.objects.count()  # every live key was tried
    assert not _opens(backup["a_value"], live)
    assert not backup["a_digests"] & _digests(live, "Fatima Traoré")
    new_master = (key_file / keys.MASTER_FILE).read_text()
    assert _unwrapped(new_master, backup["data_keys"]) == []
    # B's legacy value reads live (now under B's own key), and B's names are found under B's
    # index key; B's user still signs in with their authenticator.
    keys.clear_cache()
    assert _given_name(planted["b"].person_id) == "Binta"
    b_key = keys.keyring().primary[xena.agency_id]
    assert key_id_of(_raw_given_name(planted["b"].person_id)) == b_key
    b_rows = set(
        PersonNameIndex.objects.filter(person_id=planted["b"].person_id).values_list(
            "digest", flat=True
        )
    )
    assert b_rows & set(blind.query_digests("Binta", agency_ids=[xena.agency_id]))
    device = planted["device"]
    secret = _raw("accounts_authenticator", "secret", device.pk)
    assert key_id_of(secret) == purge.instance_key_id
    assert mfa.verify(xena, code=code_for(Authenticator.objects.get(pk=device.pk)))
    entry = AuditEntry.objects.get(action="retention.purge.instance_keys_replaced")
    assert entry.agency_id == case.agency_id
    assert entry.data["deleted"] == sorted([planted["instance_key"], planted["index_key"]])
    assert entry.data["data_key"] == purge.instance_key_id and entry.data["people_indexed"] >= 1


def test_a_purge_interrupted_while_replacing_the_instance_key_leaves_everything_readable(
    key_file: Any, case: Case, register: Any, xena: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = _upgraded(case, register, xena)
    monkeypatch.setattr(purging, "RELOAD_WAIT", 0.0)
    save = rotation._save_checkpoint
    saved: list[str] = []

    def crash_after_one_batch(job: str, *args: Any, **kwargs: Any) -> None:
        if job.endswith("-instance") and saved:
            raise KeyboardInterrupt
        save(job, *args, **kwargs)
        if job.endswith("-instance"):
            saved.append(job)

    monkeypatch.setattr(rotation, "_save_checkpoint", crash_after_one_batch)
    with pytest.raises(KeyboardInterrupt):
        _purge("AGY", "--confirm", "AGY", "--batch-size", "1")

    purge = AgencyPurge.objects.get()
    assert purge.keys_destroyed_at is not None and purge.instance_keys_replaced_at is None
    assert purge.instance_key_id is not None and purge.master_replaced_at is None
    assert DataKey.objects.filter(pk=planted["instance_key"]).exists()  # kept while in use
    under = {
        key_id_of(_raw_given_name(planted["b"].person_id)),
        key_id_of(_raw("accounts_authenticator", "secret", planted["device"].pk)),
    }
    assert planted["instance_key"] in under  # stopped half-way, the old key still in use
    # Everything that survives reads meanwhile.
    assert _given_name(planted["b"].person_id) == "Binta"
    device = Authenticator.objects.get(pk=planted["device"].pk)
    assert device.is_readable

    monkeypatch.setattr(rotation, "_save_checkpoint", save)
    _purge("AGY", "--confirm", "AGY", "--batch-size", "1")

    finished = AgencyPurge.objects.get()
    assert finished.finished_at is not None and finished.master_replaced_at is not None
    assert finished.instance_key_id == purge.instance_key_id  # no second new key
    assert list(DataKey.objects.filter(agency__isnull=True).values_list("pk", flat=True)) == [
        purge.instance_key_id
    ]
    assert _given_name(planted["b"].person_id) == "Binta"
    assert mfa.verify(xena, code=code_for(Authenticator.objects.get(pk=device.pk)))
    assert AuditEntry.objects.filter(action="retention.purge.instance_keys_replaced").count() == 1


# --- the screen ------------------------------------------------------------------------------

SCREEN = "/administration/purge/"


@pytest.fixture
def ada(make_user: Any, agency: Any) -> Any:
    """A second administrator of the agency."""
    return make_user("ada", agency=agency, role="none", is_administrator=True)


@pytest.fixture
def otto(make_user: Any, other_agency: Any) -> Any:
    """An administrator of the other agency."""
    return make_user("otto", agency=other_agency, role="none", is_administrator=True)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _request(user: Any, code: str = "AGY") -> Any:
    return _client(user).post(f"{SCREEN}request/", {"agency_code": code})


def test_it_takes_two_administrators_and_the_code_typed_again(
    case: Case, adam: Any, ada: Any
) -> None:
    page = _client(adam).get(SCREEN)
    assert page.status_code == 200 and "Request the purge" in page.content.decode()
    assert _request(adam, code="agy ").status_code == 400  # not the code as shown
    assert not PurgeRequest.objects.exists()

    assert _request(adam).status_code == 302
    waiting = PurgeRequest.objects.get()
    assert "must confirm it" in _client(adam).get(SCREEN).content.decode()
    own = _client(adam).post(f"{SCREEN}{waiting.pk}/confirm/", {"agency_code": "AGY"})
    assert own.status_code == 400 and "Another administrator" in own.content.decode()
    wrong = _client(ada).post(f"{SCREEN}{waiting.pk}/confirm/", {"agency_code": "OTH"})
    assert wrong.status_code == 400
    assert DataKey.objects.filter(agency=case.agency).exists()

    confirmed = _client(ada).post(f"{SCREEN}{waiting.pk}/confirm/", {"agency_code": "AGY"})

    assert confirmed.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == PurgeRequest.Status.CONFIRMED and waiting.decided_by == ada
    purge = AgencyPurge.objects.get()
    assert (purge.via, purge.requested_by, purge.confirmed_by) == ("screen", adam, ada)
    assert purge.finished_at is not None  # the worker swept it (immediately, in tests)
    assert not DataKey.objects.filter(agency=case.agency).exists()
    assert isinstance(_given_name(case.person_id), Unreadable)
    assert _actions(case.agency_id) == [
        "retention.purge.requested",
        "retention.purge.refused",  # adam's own request
        "retention.purge.refused",  # the wrong agency code
        "retention.purge.started",
        "retention.purge.confirmed",
        "retention.purge.prepared",
        "retention.purge.keys_destroyed",
        "retention.purge.instance_keys_replaced",  # on confirmation, before the master key
        "retention.purge.swept",
        "retention.purge.finished",
    ]
    refused = AuditEntry.objects.filter(action="retention.purge.refused").order_by("pk")
    assert [entry.data["reason"] for entry in refused] == ["own_request", "agency_code"]
    assert {entry.outcome for entry in refused} == {AuditEntry.Outcome.FAILED}
    # Everyone of the agency is signed out, the administrators too.
    assert _client(ada).get(SCREEN).status_code == 302


def test_a_request_not_confirmed_within_ten_minutes_expires(
    case: Case, adam: Any, ada: Any
) -> None:
    _request(adam)
    waiting = PurgeRequest.objects.get()
    PurgeRequest.objects.filter(pk=waiting.pk).update(
        requested_at=timezone.now() - CONFIRM_WITHIN - datetime.timedelta(seconds=1)
    )

    late = _client(ada).post(f"{SCREEN}{waiting.pk}/confirm/", {"agency_code": "AGY"})

    assert late.status_code == 400 and "expired" in late.content.decode()
    assert "Confirm: purge" not in _client(ada).get(SCREEN).content.decode()
    assert not AgencyPurge.objects.exists()
    assert DataKey.objects.filter(agency=case.agency).exists()
    assert _request(ada).status_code == 302  # and a new request may be made


def test_a_request_can_be_cancelled(case: Case, adam: Any, ada: Any) -> None:
    _request(adam)
    waiting = PurgeRequest.objects.get()

    assert _client(ada).post(f"{SCREEN}{waiting.pk}/cancel/").status_code == 302

    waiting.refresh_from_db()
    assert waiting.status == PurgeRequest.Status.CANCELLED
    late = _client(ada).post(f"{SCREEN}{waiting.pk}/confirm/", {"agency_code": "AGY"})
    assert late.status_code == 400 and "no longer waiting" in late.content.decode()
    assert DataKey.objects.filter(agency=case.agency).exists()


def test_an_agency_with_one_administrator_is_sent_to_the_command(case: Case, adam: Any) -> None:
    page = _client(adam).get(SCREEN).content.decode()
    assert "casework purge --agency AGY" in page

    refused = _request(adam)

    assert refused.status_code == 400 and "casework purge --agency AGY" in refused.content.decode()
    assert not PurgeRequest.objects.exists()


def test_everyone_but_the_agency_s_administrators_gets_404(
    case: Case,
    adam: Any,
    ada: Any,
    otto: Any,
    amina: Any,
    sam: Any,
    paul: Any,
    mei: Any,
    dana: Any,
    xena: Any,
) -> None:
    _request(adam)
    waiting = PurgeRequest.objects.get()
    for user in (amina, sam, paul, mei, dana, xena, otto):
        client = _client(user)
        if user != otto:  # the other agency's administrator has a screen: their own agency's
            assert client.get(SCREEN).status_code == 404, user
            assert client.post(f"{SCREEN}request/", {"agency_code": "AGY"}).status_code == 404
        for action in ("confirm", "cancel"):
            answer = client.post(f"{SCREEN}{waiting.pk}/{action}/", {"agency_code": "AGY"})
            assert answer.status_code == 404, (user, action)
    assert "AGY" not in _client(otto).get(SCREEN).content.decode()
    assert Client().get(SCREEN).status_code == 302  # to sign in
    waiting.refresh_from_db()
    assert waiting.status == PurgeRequest.Status.PENDING
    assert DataKey.objects.filter(agency=case.agency).exists()


def test_where_two_factor_is_required_each_step_needs_a_current_code(
    case: Case, adam: Any, ada: Any, settings: Any
) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # a wrong code does not make the next one wait
    Agency.objects.filter(pk=case.agency_id).update(require_mfa=True)
    devices = {
        user.pk: Authenticator.objects.create(user=user, name="authenticator", confirmed=True)
        for user in (adam, ada)
    }
    adam.refresh_from_db()
    ada.refresh_from_db()

    def send(user: Any, path: str, **fields: str) -> Any:
        client = _client(user)
        session = client.session
        session["otp_device_id"] = devices[user.pk].persistent_id
        session.save()
        return client.post(path, {"agency_code": "AGY", **fields})

    assert send(adam, f"{SCREEN}request/").status_code == 400  # no code
    assert not PurgeRequest.objects.exists()
    code = code_for(devices[adam.pk])
    assert send(adam, f"{SCREEN}request/", second_factor=code).status_code == 302
    waiting = PurgeRequest.objects.get()

    wrong = send(ada, f"{SCREEN}{waiting.pk}/confirm/", second_factor="000000")
    assert wrong.status_code == 400
    assert DataKey.objects.filter(agency=case.agency).exists()
    refused = AuditEntry.objects.get(action="retention.purge.refused")
    assert refused.data == {"reason": "second_factor"} and refused.actor_id == ada.pk
    assert AuditEntry.objects.filter(action="accounts.mfa.failed", actor_id=ada.pk).exists()

    code = code_for(devices[ada.pk])
    assert send(ada, f"{SCREEN}{waiting.pk}/confirm/", second_factor=code).status_code == 302
    assert not DataKey.objects.filter(agency=case.agency).exists()
