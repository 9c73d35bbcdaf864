"""`casework audit verify`: a clean chain passes; every kind of tampering is found, by seq."""

from __future__ import annotations

import base64
import importlib
import io
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from casework.audit.chain import GENESIS, StoredChain, verify
from casework.audit.log import record
from casework.audit.models import AuditEntry, AuditHead
from casework.audit.sealing import seal

triggers = importlib.import_module("casework.audit.migrations.0003_sealed_in_batches")


@contextmanager
def append_only_lifted() -> Iterator[None]:
    """What an attacker with database rights would do first: take the triggers out of the way."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Django's foreign keys are checked at commit; ALTER TABLE wants none pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER audit_entry_no_update")
            cursor.execute("DROP TRIGGER audit_entry_no_delete")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            else:
                for statement in triggers.SQLITE_UP:
                    cursor.execute(statement)


def _sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _verify(*options: str) -> str:
    out = io.StringIO()
    call_command("audit", "verify", *options, stdout=out)
    return out.getvalue()


def _broken(*options: str) -> str:
    out = io.StringIO()
    with pytest.raises(CommandError, match="The audit chain is broken"):
        call_command("audit", "verify", *options, stdout=out)
    return out.getvalue()


@pytest.fixture
def five_entries(db: Any) -> list[AuditEntry]:
    made = [record("test.step", by=None, data={"n": n}) for n in range(1, 6)]
    seal(checkpoint=True)
    return list(AuditEntry.objects.filter(pk__in=[e.pk for e in made]).order_by("seq"))


def test_it_passes_a_clean_chain(five_entries: list[AuditEntry]) -> None:
    head = AuditHead.objects.get(pk=1)

    output = _verify("--batch-size", "2")

    assert f"OK: 5 entries, head #5 {head.hash}" in output


def test_entries_appended_together_chain_like_entries_recorded_one_by_one(
    five_entries: list[AuditEntry], django_assert_max_num_queries: Any
) -> None:
    from casework.audit.log import append, entry

    with django_assert_max_num_queries(1):
        append([entry("test.many", by=None, data={"n": n}) for n in range(50)])
    record("test.after", by=None)
    seal(batch_size=7, checkpoint=True)
    assert "OK: 56 entries, head #56" in _verify("--batch-size", "7")


def test_it_passes_an_empty_chain(db: Any) -> None:
    assert "OK: 0 entries, head #0" in _verify()


def test_it_finds_a_changed_entry_by_its_seq(five_entries: list[AuditEntry]) -> None:
    with append_only_lifted():
        _sql("UPDATE audit_auditentry SET action = 'test.other' WHERE seq = 3")

    output = _broken("--batch-size", "2")

    assert "#3 changed: content does not match its hash" in output
    assert output.count("#") == 1


def test_it_finds_a_rewritten_hash_without_blaming_the_next_entry(
    five_entries: list[AuditEntry],
) -> None:
    with append_only_lifted():
        _sql("UPDATE audit_auditentry SET hash = %s WHERE seq = 2", ["f" * 64])

    output = _broken()

    assert "#2 changed" in output
    assert "#3" not in output


def test_it_finds_a_deleted_entry(five_entries: list[AuditEntry]) -> None:
    with append_only_lifted():
        _sql("DELETE FROM audit_auditentry WHERE seq = 2")

    output = _broken("--batch-size", "2")

    assert "#2 missing: entries 2..2 absent" in output


def test_it_finds_entries_cut_off_the_end(five_entries: list[AuditEntry]) -> None:
    with append_only_lifted():
        _sql("DELETE FROM audit_auditentry WHERE seq >= 4")

    output = _broken()

    assert "#4 truncated: chain ends at 3, head says 5" in output


def _forge(seq: int, prev_hash: str) -> AuditEntry:
    # Inserting needs no trigger lifted: the chain is what makes an insert visible.
    return AuditEntry.objects.create(
        seq=seq,
        at=timezone.now(),
        action="accounts.login",
        prev_hash=prev_hash,
        hash=secrets.token_hex(32),
    )


def test_it_finds_an_entry_inserted_after_the_head(five_entries: list[AuditEntry]) -> None:
    _forge(6, five_entries[-1].hash)

    output = _broken()

    assert "#6 inserted: after the chain head" in output


def test_it_finds_a_forged_entry_even_when_the_head_was_moved_to_it(
    five_entries: list[AuditEntry],
) -> None:
    forged = _forge(6, five_entries[-1].hash)
    AuditHead.objects.filter(pk=1).update(seq=6, hash=forged.hash)

    output = _broken()

    assert "#6 changed: content does not match its hash" in output


def test_it_finds_an_entry_replaced_by_a_forgery(five_entries: list[AuditEntry]) -> None:
    with append_only_lifted():
        _sql("DELETE FROM audit_auditentry WHERE seq = 3")
    _forge(3, five_entries[1].hash)

    output = _broken()

    assert "#3 changed" in output


def test_it_does_not_mistake_entries_appended_during_the_walk_for_insertions(
    db: Any,
) -> None:
    record("test.step", by=None)
    record("test.step", by=None)
    seal(checkpoint=True)

    class AppendsWhileWalking(StoredChain):
        appended = False

        def _read_head(self) -> None:
            super()._read_head()
            if not self.appended:
                self.appended = True
                record("test.step", by=None)  # committed by a request after our head read
                seal()  # and sealed by the worker

    chain = AppendsWhileWalking(batch_size=2)

    assert list(chain.problems()) == []
    assert (chain.checked, chain.head_seq) == (3, 3)


def test_it_counts_every_problem_but_prints_only_some(
    five_entries: list[AuditEntry], settings: Any
) -> None:
    settings.CASEWORK_AUDIT_KEY = base64.b64encode(secrets.token_bytes(32)).decode()

    output = _broken("--show", "2")

    # With another key the checkpoint's signature fails too: 5 entries and 1 checkpoint line.
    assert "checkpoint lines with a bad signature" in output and "#1 changed" in output
    assert "#2" not in output
    assert "… and 5 more." in output


def test_verify_over_an_iterable_reports_the_same_problems(
    five_entries: list[AuditEntry],
) -> None:
    entries = list(AuditEntry.objects.order_by("seq"))

    assert verify(entries, head_seq=5, head_hash=five_entries[-1].hash) == []
    problems = verify(entries[:2] + entries[3:], head_seq=5, head_hash=five_entries[-1].hash)
    assert [(p.seq, p.kind) for p in problems] == [(3, "missing")]
    assert verify([], head_seq=0, head_hash=GENESIS) == []
