"""The audit chain: computing links and checking them (against the head in the database and the
latest signed checkpoint outside it)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from casework.audit import checkpoints
from casework.vault.keys import audit_key

GENESIS = "0" * 64
# The entry a restore from a backup appends (casework/audit/restores.py).
RESTORED = "audit.restored"


def canonical(entry: Any, *, with_seq: bool = True) -> bytes:
    """The fields an entry's hash covers, in a fixed textual form (its MAC: all but `seq`)."""
    at = entry.at.isoformat(timespec="microseconds")
    body = {
        "at": at,
        "actor": entry.actor_id,
        "agency": entry.agency_id,
        "ip": entry.ip,
        "ua": entry.user_agent,
        "action": entry.action,
        "outcome": entry.outcome,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "case": entry.case_id,
        "data": entry.data,
    }
    if with_seq:
        body["seq"] = entry.seq
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_mac(entry: Any, key: bytes | None = None) -> str:
    """The MAC a request gives its entry when it appends it: a row inserted by anything but
    `record()`/`append()` (which hold the key) is told apart before and after sealing."""
    return hmac.new(
        key or audit_key(), b"entry|" + canonical(entry, with_seq=False), hashlib.sha256
    ).hexdigest()


def link(prev_hash: str, entry: Any, key: bytes | None = None) -> str:
    return hmac.new(
        key or audit_key(), prev_hash.encode() + b"|" + canonical(entry), hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # changed, missing, inserted, forged, truncated, unsealed, checkpoint, restore
    detail: str


class _Walker:
    """Checks entries one at a time, in seq order, remembering only the previous link."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.expected_seq = 1
        self.prev_hash = GENESIS
        self.prev_changed = False
        self.last_seq = 0
        # The signed checkpoints, in seq order, still to be met on the walk.
        self.points: Iterator[checkpoints.Checkpoint] = iter(())
        self.point: checkpoints.Checkpoint | None = None
        self.points_seen = 0
        self.restores: tuple[checkpoints.Restore, ...] = ()

    def hold_to(
        self,
        points: Iterable[checkpoints.Checkpoint],
        restores: tuple[checkpoints.Restore, ...] = (),
    ) -> None:
        self.points = iter(points)
        self.point = next(self.points, None)
        self.restores = restores

    def restored(self, entry: Any) -> list[Problem]:
        """A restore's entry must carry the signature only the key's holder can make, and be the
        one the signed restore line outside the database names: an entry written with database
        access alone cannot excuse entries cut off the chain."""
        data = entry.data if isinstance(entry.data, dict) else {}
        try:
            seq = int(data.get("restored_at_seq", -1))
            expected = checkpoints.restore_event_signature(
                seq=seq,
                backup_taken_at=str(data.get("backup_taken_at", "")),
                at=entry.at.isoformat(timespec="microseconds"),
            )
        except (TypeError, ValueError):
            seq, expected = -1, ""
        if not expected or not hmac.compare_digest(expected, str(data.get("sig", ""))):
            return [Problem(entry.seq, "forged", "a restore entry without a valid signature")]
        if not any(
            restore.event_seq == entry.seq
            and restore.seq == seq
            and hmac.compare_digest(restore.event_hash, entry.hash)
            for restore in self.restores
        ):
            return [
                Problem(
                    entry.seq,
                    "restore",
                    f"a restore to #{seq} that no signed restore line in {checkpoints.path()} "
                    "names",
                )
            ]
        return []

    def _checkpoints_up_to(self, entry: Any) -> list[Problem]:
        """Every checkpoint at or before this entry: the entry a checkpoint names must still be
        the one it saw (a chain cut back and grown again differs there)."""
        problems = []
        while self.point is not None and self.point.seq <= entry.seq:
            self.points_seen += 1
            if self.point.seq == entry.seq and not hmac.compare_digest(self.point.hash, entry.hash):
                problems.append(
                    Problem(
                        entry.seq,
                        "changed",
                        f"not the entry the checkpoint of {self.point.at} saw here",
                    )
                )
            self.point = next(self.points, None)
        return problems

    def forged(self, entry: Any) -> list[Problem]:
        if hmac.compare_digest(entry_mac(entry, self.key), entry.mac or ""):
            return []
        where = entry.seq or 0
        return [
            Problem(
                where,
                "forged",
                f"entry id {entry.pk} was not appended by Casework (its MAC does not match)",
            )
        ]

    def beyond_head(self, entry: Any) -> Problem:
        return Problem(entry.seq, "inserted", "after the chain head: not appended by Casework")

    def step(self, entry: Any) -> list[Problem]:
        problems = []
        gap = entry.seq > self.expected_seq
        if gap:
            problems.append(
                Problem(
                    self.expected_seq,
                    "missing",
                    f"entries {self.expected_seq}..{entry.seq - 1} absent",
                )
            )
        changed = not hmac.compare_digest(link(entry.prev_hash, entry, self.key), entry.hash)
        if changed:
            problems.append(Problem(entry.seq, "changed", "content does not match its hash"))
        else:
            # Linked properly yet not appended by Casework: a row slipped in before sealing.
            problems.extend(self.forged(entry))
            if entry.action == RESTORED:
                problems.extend(self.restored(entry))
            if not gap and not self.prev_changed and entry.prev_hash != self.prev_hash:
                # A valid link to a different predecessor: not appended after the one now
                # before it. (After a changed entry the mismatch is that change, already told.)
                problems.append(
                    Problem(entry.seq, "inserted", "does not follow from the previous entry")
                )
        self.prev_hash = entry.hash
        problems.extend(self._checkpoints_up_to(entry))
        self.prev_changed = changed
        self.expected_seq = entry.seq + 1
        self.last_seq = entry.seq
        return problems

    def end(self, head_seq: int, head_hash: str) -> list[Problem]:
        if self.last_seq < head_seq:
            return [
                Problem(
                    self.last_seq + 1,
                    "truncated",
                    f"chain ends at {self.last_seq}, head says {head_seq}",
                )
            ]
        if head_seq and not hmac.compare_digest(head_hash, self.prev_hash):
            return [Problem(head_seq, "changed", "the head does not match the last entry")]
        return []

    def against(self, reading: checkpoints.Reading, *, sealed: bool) -> list[Problem]:
        """After the walk: checkpoints beyond the chain's end (entries cut off it, with the head
        moved back to match), none at all, or none lately while the chain moved on."""
        latest = reading.latest
        if latest is None:
            if sealed:
                return [
                    Problem(
                        0,
                        "checkpoint",
                        f"no signed checkpoint at {checkpoints.path()}: the end of the chain "
                        "cannot be checked (is the worker running?)",
                    )
                ]
            return []
        if self.last_seq < latest.seq:
            return [
                Problem(
                    self.last_seq + 1,
                    "truncated",
                    f"entries {self.last_seq + 1}..{latest.seq} missing: the checkpoint of "
                    f"{latest.at} saw the chain reach #{latest.seq}",
                )
            ]
        limit = settings.CASEWORK_AUDIT_UNSEALED_ALERT_SECONDS
        if self.last_seq > latest.seq and checkpoints.age(latest) > limit:
            return [
                Problem(
                    latest.seq + 1,
                    "checkpoint",
                    f"the latest checkpoint (#{latest.seq}, {latest.at}) is more than {limit} s "
                    f"old while the chain reached #{self.last_seq}: checkpoints are not written",
                )
            ]
        return []


def verify(entries: Iterable[Any], *, head_seq: int, head_hash: str) -> list[Problem]:
    """Walk entries in seq order and report every break in the chain.

    - changed: an entry's content no longer matches its HMAC (a field was edited);
    - missing: a gap in the sequence (rows deleted);
    - inserted: a row beyond the chain head, or one that does not follow from its predecessor
      (written by something other than `record()`, which would need the key to forge a link);
    - truncated: the chain ends before the head says it should (the last rows deleted).
    """
    walker = _Walker(audit_key())
    problems: list[Problem] = []
    for entry in entries:
        if entry.seq > head_seq:
            problems.append(walker.beyond_head(entry))
        else:
            problems.extend(walker.step(entry))
    problems.extend(walker.end(head_seq, head_hash))
    return problems


class StoredChain:
    """The chain in the database, walked in bounded batches (millions of rows, constant memory).

    Each batch is its own short query (seq > last, ordered, limited) on the unique seq index, so
    no long transaction or cursor is held while the application keeps appending. An entry past
    the head read at the start is checked against a fresh read of the head: the sealer moves the
    head in the same transaction as it seals, so a genuine seal is always covered by it.

    Then the end of the chain is held to the latest signed checkpoint (read before the walk, so
    the walk reaches at least as far; after a restore from a backup, to the restore line and what
    followed it, the range the restore left behind being a known gap in `restores`), and entries left unsealed longer than
    CASEWORK_AUDIT_UNSEALED_ALERT_SECONDS are reported: the sealer is not keeping up, or stopped.
    """

    def __init__(self, *, batch_size: int = 5000) -> None:
        self.batch_size = batch_size
        self.checked = 0
        self.head_seq = 0
        self.head_hash = GENESIS
        self.unsealed = 0
        self.checkpoint: checkpoints.Checkpoint | None = None
        # Restores from backups, each with the range it left behind: known gaps, not tampering.
        self.restores: tuple[checkpoints.Restore, ...] = ()

    def _read_head(self) -> None:
        from casework.audit.models import AuditHead

        head = AuditHead.objects.filter(pk=1).values_list("seq", "hash").first()
        self.head_seq, self.head_hash = head if head is not None else (0, GENESIS)

    def problems(self) -> Iterator[Problem]:
        from casework.audit.models import AuditEntry

        walker = _Walker(audit_key())
        self.checked = 0
        # Read (and checked) before the walk, so the walk reaches at least as far.
        reading = checkpoints.read_all()
        self.checkpoint = reading.latest
        if reading.forged:
            yield Problem(
                0, "checkpoint", f"{reading.forged} checkpoint lines with a bad signature"
            )
        walker.hold_to(reading.points(), reading.restores)
        self.restores = reading.restores
        self._read_head()
        last = 0
        while True:
            batch = list(AuditEntry.objects.filter(seq__gt=last).order_by("seq")[: self.batch_size])
            for entry in batch:
                self.checked += 1
                seq = entry.seq or 0  # the filter reads sealed entries only
                if seq > self.head_seq:
                    self._read_head()
                if seq > self.head_seq:
                    yield walker.beyond_head(entry)
                else:
                    yield from walker.step(entry)
            if len(batch) < self.batch_size:
                break
            last = batch[-1].seq or 0
        yield from walker.end(self.head_seq, self.head_hash)
        yield from walker.against(reading, sealed=walker.last_seq > 0)
        for waiting in AuditEntry.objects.filter(seq__isnull=True).order_by("id").iterator():
            yield from walker.forged(waiting)
        yield from _missing_triggers()
        limit = settings.CASEWORK_AUDIT_UNSEALED_ALERT_SECONDS
        cutoff = timezone.now() - datetime.timedelta(seconds=limit)
        self.unsealed = AuditEntry.objects.filter(seq__isnull=True, at__lt=cutoff).count()
        if self.unsealed:
            yield Problem(
                0,
                "unsealed",
                f"{self.unsealed} entries waiting more than {limit} s to be sealed "
                "(is the worker running?)",
            )


TRIGGERS = {
    "postgresql": {"audit_entry_no_update", "audit_entry_no_truncate"},
    "sqlite": {"audit_entry_no_update", "audit_entry_no_delete"},
}


def _missing_triggers() -> Iterator[Problem]:
    """The append-only triggers must be there (a table rebuild, or someone, may drop them)."""
    from django.db import connection

    wanted = TRIGGERS.get(connection.vendor, set())
    if not wanted:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditentry'::regclass "
                "AND tgenabled <> 'D'"
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'audit_auditentry'"
            )
        present = {row[0] for row in cursor.fetchall()}
    for name in sorted(wanted - present):
        yield Problem(0, "triggers", f"the append-only trigger {name} is missing or disabled")
