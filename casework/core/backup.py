"""Encrypted backups of the database, and restoring one into an empty database.

`back_up()` copies the database while the server runs (SQLite's online backup API; `pg_dump -Fc`
on a snapshot exported by a transaction that also reads the audit head, so the manifest's
sequence is exactly the dump's), encrypts the copy as it streams into the backup directory and
deletes the oldest beyond CASEWORK_BACKUP_KEEP. The worker runs it every
CASEWORK_BACKUP_INTERVAL_SECONDS (casework/core/tasks.py).

A backup file: a magic line, a plain JSON header (the manifest — engine, time taken, audit
sequence, applied migrations — and a random file key wrapped by the backup key), then chunks of
at most 1 MiB, each sealed with AES-GCM under the file key with its number and the header's hash
as associated data, and a last chunk holding the copy's size and SHA-256. Moving, dropping or
altering a chunk, cutting the file short or editing the header is found; so is a wrong key.

The key files (master, audit, backup keys) are never in a backup: without them a backup cannot be
decrypted or its personal fields read, so they are copied separately, offline.

`restore()` decrypts and checks the whole file before it touches the database, refuses a
database that is not empty (unless forced) and loads it in one transaction (SQLite's backup API
into the database; pg_restore's script through psql inside BEGIN … COMMIT), so a failed restore
changes nothing. Then the audit trail says so (casework/audit/restores.py).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # noqa: S404 - pg_dump, pg_restore and psql, with fixed arguments
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.audit.log import record
from casework.audit.restores import Marked, mark_restored
from casework.core.errors import CaseworkError
from casework.vault.keys import backup_key

MAGIC = b"CASEWORK BACKUP 1\n"
SUFFIX = ".cwbackup"
CHUNK_BYTES = 1024 * 1024
DATA, LAST = 0, 1
KEY_CONTEXT = b"casework backup file key"
# pg_dump waits this long for a table lock (a migration running) before it gives up.
LOCK_WAIT = "120s"
LEFTOVER_SECONDS = 24 * 60 * 60


class BackupError(CaseworkError):
    code = "backup"


@dataclass(frozen=True)
class Manifest:
    engine: str  # "sqlite" or "postgresql"
    taken_at: str  # UTC, compact (20261202T093112Z): it goes into the audit entry as a code
    audit_seq: int  # the chain head in the copy
    audit_hash: str
    migrations: dict[str, str]  # app label -> last migration applied
    size: int = 0  # of the plain copy
    sha256: str = ""


@dataclass(frozen=True)
class Made:
    path: Path
    manifest: Manifest
    removed: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    marked: Marked


def engine() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def backup_dir() -> Path:
    return Path(settings.CASEWORK_BACKUP_DIR)


@contextlib.contextmanager
def _work_dir() -> Iterator[Path]:
    """A private directory beside the backups for the plain copy, removed whatever happens."""
    directory = backup_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(prefix=".work-", dir=directory) as work:
        yield Path(work)


# --- the file format ------------------------------------------------------------------------


class _ChunkSealer:
    def __init__(self, out: IO[bytes], header: bytes, file_key: bytes) -> None:
        self.out = out
        self.aead = AESGCM(file_key)
        self.context = hashlib.sha256(header).digest()
        self.number = 0

    def aad(self, kind: int) -> bytes:
        return self.context + self.number.to_bytes(8, "big") + bytes([kind])

    def write(self, plain: bytes, kind: int) -> None:
        # The file key is used for this file only, so the chunk's number is a unique nonce.
        sealed = self.aead.encrypt(self.number.to_bytes(12, "big"), plain, self.aad(kind))
        self.out.write(bytes([kind]) + len(sealed).to_bytes(4, "big") + sealed)
        self.number += 1

    def open(self, sealed: bytes, kind: int) -> bytes:
        plain = self.aead.decrypt(self.number.to_bytes(12, "big"), sealed, self.aad(kind))
        self.number += 1
        return plain


def _encrypt(source: IO[bytes], target: Path, manifest: Manifest) -> Manifest:
    """Stream `source` into `target`, encrypted; return the manifest with size and SHA-256."""
    file_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    wrapped = nonce + AESGCM(backup_key()).encrypt(nonce, file_key, KEY_CONTEXT)
    header = json.dumps(
        {"manifest": asdict(manifest), "key": base64.b64encode(wrapped).decode()},
        sort_keys=True,
    ).encode()
    digest = hashlib.sha256()
    size = 0
    partial = target.with_name(target.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC + len(header).to_bytes(4, "big") + header)
            sealer = _ChunkSealer(out, header, file_key)
            while chunk := source.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
                sealer.write(chunk, DATA)
            complete = Manifest(**{**asdict(manifest), "size": size, "sha256": digest.hexdigest()})
            sealer.write(json.dumps({"size": size, "sha256": complete.sha256}).encode(), LAST)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return complete


def _read_exactly(handle: IO[bytes], count: int) -> bytes:
    data = handle.read(count)
    if len(data) != count:
        raise BackupError(_("The backup file is cut short: it cannot be restored."))
    return data


def _header(handle: IO[bytes]) -> tuple[bytes, dict[str, Any]]:
    if handle.read(len(MAGIC)) != MAGIC:
        raise BackupError(_("This is not a Casework backup file."))
    length = int.from_bytes(_read_exactly(handle, 4), "big")
    if length > 1024 * 1024:
        raise BackupError(_("This is not a Casework backup file."))
    header = _read_exactly(handle, length)
    try:
        fields = json.loads(header)
        manifest = Manifest(**fields["manifest"])
        wrapped = base64.b64decode(fields["key"], validate=True)
    except (ValueError, KeyError, TypeError):
        raise BackupError(_("The backup file's header is damaged.")) from None
    return header, {"manifest": manifest, "wrapped": wrapped}


def read_backup(path: Path, out: IO[bytes] | None = None) -> Manifest:
    """Decrypt and check the whole backup (into `out`, if given); its manifest, or BackupError."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        raise BackupError(_("The backup file cannot be opened.")) from None
    with handle:
        header, parts = _header(handle)
        wrapped: bytes = parts["wrapped"]
        try:
            file_key = AESGCM(backup_key()).decrypt(wrapped[:12], wrapped[12:], KEY_CONTEXT)
        except (InvalidTag, ValueError):
            raise BackupError(
                _(
                    "This backup was not made with this installation's backup key, or it was "
                    "altered: it cannot be decrypted."
                )
            ) from None
        opener = _ChunkSealer(handle, header, file_key)  # opens chunks only: writes nothing
        digest = hashlib.sha256()
        size = 0
        trailer: dict[str, Any] | None = None
        while trailer is None:
            head = handle.read(5)
            if len(head) < 5:
                raise BackupError(_("The backup file is cut short: it cannot be restored."))
            kind, length = head[0], int.from_bytes(head[1:], "big")
            if kind not in (DATA, LAST) or length > CHUNK_BYTES + 16:
                raise BackupError(_("The backup file is damaged or was altered."))
            try:
                plain = opener.open(_read_exactly(handle, length), kind)
            except InvalidTag:
                raise BackupError(_("The backup file is damaged or was altered.")) from None
            if kind == LAST:
                trailer = json.loads(plain)
            else:
                digest.update(plain)
                size += len(plain)
                if out is not None:
                    out.write(plain)
        if handle.read(1):
            raise BackupError(_("The backup file is damaged or was altered."))
    manifest: Manifest = parts["manifest"]
    if trailer != {"size": size, "sha256": digest.hexdigest()}:
        raise BackupError(_("The backup file is damaged or was altered."))
    return Manifest(**{**asdict(manifest), "size": size, "sha256": digest.hexdigest()})


