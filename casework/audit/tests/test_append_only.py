"""The database itself refuses to change or delete audit entries, whoever asks."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from casework.audit.log import record
from casework.audit.models import AuditEntry


@pytest.fixture
def entry(db: Any) -> AuditEntry:
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
