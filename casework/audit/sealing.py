"""Sealing: the worker chains committed entries into the HMAC chain, in batches, in arrival order.

Requests only INSERT (casework/audit/log.py). The sealer — one at a time, serialised on the head
row, which nothing else locks — reads the unsealed entries in id order, gives each the next `seq`,
its predecessor's hash and its own HMAC, moves the head, and commits; then it writes a signed
checkpoint outside the database (casework/audit/checkpoints.py). A batch is one transaction: if
the worker dies in the middle, none of it is sealed and the next run seals it all. An entry whose
request rolled back was never there; one committed late (a long transaction) is sealed by the
next run, after the entries that committed before it.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, transaction

from casework.audit import checkpoints
from casework.audit.chain import link
from casework.audit.models import AuditEntry, AuditHead
from casework.vault.keys import audit_key

logger = logging.getLogger("casework.audit.sealing")


class ChainRewound(Exception):
    """The chain in the database no longer reaches, or no longer is, what the latest checkpoint
    outside it saw: entries were cut off (and maybe written again). Nothing more is sealed onto
    it; `audit verify` shows where."""


def _guard() -> None:
    latest = checkpoints.read().latest
    # A checkpoint of the empty chain (a worker that started on a new installation) names no
    # entry; there is nothing to hold the chain to yet.
    if latest is None or latest.seq == 0:
        return
    head = AuditHead.objects.filter(pk=1).values_list("seq", flat=True).first() or 0
    if head < latest.seq:
        raise ChainRewound(f"the chain head #{head} is behind the checkpoint #{latest.seq}")
    found = AuditEntry.objects.filter(seq=latest.seq).values_list("hash", flat=True).first()
    if found is None or not hmac.compare_digest(found, latest.hash):
        raise ChainRewound(f"entry #{latest.seq} is not the one its checkpoint saw")


@dataclass(frozen=True)
class Sealed:
    count: int
    head_seq: int
    head_hash: str


def _seal_batch(batch_size: int, key: bytes) -> Sealed:
    with transaction.atomic():
        head, _created = AuditHead.objects.select_for_update().get_or_create(pk=1)
        entries = list(AuditEntry.objects.filter(seq__isnull=True).order_by("id")[:batch_size])
        seq, prev = head.seq, head.hash
        for item in entries:
            seq += 1
            item.seq, item.prev_hash = seq, prev
            item.hash = prev = link(prev, item, key)
        if entries:
            AuditEntry.objects.bulk_update(entries, ["seq", "prev_hash", "hash"], batch_size=500)
            AuditHead.objects.filter(pk=1).update(seq=seq, hash=prev)
    return Sealed(len(entries), seq, prev)


_last_checkpoint = {"at": 0.0, "seq": -1}


def seal(*, batch_size: int = 2000, checkpoint: bool | None = None) -> Sealed:
    """Seal every entry committed so far. Writes a checkpoint when the head moved and the last
    one is older than CASEWORK_AUDIT_CHECKPOINT_SECONDS (or `checkpoint=True`)."""
    key = audit_key()
    _guard()
    total = 0
    while True:
        done = _seal_batch(batch_size, key)
        total += done.count
        if done.count < batch_size:
            break
    due = time.monotonic() - _last_checkpoint["at"] >= settings.CASEWORK_AUDIT_CHECKPOINT_SECONDS
    if done.head_seq != _last_checkpoint["seq"] and (checkpoint or (checkpoint is None and due)):
        checkpoints.write(done.head_seq, done.head_hash)
        _last_checkpoint.update(at=time.monotonic(), seq=done.head_seq)
    return Sealed(total, done.head_seq, done.head_hash)


def run_sealer(stop: threading.Event, every: float) -> None:
    """The worker's sealing loop: seal, wait `every` seconds, again; never dies of an error."""
    alarmed = 0.0
    while not stop.is_set():
        try:
            close_old_connections()
            sealed = seal()
            if sealed.count:
                logger.debug("Sealed %d audit entries up to #%d", sealed.count, sealed.head_seq)
        except ChainRewound as rewound:
            if time.monotonic() - alarmed > 60:
                alarmed = time.monotonic()
                logger.critical("The audit trail was tampered with; sealing stopped: %s", rewound)
        except Exception:
            logger.exception("Sealing the audit trail failed; trying again")
        finally:
            close_old_connections()
        stop.wait(every)
