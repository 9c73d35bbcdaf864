"""Appending without a global lock, sealing in batches by the worker, checkpoints outside the
database: the end of the trail can no longer be erased unseen, and nothing is lost when a request
or the worker dies."""

from __future__ import annotations

import importlib
import io
import json
import threading
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from casework.audit import checkpoints, sealing
from casework.audit.log import record
from casework.audit.models import AuditEntry, AuditHead
from casework.audit.tests.test_verify_chain import append_only_lifted


def _verify() -> tuple[bool, str]:
    out = io.StringIO()
    try:
        call_command("audit", "verify", stdout=out)
    except CommandError:
        return False, out.getvalue()
    return True, out.getvalue()


def _record(count: int) -> list[AuditEntry]:
    return [record("test.step", by=None, data={"n": n}) for n in range(count)]


def test_the_rewind_attack_is_reported_with_the_missing_range(db: Any) -> None:
    _record(60)
    sealing.seal(checkpoint=True)
    assert _verify()[0]
    # The attack: lift the triggers, delete the last 50 entries, move the head back to match.
    with append_only_lifted():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditentry WHERE seq > 10")
    last = AuditEntry.objects.get(seq=10)
    AuditHead.objects.filter(pk=1).update(seq=10, hash=last.hash)

    ok, output = _verify()

    assert not ok
    assert "#11 truncated: entries 11..60 missing" in output


def test_deleting_the_checkpoints_is_reported_too(db: Any) -> None:
    _record(3)
    sealing.seal(checkpoint=True)
    checkpoints.path().unlink()
    ok, output = _verify()
    assert not ok and "no signed checkpoint" in output


def test_a_forged_checkpoint_line_is_reported(db: Any) -> None:
    _record(3)
    sealing.seal(checkpoint=True)
    with open(checkpoints.path(), "a") as handle:
        handle.write(json.dumps({"seq": 2, "hash": "0" * 64, "at": "now", "sig": "f" * 64}) + "\n")
    ok, output = _verify()
    assert not ok and "1 checkpoint lines with a bad signature" in output


def test_appending_takes_no_lock_and_one_statement(db: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1) as queries:
        made = record("test.step", by=None)
    assert "audit_audithead" not in queries.captured_queries[0]["sql"]
    assert made.seq is None and made.hash == ""
    assert AuditHead.objects.get(pk=1).seq == 0


def test_the_sealer_chains_entries_in_arrival_order_in_batches(db: Any) -> None:
    made = _record(7)
    sealed = sealing.seal(batch_size=3, checkpoint=True)
    assert sealed.count == 7 and sealed.head_seq == 7
    seqs = list(AuditEntry.objects.order_by("id").values_list("seq", flat=True))
    assert seqs == [1, 2, 3, 4, 5, 6, 7]
    assert AuditEntry.objects.get(pk=made[-1].pk).hash == sealed.head_hash
    latest = checkpoints.read().latest
    assert latest is not None and (latest.seq, latest.hash) == (7, sealed.head_hash)
    assert _verify()[0]


