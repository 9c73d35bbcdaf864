"""Signed checkpoints of the audit chain, kept outside the database.

After sealing, the worker appends a line `{"seq", "hash", "at", "sig"}` to an append-only file
(`CASEWORK_AUDIT_CHECKPOINT_FILE`), logs it to the `casework.audit.checkpoint` logger (route it
to syslog or a log collector in LOGGING) and, if `CASEWORK_AUDIT_CHECKPOINT_URL` is set, posts it
there. `sig` is an HMAC under a key derived from the audit key, so a checkpoint cannot be forged
without it. Someone who can rewrite the database cannot reach these copies: `audit verify`
compares the chain with the latest checkpoint and reports entries cut off its end.

A restore from a backup (casework/core/backup.py) appends a signed restore line instead
(`{"restore": {...}, "sig"}`): the chain was put back to the backup's last entry, so what earlier
checkpoints saw beyond it is a known gap, reported as such, and the chain is held from then on to
the restore line and the checkpoints after it. Only a holder of the key can write one.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import json
import logging
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from casework.vault.keys import audit_key

logger = logging.getLogger("casework.audit.checkpoint")
TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str


def _key() -> bytes:
    return hmac.new(audit_key(), b"casework audit checkpoint", hashlib.sha256).digest()


def _signature(seq: int, chain_hash: str, at: str) -> str:
    return hmac.new(_key(), f"{seq}|{chain_hash}|{at}".encode(), hashlib.sha256).hexdigest()


def path() -> Path:
    return Path(settings.CASEWORK_AUDIT_CHECKPOINT_FILE)


def write(seq: int, chain_hash: str) -> Checkpoint:
    """Append a signed checkpoint to the file (fsynced), the log and the URL, if set."""
    at = timezone.now().isoformat(timespec="seconds")
    point = Checkpoint(seq, chain_hash, at)
    line = json.dumps(
        {"seq": seq, "hash": chain_hash, "at": at, "sig": _signature(seq, chain_hash, at)},
        separators=(",", ":"),
    )
    _append_line(line, what="checkpoint")
    return point


def _append_line(line: str, *, what: str) -> None:
    """Append one signed line to the file (synced before returning), the log and the URL."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    logger.info("audit %s %s", what, line)
    url = getattr(settings, "CASEWORK_AUDIT_CHECKPOINT_URL", "")
    if url:
        _post(url, line)


