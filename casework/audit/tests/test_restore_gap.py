"""A restore from a backup puts the chain back to the backup's last entry. With its signed entry
and its signed line outside the database, `audit verify` reports the entries left behind as a
known gap; without them — a truncation, a restore entry forged or never confirmed outside the
database, a restore line with a bad signature — the same rewind is still tampering."""

from __future__ import annotations

import io
import json
from typing import Any

from django.core.management import CommandError, call_command
from django.db import connection

from casework.audit import checkpoints, sealing
from casework.audit.chain import RESTORED
from casework.audit.log import record
from casework.audit.models import AuditEntry, AuditHead
from casework.audit.restores import mark_restored
from casework.audit.tests.test_verify_chain import append_only_lifted
from casework.vault.keys import audit_key

TAKEN = "20261201T020000Z"


def _verify() -> tuple[bool, str]:
    out = io.StringIO()
    try:
        call_command("audit", "verify", stdout=out)
    except CommandError:
        return False, out.getvalue()
    return True, out.getvalue()


def _record(count: int) -> None:
    for number in range(count):
        record("test.step", by=None, data={"n": number})


def _back_to(seq: int) -> None:
    """The chain as a backup taken at #seq holds it (what a restore, or an attacker, leaves)."""
    with append_only_lifted():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditentry WHERE seq > %s", [seq])
    last = AuditEntry.objects.get(seq=seq)
    AuditHead.objects.filter(pk=1).update(seq=seq, hash=last.hash)


def _seal_without_the_guard() -> None:
    """What someone with the database and the code, but not the checkpoint file, can do."""
    sealing._seal_batch(100, audit_key())


def test_a_restore_is_reported_as_a_known_gap_and_the_chain_goes_on(db: Any) -> None:
    _record(30)
    sealing.seal(checkpoint=True)
    _back_to(10)
    assert "#11 truncated: entries 11..30 missing" in _verify()[1]

    marked = mark_restored(backup_taken_at=TAKEN)

    ok, output = _verify()
    assert ok, output
    assert marked.seq == 10 and marked.event_seq == 11
    assert "Known gap, not tampering: entries 11..30 are not in this database" in output
    assert f"from the backup taken at {TAKEN}, kept #10, restore entry #11" in output
    event = AuditEntry.objects.get(seq=11)
    assert event.action == RESTORED and event.data["restored_at_seq"] == 10
    # The sealer accepts the restored chain and checkpoints it again.
    _record(3)
    assert sealing.seal(checkpoint=True).head_seq == 14
    assert _verify()[0]


def test_entries_cut_off_after_a_restore_are_still_a_truncation(db: Any) -> None:
    _record(30)
    sealing.seal(checkpoint=True)
    _back_to(10)
    mark_restored(backup_taken_at=TAKEN)
    _record(10)
    sealing.seal(checkpoint=True)  # head #21

    _back_to(15)

    ok, output = _verify()
    assert not ok
    assert "#16 truncated: entries 16..21 missing" in output


def test_a_restore_entry_without_a_valid_signature_excuses_nothing(db: Any) -> None:
    _record(30)
    sealing.seal(checkpoint=True)
    _back_to(10)
    record(
        RESTORED, by=None, data={"restored_at_seq": 10, "backup_taken_at": TAKEN, "sig": "0" * 64}
    )
    _seal_without_the_guard()

    ok, output = _verify()

    assert not ok
    assert "#11 forged: a restore entry without a valid signature" in output
    assert "#12 truncated: entries 12..30 missing" in output
    assert "Known gap" not in output


def test_a_signed_restore_entry_unconfirmed_outside_the_database_excuses_nothing(db: Any) -> None:
    _record(30)
    sealing.seal(checkpoint=True)
    _back_to(10)
    made = record(RESTORED, by=None, data={"restored_at_seq": 10, "backup_taken_at": TAKEN})
    # Even with a good signature (the key's holder), no restore line says it happened.
    sig = checkpoints.restore_event_signature(
        seq=10, backup_taken_at=TAKEN, at=made.at.isoformat(timespec="microseconds")
    )
    with append_only_lifted():
        AuditEntry.objects.filter(pk=made.pk).update(data={**made.data, "sig": sig})
    _seal_without_the_guard()

    ok, output = _verify()

    assert not ok
    assert "#11 restore: a restore to #10 that no signed restore line" in output
    assert "#12 truncated: entries 12..30 missing" in output


def test_a_restore_line_with_a_bad_signature_excuses_nothing(db: Any) -> None:
    _record(30)
    sealing.seal(checkpoint=True)
    _back_to(10)
    last = AuditEntry.objects.get(seq=10)
    line = {
        "restore": {
            "seq": 10,
            "hash": last.hash,
            "event_seq": 10,
            "event_hash": last.hash,
            "backup_taken_at": TAKEN,
            "at": "2026-12-01T02:00:00+00:00",
        },
        "sig": "f" * 64,
    }
    with open(checkpoints.path(), "a") as handle:
        handle.write(json.dumps(line) + "\n")

    ok, output = _verify()

    assert not ok
    assert "1 checkpoint lines with a bad signature" in output
    assert "#11 truncated: entries 11..30 missing" in output