# --- backing up -----------------------------------------------------------------------------


def _state(cursor: Any) -> tuple[int, str, dict[str, str]]:
    """The audit head and the last migration of each app, as the copy holds them."""
    cursor.execute("SELECT seq, hash FROM audit_audithead WHERE id = 1")
    head = cursor.fetchone()
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
    migrations = {app: name for app, name in cursor.fetchall()}
    seq, chain_hash = head if head is not None else (0, "0" * 64)
    return int(seq), str(chain_hash), migrations


def _postgres_environment() -> dict[str, str]:
    """How pg_dump, pg_restore and psql reach the database Django uses."""
    params = connection.settings_dict
    environment = dict(os.environ)
    for variable, value in (
        ("PGDATABASE", params.get("NAME")),
        ("PGUSER", params.get("USER")),
        ("PGPASSWORD", params.get("PASSWORD")),
        ("PGHOST", params.get("HOST")),
        ("PGPORT", params.get("PORT")),
        ("PGSSLMODE", (params.get("OPTIONS") or {}).get("sslmode")),
    ):
        if value:
            environment[variable] = str(value)
    return environment


def _kept_errors(text: bytes, what: str) -> str:
    """The database tools' own messages go to a file beside the backups (mode 0600), never into
    an exception or a log line: PostgreSQL quotes the rows it could not load (names, dates of
    birth). Returns where they are."""
    folder = backup_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    target = folder / f"{what}-errors-{stamp}.log"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(text)
    return str(target)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(_("%(tool)s is not installed on this server.") % {"tool": name})
    return found


