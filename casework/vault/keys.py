"""Key material: master keys outside the database, data keys inside it (wrapped).

Master keys come from CASEWORK_MASTER_KEYS (JSON) or the file CASEWORK_KEY_DIR/master.keys,
written by `casework initkeys`. They only wrap and unwrap the DataKey rows; the data keys encrypt
the fields. Decrypted data keys are cached per process for KEYRING_TTL seconds, so a purge or a
rotation reaches every app server within that time.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from casework.vault.models import DataKey

KEYRING_TTL = 60.0
MASTER_FILE = "master.keys"
AUDIT_FILE = "audit.key"
SECRET_FILE = "secret_key"


@dataclass(frozen=True)
class MasterKeys:
    primary: str
    keys: dict[str, bytes]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ImproperlyConfigured(f"{what} is not valid base64.") from None


def key_dir() -> Path:
    return Path(settings.CASEWORK_KEY_DIR)


def load_master_keys() -> MasterKeys:
    source = settings.CASEWORK_MASTER_KEYS
    where = "CASEWORK_MASTER_KEYS"
    if not source:
        path = key_dir() / MASTER_FILE
        where = str(path)
        try:
            source = path.read_text()
        except FileNotFoundError:
            raise ImproperlyConfigured(
                f"No master key found at {path}. Run `casework initkeys` or set "
                "CASEWORK_MASTER_KEYS."
            ) from None
    try:
        parsed = json.loads(source)
        keys = {str(k): _unb64(v, f"master key {k}") for k, v in parsed["keys"].items()}
        primary = str(parsed["primary"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ImproperlyConfigured(
            f'{where} must be JSON like {{"primary": "m1", "keys": {{"m1": "<base64>"}}}}.'
        ) from None
    if primary not in keys or any(len(k) != 32 for k in keys.values()):
        raise ImproperlyConfigured(f"{where}: the primary key must exist and keys be 32 bytes.")
    return MasterKeys(primary=primary, keys=keys)


def audit_key() -> bytes:
    if settings.CASEWORK_AUDIT_KEY:
        return _unb64(settings.CASEWORK_AUDIT_KEY, "CASEWORK_AUDIT_KEY")
    path = key_dir() / AUDIT_FILE
    try:
        return _unb64(path.read_text().strip(), str(path))
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"No audit key found at {path}. Run `casework initkeys` or set CASEWORK_AUDIT_KEY."
        ) from None


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def init_key_files(directory: Path | None = None) -> list[Path]:
    """Create whichever key files are missing (never overwrite one). Returns the files written."""
    directory = directory or key_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    contents = {
        MASTER_FILE: lambda: json.dumps(
            {"primary": "m1", "keys": {"m1": _b64(AESGCM.generate_key(bit_length=256))}}
        ),
        AUDIT_FILE: lambda: _b64(secrets.token_bytes(32)),
        SECRET_FILE: lambda: secrets.token_urlsafe(50),
    }
    for name, make in contents.items():
        path = directory / name
        if not path.exists():
            _write_private(path, make())
            written.append(path)
    return written


def add_master_key(directory: Path | None = None) -> str:
    """Add a new master key to the key file and make it primary; old ones stay for unwrapping."""
    path = (directory or key_dir()) / MASTER_FILE
    current = load_master_keys()
    new_id = f"m{max(int(k[1:]) for k in current.keys if k[1:].isdigit()) + 1}"
    keys = {k: _b64(v) for k, v in current.keys.items()} | {
        new_id: _b64(AESGCM.generate_key(bit_length=256))
    }
    tmp = path.with_suffix(".tmp")
    _write_private(tmp, json.dumps({"primary": new_id, "keys": keys}))
    tmp.replace(path)
    return new_id


def shred_key_files(directory: Path | None = None) -> list[Path]:
    """Overwrite then delete the master and audit key files (emergency purge)."""
    directory = directory or key_dir()
    removed = []
    for name in (MASTER_FILE, AUDIT_FILE):
        path = directory / name
        if path.exists():
            size = path.stat().st_size
            with open(path, "r+b") as handle:
                handle.write(secrets.token_bytes(max(size, 64)))
                handle.flush()
                os.fsync(handle.fileno())
            path.unlink()
            removed.append(path)
    return removed


def _wrap(master: MasterKeys, key: bytes, purpose: str) -> bytes:
    nonce = secrets.token_bytes(12)
    aad = f"casework-datakey:{purpose}".encode()
    return nonce + AESGCM(master.keys[master.primary]).encrypt(nonce, key, aad)


def _unwrap(master: MasterKeys, row: DataKey) -> bytes:
    if row.master_key_id not in master.keys:
        raise ImproperlyConfigured(
            f"Data key {row.pk} is wrapped by master key {row.master_key_id!r}, which is missing."
        )
    blob = bytes(row.wrapped)
    aad = f"casework-datakey:{row.purpose}".encode()
    return AESGCM(master.keys[row.master_key_id]).decrypt(blob[:12], blob[12:], aad)


@dataclass
class Keyring:
    data: dict[int, AESGCM] = field(default_factory=dict)
    primary_id: int = 0
    index_key: bytes = b""
    loaded_at: float = 0.0


_lock = threading.RLock()
_cached: Keyring | None = None


def clear_cache() -> None:
    global _cached, _last_forced_reload
    with _lock:
        _cached = None
        _last_forced_reload = 0.0


def create_data_key(purpose: str, *, master: MasterKeys | None = None) -> DataKey:
    """Make a new primary key for `purpose`; the previous primary stays readable, marked retired."""
    master = master or load_master_keys()
    with transaction.atomic():
        DataKey.objects.filter(purpose=purpose, is_primary=True).update(
            is_primary=False, retired_at=timezone.now()
        )
        row = DataKey.objects.create(
            purpose=purpose,
            master_key_id=master.primary,
            wrapped=_wrap(master, AESGCM.generate_key(bit_length=256), purpose),
            is_primary=True,
        )
    clear_cache()
    return row


def _load() -> Keyring:
    master = load_master_keys()
    rows = list(DataKey.objects.all())
    for purpose in (DataKey.Purpose.DATA, DataKey.Purpose.INDEX):
        if not any(r.purpose == purpose and r.is_primary for r in rows):
            if any(r.purpose == purpose for r in rows):
                raise ImproperlyConfigured(f"No primary {purpose} key; run `casework keys status`.")
            try:
                with transaction.atomic():
                    rows.append(create_data_key(purpose, master=master))
            except IntegrityError:
                # Another process created it at the same moment; read theirs.
                rows = list(DataKey.objects.all())
    ring = Keyring(loaded_at=time.monotonic())
    for row in rows:
        key = _unwrap(master, row)
        if row.purpose == DataKey.Purpose.DATA:
            ring.data[row.pk] = AESGCM(key)
            if row.is_primary:
                ring.primary_id = row.pk
        elif row.is_primary:
            ring.index_key = key
    return ring


def keyring() -> Keyring:
    global _cached
    ring = _cached
    if ring is None or time.monotonic() - ring.loaded_at > KEYRING_TTL:
        with _lock:
            ring = _cached
            if ring is None or time.monotonic() - ring.loaded_at > KEYRING_TTL:
                ring = _cached = _load()
    return ring


_last_forced_reload = 0.0


def keyring_knowing(key_id: int) -> Keyring:
    """The keyring, reloaded first if `key_id` is newer than every key it holds.

    A rotation elsewhere makes a new data key and starts re-encrypting at once; a process whose
    keyring was cached before that must not read those values as unreadable for KEYRING_TTL
    seconds. Forced reloads are throttled, so forged key ids cannot turn reads into key loads.
    """
    global _cached, _last_forced_reload
    ring = keyring()
    if key_id in ring.data or key_id < max(ring.data, default=0):
        return ring
    with _lock:
        if time.monotonic() - _last_forced_reload < 1.0:
            return ring
        _last_forced_reload = time.monotonic()
        ring = _cached = _load()
        return ring


def rewrap_data_keys() -> int:
    """Re-wrap every data key under the current primary master key (after add_master_key)."""
    master = load_master_keys()
    count = 0
    with transaction.atomic():
        for row in DataKey.objects.select_for_update():
            if row.master_key_id != master.primary:
                key = _unwrap(master, row)
                row.wrapped = _wrap(master, key, row.purpose)
                row.master_key_id = master.primary
                row.save(update_fields=["wrapped", "master_key_id"])
                count += 1
    clear_cache()
    return count
