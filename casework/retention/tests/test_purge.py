"""The purge, step by step: the command (break-glass, resumable, honest about a master key it
cannot replace), the sweep of what another key still reads, and the administrators' screen with
its two-person confirmation."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.cases import services
from casework.cases.models import Case, ContactType
from casework.people.models import Person
from casework.retention import purge as purging
from casework.retention.models import CONFIRM_WITHIN, AgencyPurge, PurgeRequest
from casework.vault import keys
from casework.vault.crypto import Unreadable, encrypt_text
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
        "retention.purge.keys_destroyed",
        "retention.purge.swept",
        "retention.purge.finished",
    ]


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


def test_the_sweep_blanks_what_another_key_still_reads_and_spares_the_other_agency(
    case: Case, register: Any, xena: Any
) -> None:
    elsewhere = register(xena, given_name="Binta")
    # Written before agencies had keys (casework reencrypt --to-agency-keys not yet run).
    legacy = encrypt_text("Fatima", context="people.person.given_name", agency_id=None)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE people_person SET given_name = %s WHERE id = %s", [legacy, case.person_id]
        )

    _purge("AGY", "--confirm", "AGY")

    assert AgencyPurge.objects.get().values_blanked == 1
    assert _given_name(case.person_id) == ""
    assert _given_name(elsewhere.person_id) == "Binta"


def test_what_the_agency_writes_after_its_purge_is_new_data_under_new_keys(
    case: Case, amina: Any
) -> None:
    _purge("AGY", "--confirm", "AGY")

    services.add_note(case, by=amina, text="After the evacuation", contact_type=ContactType.PHONE)

    keys.clear_cache()
    assert Case.objects.get(pk=case.pk).notes.get().text == "After the evacuation"
    assert isinstance(_given_name(case.person_id), Unreadable)


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
        "retention.purge.keys_destroyed",
        "retention.purge.confirmed",
        "retention.purge.swept",
        "retention.purge.finished",
    ]
    assert "•••" in _client(case.caseworker).get(f"/cases/{case.pk}/").content.decode()


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