def _file_name(taken: datetime.datetime) -> str:
    return f"casework-{taken.strftime('%Y%m%dT%H%M%S%fZ')}{SUFFIX}"


def _back_up_sqlite(target: Path, taken_at: str) -> Manifest:
    with _work_dir() as work:
        copy = work / "copy.sqlite3"
        source = sqlite3.connect(connection.settings_dict["NAME"], timeout=60)
        destination = sqlite3.connect(copy)
        try:
            # The online backup: readers and writers go on; a page written meanwhile restarts it.
            source.backup(destination)
            seq, chain_hash, migrations = _state(destination.cursor())
        finally:
            destination.close()
            source.close()
        manifest = Manifest("sqlite", taken_at, seq, chain_hash, migrations)
        with open(copy, "rb") as plain:
            return _encrypt(plain, target, manifest)


def _back_up_postgresql(target: Path, taken_at: str) -> Manifest:
    dump = _tool("pg_dump")
    holder = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        holder.ensure_connection()
        with holder.connection.cursor() as cursor:
            # One snapshot for the manifest and the dump: the sequence is exactly the dump's.
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            seq, chain_hash, migrations = _state(cursor)
            manifest = Manifest("postgresql", taken_at, seq, chain_hash, migrations)
            with tempfile.TemporaryFile() as errors:
                process = subprocess.Popen(  # noqa: S603 - fixed arguments
                    [dump, "-Fc", f"--snapshot={snapshot}", f"--lock-wait-timeout={LOCK_WAIT}"],
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    env=_postgres_environment(),
                )
                assert process.stdout is not None  # noqa: S101 - PIPE asked for above
                try:
                    made = _encrypt(process.stdout, target, manifest)
                finally:
                    process.stdout.close()
                    returncode = process.wait()
                if returncode != 0:
                    target.unlink(missing_ok=True)
                    errors.seek(0)
                    raise BackupError(
                        _(
                            "pg_dump failed; its messages (which may quote data: keep them as "
                            "safe as a backup) are in %(file)s"
                        )
                        % {"file": _kept_errors(errors.read(), "backup")}
                    )
            cursor.execute("COMMIT")
    finally:
        holder.close()
    return made


