"""The database itself refuses to change or delete audit entries, whoever asks; the one change
it allows is an entry's sealing into the chain, once, touching nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from casework.audit.log import record
from casework.audit.models import AuditEntry
from casework.audit.sealing import seal


@pytest.fixture
def entry(db: Any) -> AuditEntry:
    made = record("test.step", by=None)
    seal()
    made.refresh_from_db()
    return made


@pytest.fixture
def unsealed(db: Any) -> AuditEntry:
    return record("test.step", by=None)


def _refused(statement: str, params: list[Any]) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement, params)


def test_it_refuses_an_update_in_sql(entry: AuditEntry) -> None:
    _refused("UPDATE audit_auditentry SET action = %s WHERE seq = %s", ["x", entry.seq])
    entry.refresh_from_db()
    assert entry.action == "test.step"


def test_it_refuses_a_delete_in_sql(entry: AuditEntry) -> None:
    _refused("DELETE FROM audit_auditentry WHERE seq = %s", [entry.seq])
    assert AuditEntry.objects.filter(seq=entry.seq).exists()


def test_it_refuses_an_update_or_delete_through_the_orm(entry: AuditEntry) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.step"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_it_refuses_a_truncate(entry: AuditEntry) -> None:
    with connection.cursor() as cursor:  # otherwise refused for the pending foreign-key check
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    _refused("TRUNCATE audit_auditentry", [])


def test_an_unsealed_entry_cannot_be_changed_while_it_waits(unsealed: AuditEntry) -> None:
    _refused("UPDATE audit_auditentry SET action = %s WHERE id = %s", ["x", unsealed.pk])
    # Nor can it be "sealed" with other content slipped in at the same time.
    _refused(
        "UPDATE audit_auditentry SET seq = 1, hash = 'f', action = %s WHERE id = %s",
        ["x", unsealed.pk],
    )
    _refused("DELETE FROM audit_auditentry WHERE id = %s", [unsealed.pk])


def test_a_sealed_entry_cannot_be_sealed_again(entry: AuditEntry) -> None:
    _refused(
        "UPDATE audit_auditentry SET seq = %s, hash = %s WHERE id = %s",
        [(entry.seq or 0) + 100, "f" * 64, entry.pk],
    )
