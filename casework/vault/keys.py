"""Key material: master keys outside the database, data keys inside it (wrapped).

Master keys come from CASEWORK_MASTER_KEYS (JSON) or the file CASEWORK_KEY_DIR/master.keys,
written by `casework initkeys`. They only wrap and unwrap the DataKey rows; the data keys encrypt
the fields. Each agency has its own data key and blind-index key, made the first time it writes
(and for every agency at once by `casework reencrypt --to-agency-keys`); keys without an agency
encrypt the instance's own data.

Decrypted data keys are cached per process. The cache is reloaded when the master key file
changes (looked at once a second: a purge or a master rotation rewrites it, so every app server
sharing the key directory follows within a second) and at the latest after KEYRING_TTL seconds
(which is all a server whose master keys come from the environment has).

A key made inside a transaction is not cached for the whole process until that transaction
commits: until then only the thread that made it sees it (as its connection sees the row), so a
rolled-back key can never encrypt a value that is committed.

Changing the master keys (add, re-wrap, drop) is done under `master_key_lock()`, exclusive across
processes, for the whole sequence: two of them at once (a purge confirmed on the screen, the
worker finishing purges, `casework purge`, `casework keys rotate --master`) would each write the
key file, and the second would drop the master key the first had just wrapped every data key
with. Making a data key takes the same lock shared, reading the master key under it, so a new key
is never wrapped by a master key about to be dropped. The lock is two locks taken in one order:
on PostgreSQL a database advisory lock (the rotation's exclusive one waits for every transaction
that made a key to end, since such a key is invisible to the rotation until its commit), then an
OS lock (fcntl.flock) on a file in the key directory, which every process that writes the key
file shares. On SQLite, where every process is on one host, the file lock serialises rotations,
and the single writer of the database makes a rotation wait for (or fail against) a transaction
that made a key; a key committed meanwhile under the old master is found by the check that
precedes the drop, which re-wraps it or refuses to drop.

A purged agency (`PurgedAgency`) never gets keys again: its personal fields cannot be written.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import functools
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from casework.vault.models import DataKey, PurgedAgency

KEYRING_TTL = 60.0
# How often a process looks whether the master key file changed (one stat() call).
SOURCE_CHECK_SECONDS = 1.0
MASTER_FILE = "master.keys"
AUDIT_FILE = "audit.key"
# Encrypts database backups (casework/core/backup.py); never inside a backup itself.
BACKUP_FILE = "backup.key"
SECRET_FILE = "secret_key"
SHRED_SUFFIX = ".shred"
LOCK_FILE = "master.lock"
# The PostgreSQL advisory lock of master-key changes (any fixed 63-bit number: "cwmaster").
ADVISORY_LOCK_ID = int.from_bytes(b"cwmaster", "big")
# How many times a replacement re-wraps keys committed under the old master meanwhile.
REWRAP_ATTEMPTS = 3

logger = logging.getLogger(__name__)

# Whose a key is: an agency's id, or None for the instance.
Owner = int | None


@dataclass(frozen=True)
class MasterKeys:
    primary: str
    keys: dict[str, bytes]


class MasterKeysInEnvironment(ImproperlyConfigured):
    """The master keys come from CASEWORK_MASTER_KEYS, which only the operator can replace."""


class AgencyPurged(Exception):
    """The agency was purged: no key is made for it again, so nothing of it can be written."""

    def __init__(self, agency_id: int) -> None:
        super().__init__(f"Agency {agency_id} was purged: its personal fields cannot be written.")
        self.agency_id = agency_id


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ImproperlyConfigured(f"{what} is not valid base64.") from None


def key_dir() -> Path:
    return Path(settings.CASEWORK_KEY_DIR)


def master_keys_from_environment() -> bool:
    return bool(settings.CASEWORK_MASTER_KEYS)


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


def _source_stamp() -> tuple[object, ...]:
    """What identifies the current master keys without reading them: the environment's value,
    or the key file's inode, modification time and size."""
    if settings.CASEWORK_MASTER_KEYS:
        return ("environment", settings.CASEWORK_MASTER_KEYS)
    try:
        stat = (key_dir() / MASTER_FILE).stat()
    except FileNotFoundError:
        return ("missing",)
    return ("file", stat.st_ino, stat.st_mtime_ns, stat.st_size)


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


