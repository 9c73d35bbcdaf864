"""The audit chain: computing links and checking them."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
    kind: str  # "changed", "missing", "inserted", "truncated"
    detail: str


def verify(entries: Iterator[Any], *, head_seq: int, head_hash: str) -> list[Problem]:
    """Walk entries in seq order and report every break in the chain.

    - changed: an entry's content no longer matches its HMAC (a field was edited);
    - missing: a gap in the sequence (rows deleted);
    - inserted: a row beyond the chain head, or one that does not follow from its predecessor
      (written by something other than `record()`, which would need the key to forge a link);
    - truncated: the chain ends before the head says it should (the last rows deleted).
    """
    key = audit_key()
    problems: list[Problem] = []
    expected_seq = 1
    prev_hash = GENESIS
    last_seq = 0
    for entry in entries:
        if entry.seq > head_seq:
            problems.append(
                Problem(entry.seq, "inserted", "after the chain head: not appended by Casework")
            )
            continue
        gap = entry.seq > expected_seq
        if gap:
            problems.append(
                Problem(expected_seq, "missing", f"entries {expected_seq}..{entry.seq - 1} absent")
            )
        if not hmac.compare_digest(link(entry.prev_hash, entry, key), entry.hash):
            problems.append(Problem(entry.seq, "changed", "content does not match its hash"))
        elif not gap and entry.prev_hash != prev_hash:
            problems.append(
                Problem(entry.seq, "inserted", "does not follow from the previous entry")
            )
        prev_hash = entry.hash
        expected_seq = entry.seq + 1
        last_seq = entry.seq
    if last_seq < head_seq:
        problems.append(
            Problem(last_seq + 1, "truncated", f"chain ends at {last_seq}, head says {head_seq}")
        )
    elif head_seq and not hmac.compare_digest(head_hash, prev_hash):
        problems.append(Problem(head_seq, "changed", "the head does not match the last entry"))
    return problems
