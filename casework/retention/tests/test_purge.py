"""The purge, step by step: the command (break-glass, resumable, honest about a master key it
cannot replace), the sweep of what another key still reads, and the administrators' screen with
its two-person confirmation."""

from __future__ import annotations

import datetime
import io
import re
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from casework.accounts import tokens
from casework.accounts.models import Agency, ApiToken, Authenticator, Team, User
from casework.accounts.tests.conftest import code_for
from casework.audit.models import AuditEntry
from casework.cases import services, workflow
from casework.cases.models import Case, ContactType
from casework.people.models import Person
from casework.retention import purge as purging
from casework.retention import rekeying
from casework.retention.management.commands.purge import as_code
from casework.retention.models import CONFIRM_WITHIN, AgencyPurge, PurgeRequest
from casework.vault import keys
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