def backup_key() -> bytes:
    if settings.CASEWORK_BACKUP_KEY:
        return _unb64(settings.CASEWORK_BACKUP_KEY, "CASEWORK_BACKUP_KEY")
    path = key_dir() / BACKUP_FILE
    try:
        return _unb64(path.read_text().strip(), str(path))
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"No backup key found at {path}. Run `casework initkeys` or set CASEWORK_BACKUP_KEY."
        ) from None


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_private(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, then overwrite the old content before freeing it.

    The key file is never missing or half-written: the new file is written beside it and renamed
    over it. The old file is first given a second name, so that its content can still be
    overwritten once the rename has taken its first name away.
    """
    tmp = path.with_name(path.name + ".tmp")
    old = path.with_name(path.name + SHRED_SUFFIX)
    tmp.unlink(missing_ok=True)
    shred_files(path.parent, [old.name])  # left over by an interrupted run
    if path.exists():
        os.link(path, old)
    _write_private(tmp, text)
    os.replace(tmp, path)
    _fsync_directory(path.parent)
    shred_files(path.parent, [old.name])


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
        BACKUP_FILE: lambda: _b64(AESGCM.generate_key(bit_length=256)),
        SECRET_FILE: lambda: secrets.token_urlsafe(50),
    }
    for name, make in contents.items():
        path = directory / name
        if not path.exists():
            _write_private(path, make())
            written.append(path)
    return written


_held = threading.local()


def _database_lock(*, exclusive: bool) -> Callable[[], None]:
    """Take the PostgreSQL advisory lock of master-key changes; returns its release. Exclusive:
    held by the session until released. Shared (making a key): held until the transaction ends,
    so a rotation waits for a key that is not committed yet. Nothing on other databases."""
    if connection.vendor != "postgresql":
        return lambda: None
    with connection.cursor() as cursor:
        if not exclusive:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [ADVISORY_LOCK_ID])
            return lambda: None
        cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_ID])

    def release() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_ID])

    return release


@contextlib.contextmanager
def _database_write_lock() -> Iterator[None]:
    """A transaction that holds SQLite's write lock from its start: a rotation takes it before
    the key-file lock, as it takes PostgreSQL's advisory lock before it, so that a request that
    wrote and now waits for the key-file lock to make a key is never waited for in turn."""
    with transaction.atomic():
        if connection.vendor == "sqlite":
            table = connection.ops.quote_name(DataKey._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {table} SET id = id WHERE 0")  # noqa: S608 - no values
        yield


@dataclass
class _Held:
    release_database: Callable[[], None] | None
    handle: int | None
    nested: bool


def _acquire(*, exclusive: bool) -> _Held:
    depth = getattr(_held, "depth", 0)
    if depth:
        if exclusive and not _held.exclusive:
            raise RuntimeError("The master-key lock is held shared: it cannot be made exclusive.")
        _held.depth = depth + 1
        return _Held(None, None, nested=True)
    release_database = _database_lock(exclusive=True) if exclusive else None
    handle: int | None = None
    try:
        if not master_keys_from_environment():  # the key file is what must not be overwritten
            directory = key_dir()
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    except BaseException:
        if handle is not None:
            os.close(handle)
        if release_database is not None:
            release_database()
        raise
    _held.depth, _held.exclusive = 1, exclusive
    return _Held(release_database, handle, nested=False)


def _release(held: _Held) -> None:
    _held.depth -= 1
    if held.nested:
        return
    if held.handle is not None:
        fcntl.flock(held.handle, fcntl.LOCK_UN)
        os.close(held.handle)
    if held.release_database is not None:
        held.release_database()


@contextlib.contextmanager
def master_key_lock(*, exclusive: bool = True) -> Iterator[None]:
    """Hold the lock of master-key changes (see the module's docstring): exclusive to change the
    master keys, shared to wrap a new data key. Re-entrant within a thread. A shared lock's
    database part is taken inside the transaction that makes the key (`_make_key`)."""
    held = _acquire(exclusive=exclusive)
    try:
        yield
    finally:
        _release(held)


@contextlib.contextmanager
def master_key_change() -> Iterator[None]:
    """A change of master keys that ends with its transaction (an add and a re-wrap): the
    database's write lock first, then the master-key lock, in the order every rotation takes
    them."""
    with _database_write_lock(), master_key_lock():
        yield


def _next_master_id(current: MasterKeys) -> str:
    numbers = [int(k[1:]) for k in current.keys if k[1:].isdigit()]
    return f"m{max(numbers, default=0) + 1}"


def add_master_key(directory: Path | None = None) -> str:
    """Add a new master key to the key file and make it primary; old ones stay for unwrapping."""
    path = (directory or key_dir()) / MASTER_FILE
    with master_key_lock():
        current = load_master_keys()  # read under the lock: no one else is writing the file
        new_id = _next_master_id(current)
        keys = {k: _b64(v) for k, v in current.keys.items()} | {
            new_id: _b64(AESGCM.generate_key(bit_length=256))
        }
        _replace_private(path, json.dumps({"primary": new_id, "keys": keys}))
    return new_id


def announce_key_change(directory: Path | None = None) -> bool:
    """Make every process reload its keys within SOURCE_CHECK_SECONDS: the key file is written
    again, with the same master keys (a new inode is what processes look for). Used when data
    keys change in a way a process must not miss for KEYRING_TTL seconds (a purge's new
    instance key, which must be primary everywhere before the old one is deleted). Returns
    False when the master keys come from the environment: then only KEYRING_TTL holds."""
    if master_keys_from_environment():
        return False
    path = (directory or key_dir()) / MASTER_FILE
    with master_key_lock():
        _replace_private(path, path.read_text())
    clear_cache()
    return True


def drop_old_master_keys(directory: Path | None = None) -> list[str]:
    """Keep only the primary master key in the key file; the old ones are overwritten on disk.

    Call only once every data key is wrapped by the primary (`rewrap_data_keys`): checked here,
    under the lock, just before the file is rewritten. Returns the ids of the master keys
    destroyed."""
    path = (directory or key_dir()) / MASTER_FILE
    with master_key_lock():
        current = load_master_keys()
        wrapped_by_old = DataKey.objects.exclude(master_key_id=current.primary).count()
        if wrapped_by_old:
            raise ImproperlyConfigured(
                f"{wrapped_by_old} data keys are still wrapped by an old master key: re-wrap first."
            )
        dropped = sorted(k for k in current.keys if k != current.primary)
        if dropped:
            only = {current.primary: _b64(current.keys[current.primary])}
            _replace_private(path, json.dumps({"primary": current.primary, "keys": only}))
    clear_cache()
    return dropped


def shred_files(directory: Path, names: Iterable[str]) -> list[Path]:
    """Overwrite each named file with random bytes, flush it to disk, then delete it.

    On copy-on-write filesystems and SSDs the old blocks may survive the overwrite; what makes a
    purge certain is that the data keys themselves are deleted and the master key replaced."""
    removed = []
    for name in names:
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


def shred_key_files(directory: Path | None = None) -> list[Path]:
    """Overwrite then delete the master and audit key files (the whole instance destroyed)."""
    return shred_files(directory or key_dir(), (MASTER_FILE, AUDIT_FILE))


def _aad(purpose: str, agency_id: Owner) -> bytes:
    # The owner is bound to the wrapped key: a key copied into another agency's row fails.
    owner = "" if agency_id is None else f":agency:{agency_id}"
    return f"casework-datakey:{purpose}{owner}".encode()


def _wrap(master: MasterKeys, key: bytes, purpose: str, agency_id: Owner) -> bytes:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(master.keys[master.primary]).encrypt(nonce, key, _aad(purpose, agency_id))
    return nonce + sealed


def _unwrap(master: MasterKeys, row: DataKey) -> bytes:
    if row.master_key_id not in master.keys:
        raise ImproperlyConfigured(
            f"Data key {row.pk} is wrapped by master key {row.master_key_id!r}, which is missing."
        )
    blob = bytes(row.wrapped)
    aad = _aad(row.purpose, row.agency_id)
    return AESGCM(master.keys[row.master_key_id]).decrypt(blob[:12], blob[12:], aad)


@dataclass
class Keyring:
    data: dict[int, AESGCM] = field(default_factory=dict)  # every data key, by id
    owner_of: dict[int, Owner] = field(default_factory=dict)  # data key id → its owner
    primary: dict[Owner, int] = field(default_factory=dict)  # owner → primary data key id
    index: dict[Owner, bytes] = field(default_factory=dict)  # owner → blind-index key
    loaded_at: float = 0.0
    checked_at: float = 0.0
    source: tuple[object, ...] = ()

    @property
    def primary_id(self) -> int:
        """The instance's primary data key (0 if it has none yet)."""
        return self.primary.get(None, 0)


_lock = threading.RLock()
_cached: Keyring | None = None
_last_forced_reload = 0.0


@dataclass
class _Pending:
    """This thread's keyring while keys it made are not committed yet, with the commit hooks
    registered when it made them (Django forgets a hook when its savepoint rolls back)."""

    ring: Keyring
    markers: list[Callable[[], None]]
    # The connection's list of commit hooks when the markers were last found in it. Django only
    # appends to that list, and replaces it when a savepoint or the transaction ends in a
    # rollback; holding it (not its id) keeps a new list from ever passing for it.
    hooks: list[object]
    # Keys were deleted or re-wrapped since it was loaded: read it again at its next use.
    stale: bool = False


_local = threading.local()


def clear_cache() -> None:
    """Forget the cached keys: they are read again at their next use. This thread's keyring of
    uncommitted keys is read again too, but stays this thread's until they are committed."""
    global _cached, _last_forced_reload
    with _lock:
        _cached = None
        _last_forced_reload = 0.0
    pending: _Pending | None = getattr(_local, "pending", None)
    if pending is not None:
        pending.stale = True


def _pending_ring() -> Keyring | None:
    """This thread's keyring with its uncommitted keys, while their transaction is still open.

    Only this thread's connection sees those rows, so only this thread may use the keys, and
    only until a rollback takes them away: a key whose commit hook Django has forgotten was
    rolled back, and the keyring is read again without it."""
    pending: _Pending | None = getattr(_local, "pending", None)
    if pending is None:
        return None
    connection = transaction.get_connection()
    hooks = connection.run_on_commit if connection.in_atomic_block else []
    if not pending.stale and _source_changed(pending.ring):
        pending.stale = True
    if hooks is pending.hooks and not pending.stale:
        return pending.ring  # hooks were only added since: nothing was rolled back
    registered = {id(hook[1]) for hook in hooks}
    alive = [marker for marker in pending.markers if id(marker) in registered]
    if not alive:
        _local.pending = None
        return None
    pending.hooks = hooks
    if len(alive) < len(pending.markers):
        pending.markers = alive
        pending.stale = True
    if pending.stale:
        pending.ring = _load()
        pending.stale = False
    return pending.ring


def _committed() -> None:
    _local.pending = None
    clear_cache()


def _hold_until_commit() -> Keyring:
    """After making keys inside a transaction: a keyring for this thread only, until commit."""
    marker = functools.partial(_committed)
    transaction.on_commit(marker)
    pending = _local.pending if _pending_ring() is not None else None
    ring = _load()
    if pending is None:
        pending = _local.pending = _Pending(ring, [], [])
    pending.ring = ring
    pending.stale = False
    pending.markers.append(marker)
    pending.hooks = transaction.get_connection().run_on_commit
    return ring


def _use(ring: Keyring) -> Keyring:
    """Cache a freshly loaded keyring: for this thread if it holds uncommitted keys (then the
    load saw them), else for the process."""
    global _cached
    pending = _pending_ring()
    if pending is not None:
        _local.pending.ring = ring
        return ring
    with _lock:
        _cached = ring
    return ring


def _load() -> Keyring:
    master = load_master_keys()
    rows = list(DataKey.objects.all())
    if any(row.master_key_id not in master.keys for row in rows):
        # A master rotation elsewhere may have re-wrapped the keys between our reading the key
        # file and the table: read both again once.
        master = load_master_keys()
        rows = list(DataKey.objects.all())
    now = time.monotonic()
    ring = Keyring(loaded_at=now, checked_at=now, source=_source_stamp())
    for row in rows:
        try:
            key = _unwrap(master, row)
        except (ImproperlyConfigured, InvalidTag):
            # One lost key must not make every agency unreadable: the others still load.
            logger.error(
                "Data key %s (agency %s) cannot be unwrapped by the master keys: left out",
                row.pk,
                row.agency_id,
            )
            continue
        if row.purpose == DataKey.Purpose.DATA:
            ring.data[row.pk] = AESGCM(key)
            ring.owner_of[row.pk] = row.agency_id
            if row.is_primary:
                ring.primary[row.agency_id] = row.pk
        elif row.is_primary:
            ring.index[row.agency_id] = key
    return ring


def _source_changed(ring: Keyring) -> bool:
    """Whether the master keys changed since `ring` was loaded (looked at once a second)."""
    now = time.monotonic()
    if now - ring.checked_at < SOURCE_CHECK_SECONDS:
        return False
    if _source_stamp() != ring.source:
        return True
    ring.checked_at = now
    return False


def keyring() -> Keyring:
    pending = _pending_ring()
    if pending is not None:
        return pending
    ring = _cached
    if ring is not None and time.monotonic() - ring.loaded_at <= KEYRING_TTL:
        if not _source_changed(ring):
            return ring
    with _lock:
        ring = _cached
        if ring is None or time.monotonic() - ring.loaded_at > KEYRING_TTL or _source_changed(ring):
            ring = _use(_load())
        return ring


def keyring_knowing(key_id: int) -> Keyring:
    """The keyring, reloaded first if `key_id` is newer than every key it holds.

    A rotation elsewhere makes a new data key and starts re-encrypting at once, and another
    server may make an agency's first keys; a process whose keyring was cached before that must
    not read those values as unreadable for KEYRING_TTL seconds. Forced reloads are throttled,
    so forged key ids cannot turn reads into key loads.
    """
    global _last_forced_reload
    ring = keyring()
    if key_id in ring.data or key_id < max(ring.data, default=0):
        return ring
    with _lock:
        if time.monotonic() - _last_forced_reload < 1.0:
            return ring
        _last_forced_reload = time.monotonic()
        return _use(_load())


def _owned_by(agency_id: Owner) -> Q:
    return Q(agency__isnull=True) if agency_id is None else Q(agency_id=agency_id)


def is_purged(agency_id: Owner) -> bool:
    return agency_id is not None and PurgedAgency.objects.filter(agency_id=agency_id).exists()


def mark_purged(agency_id: int) -> None:
    """From the caller's commit on, the agency never gets a key again (the purge's first step)."""
    PurgedAgency.objects.get_or_create(agency_id=agency_id)


def purged_agencies() -> set[int]:
    return set(PurgedAgency.objects.values_list("agency_id", flat=True))


def _make_key(purpose: str, agency_id: Owner, *, replace: bool) -> None:
    """Insert a new primary key for (purpose, owner); `replace` retires the current one first.
    Without `replace`, a key another process made meanwhile is kept and nothing is inserted.

    The master key is read under the shared master-key lock, so it cannot be one a rotation is
    about to drop. Refused (AgencyPurged) for a purged agency: its agency row is locked first,
    as the purge locks it to mark it, so a key cannot slip in beside a purge."""
    mine = DataKey.objects.filter(_owned_by(agency_id), purpose=purpose, is_primary=True)
    try:
        with transaction.atomic():
            _database_lock(exclusive=False)
            if agency_id is not None:
                agencies = apps.get_model("accounts", "Agency")  # above the vault: not imported
                agencies._default_manager.select_for_update().filter(pk=agency_id).exists()
                if is_purged(agency_id):
                    raise AgencyPurged(agency_id)
            with master_key_lock(exclusive=False):
                _insert_key(mine, purpose, agency_id, replace=replace)
    except IntegrityError:
        if replace:
            raise
        # Another process made it at the same moment; theirs is the key.


def _insert_key(
    mine: models.QuerySet[DataKey], purpose: str, agency_id: Owner, *, replace: bool
) -> None:
    master = load_master_keys()
    if replace:
        mine.update(is_primary=False, retired_at=timezone.now())
    elif mine.exists():
        return
    DataKey.objects.create(
        purpose=purpose,
        agency_id=agency_id,
        master_key_id=master.primary,
        wrapped=_wrap(master, AESGCM.generate_key(bit_length=256), purpose, agency_id),
        is_primary=True,
    )


def _reload_after_making_keys() -> Keyring:
    if transaction.get_connection().in_atomic_block:
        return _hold_until_commit()
    return _use(_load())


def ensure_keys(agency_ids: Iterable[Owner], *, index: bool = True) -> Keyring:
    """Make whatever data (and blind-index) keys the owners lack; returns the keyring."""
    ring = keyring()
    missing = [
        (purpose, owner)
        for owner in dict.fromkeys(agency_ids)
        for purpose, have in (
            (DataKey.Purpose.DATA, owner in ring.primary),
            # The instance has no blind index: only agencies' persons are searched by name.
            (DataKey.Purpose.INDEX, owner in ring.index or owner is None or not index),
        )
        if not have
    ]
    if not missing:
        return ring
    # Not under `_lock`: making a key may wait for a rotation, which clears the cache.
    for purpose, owner in missing:
        _make_key(purpose, owner, replace=False)
    return _reload_after_making_keys()


def data_key_for(agency_id: Owner) -> tuple[int, AESGCM]:
    """The id and cipher of the primary data key of an agency (None: of the instance)."""
    ring = keyring()
    key_id = ring.primary.get(agency_id)
    if key_id is None:
        ring = ensure_keys([agency_id], index=False)
        key_id = ring.primary[agency_id]
    return key_id, ring.data[key_id]


def index_key_for(agency_id: Owner) -> bytes:
    """The blind-index key of an agency, made if it has none. None: the instance's old index
    key, which only data migrations written before agency keys still use; `casework reencrypt
    --to-agency-keys` re-indexes what they wrote and deletes it."""
    ring = keyring()
    key = ring.index.get(agency_id)
    if key is None:
        if agency_id is None:
            _make_key(DataKey.Purpose.INDEX, None, replace=False)
            return _reload_after_making_keys().index[None]
        key = ensure_keys([agency_id]).index[agency_id]
    return key


def search_index_keys(agency_ids: Iterable[int] | None) -> list[bytes]:
    """The index keys a name search uses: the agencies' (every agency's if None) and, until the
    index has been rebuilt under agency keys, the instance's old one. An agency without a key
    has nothing indexed, so none is made here."""
    ring = keyring()
    owners: Iterable[Owner] = ring.index if agency_ids is None else [*agency_ids, None]
    return [ring.index[owner] for owner in dict.fromkeys(owners) if owner in ring.index]


def create_data_key(purpose: str, *, agency_id: Owner = None) -> DataKey:
    """Make a new primary key for (purpose, owner); the previous primary stays readable, retired."""
    _make_key(purpose, agency_id, replace=True)
    _reload_after_making_keys()
    return DataKey.objects.get(_owned_by(agency_id), purpose=purpose, is_primary=True)


def destroy_agency_keys(agency_id: int) -> int:
    """Delete every key of an agency (the purge): its ciphertexts can never be read again.
    Returns how many keys were deleted. Every process drops them within a second of the key
    file changing, or after KEYRING_TTL seconds. The agency is marked purged in the same
    transaction, so that no key is made for it again."""
    mark_purged(agency_id)
    deleted, _by_model = DataKey.objects.filter(agency_id=agency_id).delete()
    clear_cache()  # this process at once (other threads may read them again until the commit)
    transaction.on_commit(clear_cache)
    return deleted


def rewrap_data_keys() -> int:
    """Re-wrap every data key under the current primary master key (after add_master_key).

    A key no master key opens is left as it is (logged): it is lost already, and the others
    must still move. The check before dropping an old master counts it, and refuses."""
    count = 0
    with master_key_lock():
        master = load_master_keys()
        with transaction.atomic():
            for row in DataKey.objects.select_for_update().exclude(master_key_id=master.primary):
                try:
                    key = _unwrap(master, row)
                except (ImproperlyConfigured, InvalidTag):
                    logger.error("Data key %s cannot be unwrapped: not re-wrapped", row.pk)
                    continue
                row.wrapped = _wrap(master, key, row.purpose, row.agency_id)
                row.master_key_id = master.primary
                row.save(update_fields=["wrapped", "master_key_id"])
                count += 1
    clear_cache()
    return count


def replace_master_key() -> tuple[str, list[str]]:
    """A new master key wraps every data key and the old master keys are destroyed (the purge:
    a backup taken before cannot be unwrapped any more). Key file only: master keys from the
    environment are the operator's to replace (MasterKeysInEnvironment).

    Each step leaves a usable key file, so an interrupted run is finished by running it again:
    the new key is added to the file first, the keys are re-wrapped, and only then are the old
    master keys dropped and overwritten. Returns (new master key id, ids destroyed).
    """
    if master_keys_from_environment():
        raise MasterKeysInEnvironment(
            "The master keys come from CASEWORK_MASTER_KEYS: only the operator can replace them."
        )
    # The whole add → re-wrap → drop under the lock, one replacement at a time. The database's
    # write lock (SQLite) comes first and ends with the re-wrapping's commit; the key-file lock
    # is held on to the drop.
    held: _Held | None = None
    try:
        with _database_write_lock():
            held = _acquire(exclusive=True)
            current = load_master_keys()
            unwrapped_by_primary = DataKey.objects.exclude(master_key_id=current.primary).exists()
            if len(current.keys) == 1 or not unwrapped_by_primary:
                # A fresh primary unless an interrupted run already added one not yet in use.
                if len(current.keys) == 1 or (
                    DataKey.objects.filter(master_key_id=current.primary).exists()
                ):
                    add_master_key()
            new = load_master_keys().primary
            rewrap_data_keys()
        for _attempt in range(REWRAP_ATTEMPTS):
            # A key committed under the old master by a transaction that began before the new
            # one was added is re-wrapped too; the drop checks again and refuses if one is left.
            if not DataKey.objects.exclude(master_key_id=new).exists():
                break
            rewrap_data_keys()
        return new, drop_old_master_keys()
    finally:
        if held is not None:
            _release(held)
