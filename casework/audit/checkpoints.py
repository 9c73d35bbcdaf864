"""Signed checkpoints of the audit chain, kept outside the database.

After sealing, the worker appends a line `{"seq", "hash", "at", "sig"}` to an append-only file
(`CASEWORK_AUDIT_CHECKPOINT_FILE`), logs it to the `casework.audit.checkpoint` logger (route it
to syslog or a log collector in LOGGING) and, if `CASEWORK_AUDIT_CHECKPOINT_URL` is set, posts it
there. `sig` is an HMAC under a key derived from the audit key, so a checkpoint cannot be forged
without it. Someone who can rewrite the database cannot reach these copies: `audit verify`
compares the chain with the latest checkpoint and reports entries cut off its end.
"""

from __future__ import annotations

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
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    logger.info("audit checkpoint %s", line)
    url = getattr(settings, "CASEWORK_AUDIT_CHECKPOINT_URL", "")
    if url:
        _post(url, line)
    return point


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


def _parse(line: str) -> Checkpoint | None:
    """The checkpoint a line holds if its signature is good, else None."""
    try:
        fields = json.loads(line)
        point = Checkpoint(int(fields["seq"]), str(fields["hash"]), str(fields["at"]))
        good = hmac.compare_digest(_signature(point.seq, point.hash, point.at), str(fields["sig"]))
    except (ValueError, KeyError, TypeError):
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
    latest: Checkpoint | None
    forged: int  # lines whose signature does not match (or that do not parse)
    source: Path

    def points(self) -> Iterator[Checkpoint]:
        """Every good checkpoint in the file, in seq order, read again lazily (constant memory:
        the sealer writes them in ascending order; one out of order is skipped here)."""
        last = -1
        for line in _lines(self.source, tail=False):
            point = _parse(line)
            if point is not None and point.seq >= last:
                last = point.seq
                yield point


def _reading(source: Path, *, tail: bool) -> Reading:
    latest: Checkpoint | None = None
    forged = 0
    for line in _lines(source, tail=tail):
        point = _parse(line)
        if point is None:
            forged += 1
        elif latest is None or point.seq >= latest.seq:
            latest = point
    return Reading(latest, forged, source)


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