def _post(url: str, line: str) -> None:
    request = urllib.request.Request(  # noqa: S310 - an operator-configured https URL
        url, data=line.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310
            pass
    except OSError:
        # The file and the log still hold it; the next checkpoint is posted again.
        logger.warning("Could not post the audit checkpoint to the configured URL")


@dataclass(frozen=True)
class Restore:
    """A signed line saying the database was restored from a backup: the chain was kept up to
    `seq` (whose entry is `hash`) and the restore's own entry is `event_seq`. Checkpoints written
    before it that saw the chain beyond `seq` belong to the history the restore left behind."""

    seq: int
    hash: str
    event_seq: int
    event_hash: str
    backup_taken_at: str
    at: str
    # The furthest an earlier checkpoint saw the chain: entries seq+1..abandoned_to are the
    # known gap (0 when no checkpoint had gone beyond `seq`).
    abandoned_to: int = 0

    def points(self) -> tuple[Checkpoint, Checkpoint]:
        """What the line vouches for: the entry kept last, and the restore's own entry."""
        return Checkpoint(self.seq, self.hash, self.at), Checkpoint(
            self.event_seq, self.event_hash, self.at
        )


def _restore_signature(
    seq: int, chain_hash: str, event_seq: int, event_hash: str, taken_at: str, at: str
) -> str:
    message = f"restore|{seq}|{chain_hash}|{event_seq}|{event_hash}|{taken_at}|{at}"
    return hmac.new(_key(), message.encode(), hashlib.sha256).hexdigest()


def restore_event_signature(*, seq: int, backup_taken_at: str, at: str) -> str:
    """The signature a restore's audit entry carries in its data: only a holder of the key (not
    someone with the database alone) can write a restore entry that `audit verify` accepts."""
    message = f"restored|{seq}|{backup_taken_at}|{at}"
    return hmac.new(_key(), message.encode(), hashlib.sha256).hexdigest()


def write_restore(
    *, seq: int, chain_hash: str, event_seq: int, event_hash: str, backup_taken_at: str
) -> Restore:
    """Append the signed restore line: from here on the chain is held to what it says."""
    at = timezone.now().isoformat(timespec="seconds")
    sig = _restore_signature(seq, chain_hash, event_seq, event_hash, backup_taken_at, at)
    body = {
        "seq": seq,
        "hash": chain_hash,
        "event_seq": event_seq,
        "event_hash": event_hash,
        "backup_taken_at": backup_taken_at,
        "at": at,
    }
    line = json.dumps({"restore": body, "sig": sig}, separators=(",", ":"))
    _append_line(line, what="restore")
    return Restore(seq, chain_hash, event_seq, event_hash, backup_taken_at, at)


def _parse(line: str) -> Checkpoint | Restore | None:
    """The checkpoint or restore a line holds if its signature is good, else None."""
    try:
        fields = json.loads(line)
        if "restore" in fields:
            body = fields["restore"]
            restore = Restore(
                int(body["seq"]),
                str(body["hash"]),
                int(body["event_seq"]),
                str(body["event_hash"]),
                str(body["backup_taken_at"]),
                str(body["at"]),
            )
            expected = _restore_signature(
                restore.seq,
                restore.hash,
                restore.event_seq,
                restore.event_hash,
                restore.backup_taken_at,
                restore.at,
            )
            good = hmac.compare_digest(expected, str(fields["sig"]))
            return restore if good else None
        point = Checkpoint(int(fields["seq"]), str(fields["hash"]), str(fields["at"]))
        good = hmac.compare_digest(_signature(point.seq, point.hash, point.at), str(fields["sig"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return point if good else None


def _lines(source: Path, *, tail: bool) -> Iterator[str]:
    try:
        with open(source, "rb") as handle:
            if tail:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - TAIL_BYTES))
                if size > TAIL_BYTES:
                    handle.readline()  # the first line may be cut
            for raw in handle:
                line = raw.decode("utf-8", errors="replace").strip()
                if line:
                    yield line
    except FileNotFoundError:
        return


@dataclass(frozen=True)
class Reading:
    latest: Checkpoint | None  # since the last restore, if there was one
    forged: int  # lines whose signature does not match (or that do not parse)
    source: Path
    # Every restore in the file, in the order written (read_all only; few, kept in memory).
    restores: tuple[Restore, ...] = ()

    def points(self) -> Iterator[Checkpoint]:
        """Every good checkpoint in force, in seq order, read again lazily (constant memory: the
        sealer writes them in ascending order; one out of order is skipped here).

        A restore puts the chain back to the entry it kept: a checkpoint written before it that
        saw the chain beyond that entry saw a history the restore left behind (the known gap),
        so only those at or before the entry kept by every later restore are held to the chain."""
        floors = [restore.seq for restore in self.restores]
        # The lowest entry kept by any restore still ahead in the file.
        ahead = [min(floors[index:]) for index in range(len(floors))] + [None]
        passed = 0
        last = -1
        for line in _lines(self.source, tail=False):
            item = _parse(line)
            if item is None:
                continue
            found: tuple[Checkpoint, ...]
            if isinstance(item, Restore):
                passed += 1
                found = item.points()
            else:
                found = (item,)
            floor = ahead[passed]
            for point in found:
                if floor is not None and point.seq > floor:
                    continue
                if point.seq >= last:
                    last = point.seq
                    yield point


def _reading(source: Path, *, tail: bool) -> Reading:
    latest: Checkpoint | None = None
    furthest = 0
    forged = 0
    restores: list[Restore] = []
    for line in _lines(source, tail=tail):
        item = _parse(line)
        if item is None:
            forged += 1
        elif isinstance(item, Restore):
            # What came before saw another history: the chain now ends at the restore's entry.
            abandoned = furthest if furthest > item.seq else 0
            restores.append(dataclasses.replace(item, abandoned_to=abandoned))
            latest = item.points()[1]
            furthest = latest.seq
        else:
            if latest is None or item.seq >= latest.seq:
                latest = item
            furthest = max(furthest, item.seq)
    return Reading(latest, forged, source, tuple(restores))


def read(source: Path | None = None) -> Reading:
    """The latest validly signed checkpoint, from the file's tail (the sealer's check)."""
    return _reading(source or path(), tail=True)


def read_all(source: Path | None = None) -> Reading:
    """Every line of the file checked (`audit verify`)."""
    return _reading(source or path(), tail=False)


def age(point: Checkpoint) -> float:
    """Seconds since the checkpoint was written."""
    try:
        written = datetime.datetime.fromisoformat(point.at)
    except ValueError:
        return float("inf")
    return (timezone.now() - written).total_seconds()
