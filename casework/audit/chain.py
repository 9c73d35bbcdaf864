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


def canonical(entry: Any) -> bytes:
    """The fields an entry's hash covers, in a fixed textual form."""
    at = entry.at.isoformat(timespec="microseconds")
    body = {
        "seq": entry.seq,
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
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def link(prev_hash: str, entry: Any, key: bytes | None = None) -> str:
    return hmac.new(
        key or audit_key(), prev_hash.encode() + b"|" + canonical(entry), hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # "changed", "missing", "inserted", "truncated", "unsealed", "checkpoint"
    detail: str


class _Walker:
    """Checks entries one at a time, in seq order, remembering only the previous link."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.expected_seq = 1
        self.prev_hash = GENESIS
        self.prev_changed = False
        self.last_seq = 0
        self.hash_at: dict[int, str] = {}  # the hashes of the seqs a checkpoint names

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
        elif not gap and not self.prev_changed and entry.prev_hash != self.prev_hash:
            # A valid link to a different predecessor: this entry was not appended after the one
            # now before it. (After a changed entry the mismatch is that change, already told.)
            problems.append(
                Problem(entry.seq, "inserted", "does not follow from the previous entry")
            )
        self.prev_hash = entry.hash
        if entry.seq in self.hash_at:
            self.hash_at[entry.seq] = entry.hash
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

    def against(self, point: checkpoints.Checkpoint | None, *, sealed: bool) -> list[Problem]:
        """The chain against the latest checkpoint kept outside the database: entries cut off
        its end (with the head moved back to match) are found here."""
        if point is None:
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
        if self.last_seq < point.seq:
            return [
                Problem(
                    self.last_seq + 1,
                    "truncated",
                    f"entries {self.last_seq + 1}..{point.seq} missing: the checkpoint of "
                    f"{point.at} saw the chain reach #{point.seq}",
                )
            ]
        found = self.hash_at.get(point.seq, "")
        if not hmac.compare_digest(found, point.hash):
            return [Problem(point.seq, "changed", f"does not match the checkpoint of {point.at}")]
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
    the walk reaches at least as far), and entries left unsealed longer than
    CASEWORK_AUDIT_UNSEALED_ALERT_SECONDS are reported: the sealer is not keeping up, or stopped.
    """

    def __init__(self, *, batch_size: int = 5000) -> None:
        self.batch_size = batch_size
        self.checked = 0
        self.head_seq = 0
        self.head_hash = GENESIS
        self.unsealed = 0
        self.checkpoint: checkpoints.Checkpoint | None = None

    def _read_head(self) -> None:
        from casework.audit.models import AuditHead

        head = AuditHead.objects.filter(pk=1).values_list("seq", "hash").first()
        self.head_seq, self.head_hash = head if head is not None else (0, GENESIS)

    def problems(self) -> Iterator[Problem]:
        from casework.audit.models import AuditEntry

        walker = _Walker(audit_key())
        self.checked = 0
        reading = checkpoints.read()
        self.checkpoint = reading.latest
        if reading.forged:
            yield Problem(
                0, "checkpoint", f"{reading.forged} checkpoint lines with a bad signature"
            )
        if self.checkpoint is not None:
            walker.hash_at[self.checkpoint.seq] = ""
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
        yield from walker.against(self.checkpoint, sealed=walker.last_seq > 0)
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
