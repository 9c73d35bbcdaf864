"""`casework backup` and `casework restore`: a backup restored into an empty database gives the
same indicators and a whole audit trail, the restore being a known gap in it; a database that is
not empty is not overwritten; a tampered, cut or foreign backup is refused and changes nothing;
the worker makes one every day and keeps the newest."""

from __future__ import annotations

import base64
import datetime
import io
import json
import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from casework.audit import checkpoints
from casework.audit.models import AuditEntry
from casework.cases.models import Case
from casework.core import backup, tasks
from casework.core.backup import MAGIC, Manifest, back_up, backup_dir, engine
from casework.core.schedule import load_registry
from casework.people.models import Person
from casework.vault import keys

PERIOD = "2024-01-01..2026-12-31"


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _indicators() -> Any:
    return json.loads(_run("indicators", "--period", PERIOD, "--by", "sex", "--min-cell", "1"))


def _names() -> list[Any]:
    keys.clear_cache()
    return [str(person.given_name) for person in Person.objects.order_by("id")[:20]]


def _empty_the_database() -> None:
    """A new, empty database where the old one was (a new server after a lost one)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
        connection.close()
        return
    name = connection.settings_dict["NAME"]
    connection.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{name}{suffix}").unlink(missing_ok=True)


def test_a_database_that_is_not_empty_is_not_overwritten(case: Case) -> None:
    made = back_up()
    entries = AuditEntry.objects.count()

    with pytest.raises(CommandError, match="The database is not empty"):
        _run("restore", str(made.path))

    assert AuditEntry.objects.count() == entries
    assert Case.objects.filter(pk=case.pk).exists()
    assert not checkpoints.read_all().restores


def _altered(made: Path, tmp_path: Path) -> dict[str, Path]:
    data = made.read_bytes()
    versions = {}
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    versions["flipped"] = bytes(flipped)
    versions["cut"] = data[: len(data) - 40]
    header_end = len(MAGIC) + 4 + int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    header = data[:header_end]
    # One digit of the time taken, changed in place: the header still reads, but is not the one
    # every chunk was sealed with.
    digit = header.index(b'"taken_at": "') + len(b'"taken_at": "') + 3
    changed = bytearray(header)
    changed[digit] = ord("0") + (changed[digit] - ord("0") + 1) % 10
    versions["header"] = bytes(changed) + data[header_end:]
    paths = {}
    for name, content in versions.items():
        paths[name] = tmp_path / f"{name}.cwbackup"
        paths[name].write_bytes(content)
    return paths


def test_a_tampered_or_cut_backup_is_refused_with_a_clear_error(db: Any, tmp_path: Path) -> None:
    made = back_up()
    assert "intact" in _run("restore", "--check", str(made.path))
    altered = _altered(made.path, tmp_path)
    expected = {
        "flipped": "damaged or was altered",
        "cut": "cut short",
        "header": "damaged or was altered",
    }
    for name, path in altered.items():
        for options in (["--check"], []):
            with pytest.raises(CommandError, match=expected[name]):
                _run("restore", *options, str(path))
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")
    with pytest.raises(CommandError, match="not a Casework backup"):
        _run("restore", str(not_a_backup))
    assert not AuditEntry.objects.filter(action="audit.restored").exists()
    assert not checkpoints.read_all().restores


def test_a_backup_of_the_other_engine_is_refused(db: Any, tmp_path: Path) -> None:
    other = "sqlite" if engine() == "postgresql" else "postgresql"
    foreign = tmp_path / "foreign.cwbackup"
    backup._encrypt(io.BytesIO(b"dump"), foreign, Manifest(other, "20261201T000000Z", 0, "0", {}))

    with pytest.raises(CommandError, match=f"This backup is of a {other} database"):
        _run("restore", "--force", str(foreign))

    assert not checkpoints.read_all().restores


def test_leftovers_of_a_killed_backup_are_swept_a_day_later(db: Any) -> None:
    directory = backup_dir()
    directory.mkdir(parents=True)
    half = directory / "casework-20261201T000000000000Z.cwbackup.part"
    work = directory / ".work-killed"
    work.mkdir()
    (work / "copy.sqlite3").write_bytes(b"plain copy")
    half.write_bytes(b"half")
    fresh = directory / ".work-running"
    fresh.mkdir()
    day_ago = datetime.datetime.now(tz=datetime.UTC).timestamp() - 25 * 60 * 60
    for path in (half, work):
        os.utime(path, (day_ago, day_ago))

    back_up()

    assert not half.exists() and not work.exists() and fresh.exists()


def test_a_backup_under_another_backup_key_is_refused(db: Any, settings: Any) -> None:
    made = back_up()
    settings.CASEWORK_BACKUP_KEY = base64.b64encode(secrets.token_bytes(32)).decode()

    with pytest.raises(CommandError, match="not made with this installation's backup key"):
        _run("restore", "--check", str(made.path))


def test_the_worker_backs_up_every_day_and_keeps_the_newest(db: Any, settings: Any) -> None:
    job = next(job for job in load_registry().values() if job.task is tasks.back_up_database)
    assert job.interval == datetime.timedelta(days=1)
    settings.CASEWORK_BACKUP_KEEP = 2

    made = [tasks.back_up_database.enqueue().return_value for _ in range(3)]

    assert sorted(path.name for path in backup_dir().glob("*.cwbackup")) == made[1:]


def test_the_database_tools_messages_go_to_a_private_file_not_into_the_error(
    settings: Any, tmp_path: Path
) -> None:
    """PostgreSQL quotes the rows it could not load; the error a person (or a log) sees names
    only the file, which is as private as a backup."""
    settings.CASEWORK_BACKUP_DIR = tmp_path / "backups"
    quoted = (
        b'ERROR: invalid input\nCONTEXT: COPY people_person, line 3: "Fatima Traore 1990-01-02"'
    )
    kept = Path(backup._kept_errors(quoted, "restore"))
    assert kept.parent == tmp_path / "backups"
    assert kept.read_bytes() == quoted
    assert kept.stat().st_mode & 0o777 == 0o600