def test_a_request_that_dies_leaves_neither_its_change_nor_its_entry(db: Any) -> None:
    _record(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        record("test.doomed", by=None)
        raise RuntimeError("the request died")
    _record(1)
    sealing.seal(checkpoint=True)
    assert not AuditEntry.objects.filter(action="test.doomed").exists()
    assert AuditEntry.objects.filter(seq__isnull=True).count() == 0
    assert _verify()[0]


def test_a_worker_that_dies_while_sealing_loses_nothing(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(5)
    real = sealing.link
    calls = {"n": 0}

    def dies_on_the_fourth(*args: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 4:
            raise MemoryError("the worker died")
        return real(*args)

    monkeypatch.setattr(sealing, "link", dies_on_the_fourth)
    with pytest.raises(MemoryError):
        sealing.seal(checkpoint=True)
    # The batch was one transaction: nothing of it is sealed, the head did not move.
    assert AuditEntry.objects.filter(seq__isnull=True).count() == 5
    assert AuditHead.objects.get(pk=1).seq == 0
    monkeypatch.setattr(sealing, "link", real)
    assert sealing.seal(checkpoint=True).count == 5
    assert _verify()[0]


def test_entries_left_unsealed_past_the_limit_raise_the_alarm(db: Any, settings: Any) -> None:
    settings.CASEWORK_AUDIT_UNSEALED_ALERT_SECONDS = 10
    made = record("test.step", by=None)
    assert _verify()[0]  # just appended: not late yet
    with append_only_lifted():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_auditentry SET at = %s WHERE id = %s",
                [made.at.replace(year=made.at.year - 1), made.pk],
            )
    ok, output = _verify()
    assert not ok and "1 entries waiting more than 10 s to be sealed" in output


def test_the_sealing_loop_survives_an_error(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stop = threading.Event()
    calls: list[str] = []

    def flaky(**kwargs: Any) -> sealing.Sealed:
        calls.append("seal")
        if len(calls) == 1:
            raise RuntimeError("database went away")
        stop.set()
        return sealing.Sealed(0, 0, "")

    monkeypatch.setattr(sealing, "seal", flaky)
    sealing.run_sealer(stop, every=0.01)
    assert calls == ["seal", "seal"]


def test_checkpoints_go_to_the_log_and_the_url_too(
    db: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    posted: list[bytes] = []

    class Answer:
        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *args: Any) -> None:
            return None

    def urlopen(request: Any, timeout: float) -> Answer:
        posted.append(request.data)
        return Answer()

    settings.CASEWORK_AUDIT_CHECKPOINT_URL = "https://audit.example.org/checkpoints"
    monkeypatch.setattr(checkpoints.urllib.request, "urlopen", urlopen)
    _record(2)
    with caplog.at_level("INFO", logger="casework.audit.checkpoint"):
        sealing.seal(checkpoint=True)
    assert json.loads(posted[0])["seq"] == 2
    assert any('"seq":2' in message for message in caplog.messages)


def test_the_case_access_log_shows_entries_before_they_are_sealed(
    db: Any, amina: Any, case: Any
) -> None:
    from casework.audit.log import case_access_log

    before = len(case_access_log(case.pk))
    record("cases.case.read", by=amina, target=case)
    assert len(case_access_log(case.pk)) == before + 1


def test_a_chain_cut_back_and_grown_again_is_still_caught(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rewind attack, then the application keeps appending past the old end."""
    _record(60)
    sealing.seal(checkpoint=True)
    with append_only_lifted():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditentry WHERE seq > 10")
    AuditHead.objects.filter(pk=1).update(seq=10, hash=AuditEntry.objects.get(seq=10).hash)
    # The worker refuses to seal onto a chain its checkpoint no longer matches …
    _record(55)
    with pytest.raises(sealing.ChainRewound):
        sealing.seal(checkpoint=True)
    # … and even if something sealed them (a worker without the checkpoint file), verify sees
    # that entry #60 is not the one the checkpoint saw.
    monkeypatch.setattr(sealing, "_guard", lambda: None)
    sealing.seal(checkpoint=False)
    ok, output = _verify()
    assert not ok
    assert "#60 changed: not the entry the checkpoint" in output


def test_a_worker_started_again_on_a_new_installation_keeps_sealing(db: Any) -> None:
    # The first worker checkpointed the empty chain, then was killed before anything happened;
    # its successor used to call that tampering and stop sealing for good.
    sealing.seal(checkpoint=True)
    latest = checkpoints.read().latest
    assert latest is not None and latest.seq == 0
    _record(3)
    assert sealing.seal(checkpoint=True).count == 3
    assert _verify()[0]


def test_a_row_slipped_in_before_sealing_is_found(db: Any) -> None:
    _record(2)
    forged = AuditEntry.objects.create(
        at=AuditEntry.objects.earliest("id").at,
        action="cases.case.viewed",
        mac="0" * 64,
    )
    ok, output = _verify()
    assert not ok and f"entry id {forged.pk} was not appended by Casework" in output
    sealing.seal(checkpoint=True)
    ok, output = _verify()
    assert not ok and "#3 forged" in output


def test_checkpoints_that_stop_while_the_chain_moves_on_raise_the_alarm(
    db: Any, settings: Any
) -> None:
    settings.CASEWORK_AUDIT_UNSEALED_ALERT_SECONDS = 10
    _record(2)
    sealing.seal(checkpoint=True)
    lines = checkpoints.path().read_text().splitlines()
    old = json.loads(lines[-1])
    old["at"] = "2020-01-01T00:00:00+00:00"
    old["sig"] = checkpoints._signature(old["seq"], old["hash"], old["at"])
    checkpoints.path().write_text(json.dumps(old) + "\n")
    _record(1)
    sealing.seal(checkpoint=False)
    ok, output = _verify()
    assert not ok and "checkpoints are not written" in output


def test_the_triggers_guard_every_column_but_the_seal(db: Any) -> None:
    migration = importlib.import_module("casework.audit.migrations.0003_sealed_in_batches")
    columns = {field.column for field in AuditEntry._meta.concrete_fields}
    assert set(migration.CONTENT) == columns - {"seq", "prev_hash", "hash"}


def test_verify_notices_a_missing_trigger(db: Any) -> None:
    _record(1)
    sealing.seal(checkpoint=True)
    with append_only_lifted():
        ok, output = _verify()
    assert not ok and "append-only trigger" in output