def prune(keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups (their names sort by the time taken), and what a
    backup or restore killed midway left: a half-written file, or a plain copy in a work
    directory (a day old, so never one still in use)."""
    directory = backup_dir()
    found = sorted(directory.glob(f"casework-*{SUFFIX}"))
    old = found[: max(0, len(found) - keep)]
    for path in old:
        path.unlink(missing_ok=True)
    stale = timezone.now().timestamp() - LEFTOVER_SECONDS
    for leftover in [*directory.glob(f"casework-*{SUFFIX}.part"), *directory.glob(".work-*")]:
        with contextlib.suppress(FileNotFoundError):
            if leftover.stat().st_mtime < stale:
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink()
    return old


def back_up(*, keep: int | None = None) -> Made:
    """Write an encrypted backup of the database now, then keep only the newest `keep`."""
    taken = timezone.now().astimezone(datetime.UTC)
    taken_at = taken.strftime("%Y%m%dT%H%M%SZ")
    directory = backup_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = directory / _file_name(taken)
    if engine() == "postgresql":
        manifest = _back_up_postgresql(target, taken_at)
    else:
        manifest = _back_up_sqlite(target, taken_at)
    removed = prune(keep if keep is not None else settings.CASEWORK_BACKUP_KEEP)
    # A copy of everything was made: the trail says when, up to which entry, and where.
    record(
        "core.backup.made",
        by=None,
        data={"file": target.name, "audit_seq": manifest.audit_seq, "removed": len(removed)},
    )
    return Made(target, manifest, removed)


# --- restoring ------------------------------------------------------------------------------


def database_is_empty() -> bool:
    with connection.cursor() as cursor:
        return not connection.introspection.table_names(cursor)


def _restore_sqlite(plain: Path) -> None:
    source = sqlite3.connect(plain)
    try:
        try:
            intact = source.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError:
            intact = False
        if not intact:
            raise BackupError(
                _("The database in the backup is damaged: the restore changed nothing.")
            )
        destination = sqlite3.connect(connection.settings_dict["NAME"], timeout=60)
        try:
            # Every page in one step: the database is replaced in one transaction, or not at all.
            source.backup(destination)
        except sqlite3.Error as error:
            raise BackupError(
                _("The restore failed and changed nothing (SQLite: %(error)s).")
                % {"error": type(error).__name__}
            ) from None
        finally:
            destination.close()
    finally:
        source.close()


def _restore_postgresql(plain: Path, *, replace: bool) -> None:
    """pg_restore writes the dump as SQL into psql, between BEGIN and a COMMIT sent only when
    the whole dump went through: any error, in either, rolls all of it back."""
    environment = _postgres_environment()
    with tempfile.TemporaryFile() as psql_errors, tempfile.TemporaryFile() as restore_errors:
        psql = subprocess.Popen(  # noqa: S603 - fixed arguments
            [_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_errors,
            env=environment,
        )
        assert psql.stdin is not None  # noqa: S101 - PIPE asked for above
        finished = False
        try:
            psql.stdin.write(b"BEGIN;\n")
            if replace:
                psql.stdin.write(b"DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n")
            psql.stdin.flush()
            restore = subprocess.run(  # noqa: S603 - fixed arguments
                [_tool("pg_restore"), "--no-owner", "--no-privileges", "-f", "-", str(plain)],
                stdout=psql.stdin,
                stderr=restore_errors,
                env=environment,
                check=False,
            )
            psql.stdin.write(b"COMMIT;\n" if restore.returncode == 0 else b"ROLLBACK;\n")
            finished = restore.returncode == 0
        except BrokenPipeError:
            pass  # psql stopped at an error: nothing was committed
        finally:
            with contextlib.suppress(BrokenPipeError):
                psql.stdin.close()
            psql.wait()
        if not finished or psql.returncode != 0:
            psql_errors.seek(0)
            restore_errors.seek(0)
            kept = _kept_errors(psql_errors.read() + restore_errors.read(), "restore")
            raise BackupError(
                _(
                    "The restore failed and changed nothing; the database's messages (which may "
                    "quote data: keep them as safe as a backup) are in %(file)s"
                )
                % {"file": kept}
            )


def restore(path: Path, *, force: bool = False) -> Restored:
    """Restore the backup at `path` into this database (empty, unless `force`), then record the
    restore in the audit trail. Nothing changes if anything is wrong with the file or the load."""
    try:
        with open(path, "rb") as handle:
            stated: Manifest = _header(handle)[1]["manifest"]
    except OSError:
        raise BackupError(_("The backup file cannot be opened.")) from None
    if stated.engine != engine():
        raise BackupError(
            _("This backup is of a %(engine)s database; this Casework uses %(current)s.")
            % {"engine": stated.engine, "current": engine()}
        )
    with _work_dir() as work:
        plain = work / "restore.copy"
        with open(plain, "wb") as out:
            manifest = read_backup(path, out)
        if not force and not database_is_empty():
            raise BackupError(
                _(
                    "The database is not empty: restore into an empty database, or replace this "
                    "one with --force."
                )
            )
        connection.close()
        if manifest.engine == "postgresql":
            _restore_postgresql(plain, replace=force)
        else:
            _restore_sqlite(plain)
    connection.close()
    return Restored(manifest, mark_restored(backup_taken_at=manifest.taken_at))


def pending_migrations() -> bool:
    """Whether this Casework has migrations the restored database has not applied yet."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
