"""The tests of test_backup_restore.py that commit (transactional), kept in a file of their own:
make test hands out whole files, and a transactional test leaves the database flushed.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError
from django.db import connection

from casework.audit import checkpoints
from casework.audit.log import record
from casework.audit.models import AuditEntry, AuditHead
from casework.audit.sealing import seal
from casework.cases.models import Case
from casework.core import backup
from casework.core.backup import Manifest, back_up, backup_dir, database_is_empty, engine
from casework.core.tests.test_backup_restore import _empty_the_database, _indicators, _names, _run


@pytest.mark.commits
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_restores_into_an_empty_database_with_the_same_indicators_and_a_whole_trail() -> None:
    _run("demo", "--cases", "120", "--seed", "1")
    before, names = _indicators(), _names()
    assert before["indicators"][0]["value"] > 0
    cases = list(Case.objects.order_by("id").values_list("reference", "status", "risk_level"))
    seal(checkpoint=True)
    output = _run("backup")
    assert "The key files are not in the backup" in output
    made = sorted(backup_dir().glob("*.cwbackup"))[-1]
    kept = AuditHead.objects.get(pk=1).seq
    # Work goes on after the backup and the checkpoints outside the database see it; then the
    # server is lost.
    for number in range(7):
        record("test.after_backup", by=None, data={"n": number})
    seal(checkpoint=True)
    lost_up_to = AuditHead.objects.get(pk=1).seq
    _empty_the_database()
    assert database_is_empty()

    restored = _run("restore", str(made))

    assert f"audit #{kept}" in restored and "intact" in restored
    assert list(Case.objects.order_by("id").values_list("reference", "status", "risk_level")) == (
        cases
    )
    assert _names() == names
    assert _indicators() == before
    event = AuditEntry.objects.get(action="audit.restored")
    assert event.seq == kept + 1 and event.data["restored_at_seq"] == kept
    assert not AuditEntry.objects.filter(action="test.after_backup").exists()
    verified = _run("audit", "verify")
    assert (
        f"Known gap, not tampering: entries {kept + 1}..{lost_up_to} are not in this database"
        in verified
    )
    assert f"restore entry #{kept + 1}" in verified and "OK:" in verified
    # The trail goes on from the restore: new entries are sealed and checkpointed as before.
    record("test.after_restore", by=None)
    assert seal(checkpoint=True).count == 2  # the indicators' own entry and this one
    assert "OK:" in _run("audit", "verify")


@pytest.mark.commits
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_force_replaces_a_database_that_is_not_empty(register: Any, amina: Any) -> None:
    kept = register(amina, given_name="Awa")
    seal(checkpoint=True)
    made = back_up()
    later = register(amina, given_name="Binta")
    seal(checkpoint=True)

    _run("restore", "--force", str(made.path))

    assert Case.objects.filter(pk=kept.pk).exists()
    assert not Case.objects.filter(pk=later.pk).exists()
    verified = _run("audit", "verify")
    assert "Known gap, not tampering" in verified and "OK:" in verified


@pytest.mark.commits
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_backup_that_does_not_load_changes_nothing(tmp_path: Path, case: Case) -> None:
    # Sealed under the right key, so it passes every check of the file; its content is no
    # database: the load fails, even when asked to replace this database.
    broken = tmp_path / "broken.cwbackup"
    manifest = Manifest(engine(), "20261201T000000Z", 0, "0" * 64, {})
    backup._encrypt(io.BytesIO(b"not a database " * 5000), broken, manifest)
    entries = AuditEntry.objects.count()

    with pytest.raises(CommandError, match="changed nothing"):
        _run("restore", "--force", str(broken))

    assert Case.objects.filter(pk=case.pk).exists()
    assert AuditEntry.objects.count() == entries
    assert not checkpoints.read_all().restores


@pytest.mark.commits
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_backup_is_encrypted_and_its_manifest_says_what_it_holds() -> None:
    record("test.step", by=None)
    seal(checkpoint=True)
    made = back_up()
    content = made.path.read_bytes()
    assert b"SQLite format" not in content and b"PGDMP" not in content
    assert b"audit_auditentry" not in content  # no table name: nothing of the copy is plain
    manifest = made.manifest
    assert manifest.audit_seq == AuditHead.objects.get(pk=1).seq
    assert manifest.engine == ("postgresql" if connection.vendor == "postgresql" else "sqlite")
    assert manifest.migrations["audit"].startswith("0")
    assert len(manifest.sha256) == 64 and manifest.size > 0
    assert os.stat(made.path).st_mode & 0o077 == 0  # readable by its owner only
    made_entry = AuditEntry.objects.get(action="core.backup.made")
    assert made_entry.data == {
        "file": made.path.name,
        "audit_seq": manifest.audit_seq,
        "removed": 0,
    }
