"""Key rotation without downtime: new keys first, re-encryption in small batches, retirement last.

Order of a data-key rotation:
1. `rotate_data_key()` makes a new primary data key. From then on every write uses it; the old
   key stays in the DataKey table, so everything not yet re-encrypted still reads.
2. The same call re-encrypts every encrypted column, table by table, in primary-key ranges, one
   short transaction per batch, so the application keeps running throughout.
3. `retire_data_keys()`, run later, re-encrypts whatever was written with an old key in the
   meantime (app servers cache the keyring for KEYRING_TTL seconds), checks that no readable value
   still needs an old key, then deletes the old DataKey rows.

Values are copied as ciphertext → plaintext → ciphertext in this process only; nothing is
logged but counts. A value that cannot be decrypted (its key already gone, or tampered with) is
left untouched and counted, never overwritten.

The blind-index key (purpose "index") is not rotated here: every stored digest would change, and
name search would miss people until the whole index was recomputed.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import connection, models, transaction
from django.utils import timezone

from casework.audit.log import record
from casework.vault import keys
from casework.vault.crypto import decrypt_bytes, encrypt_bytes, key_id_of
from casework.vault.fields import encrypted_fields
from casework.vault.models import DataKey

BATCH_SIZE = 500
# Retiring waits until every app server has reloaded its keyring at least once since the new key
# became primary; before that, a server may still be writing with the old key.
SETTLE_SECONDS = 2 * keys.KEYRING_TTL


class RotationError(Exception):
    pass


@dataclass(frozen=True)
class EncryptedTable:
    """One table with encrypted columns: (attribute name, column, crypto context) per column."""

    model: type[models.Model]
    columns: tuple[tuple[str, str], ...]  # (column name, crypto context)

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


@dataclass
class ReencryptionReport:
    rewritten: Counter[str] = field(default_factory=Counter)  # values per table
    unreadable: Counter[str] = field(default_factory=Counter)
    skipped_changed: int = 0  # rows written by the app between our read and our write

    @property
    def total(self) -> int:
        return sum(self.rewritten.values())


def encrypted_tables() -> list[EncryptedTable]:
    """Every concrete table holding encrypted columns, each once (proxies share their table)."""
    columns: dict[type[models.Model], list[tuple[str, str]]] = {}
    for model, model_field in encrypted_fields():
        if model._meta.proxy or not model._meta.managed:
            continue
        column = str(cast("models.Field[Any, Any]", model_field).column)
        columns.setdefault(model, []).append((column, model_field.crypto_context))
    return [EncryptedTable(model, tuple(cols)) for model, cols in columns.items()]


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _raw_batches(table: EncryptedTable, batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
    """Rows (pk, raw ciphertext...) in primary-key order, one bounded query per batch.

    Raw SQL, not the ORM, because the ORM would decrypt on read and could not tell an unreadable
    value from an empty one; here ciphertext stays ciphertext until we decide what to do with it.
    """
    meta = table.model._meta
    pk = _quoted(str(meta.pk.column))
    cols = ", ".join(_quoted(column) for column, _context in table.columns)
    # Identifiers come from model metadata and are quoted; every value is a parameter.
    select = f"SELECT {pk}, {cols} FROM {_quoted(meta.db_table)}"  # noqa: S608
    first = f"{select} ORDER BY {pk} LIMIT %s"
    after = f"{select} WHERE {pk} > %s ORDER BY {pk} LIMIT %s"
    last: Any = None
    while True:
        with connection.cursor() as cursor:
            if last is None:
                cursor.execute(first, [batch_size])
            else:
                cursor.execute(after, [last, batch_size])
            rows = cursor.fetchall()
        if rows:
            yield rows
        if len(rows) < batch_size:
            return
        last = rows[-1][0]


def _reencrypt_table(table: EncryptedTable, *, batch_size: int, report: ReencryptionReport) -> None:
    meta = table.model._meta
    pk = _quoted(str(meta.pk.column))
    for rows in _raw_batches(table, batch_size):
        primary = keys.keyring().primary_id
        with transaction.atomic():
            for row in rows:
                changes: list[tuple[str, str, str]] = []  # (column, old, new)
                for (column, context), value in zip(table.columns, row[1:], strict=True):
                    if not value or key_id_of(str(value)) == primary:
                        continue
                    plain = decrypt_bytes(str(value), context=context)
                    if plain is None:
                        report.unreadable[table.label] += 1
                        continue
                    changes.append((column, str(value), encrypt_bytes(plain, context=context)))
                if not changes:
                    continue
                assignments = ", ".join(f"{_quoted(column)} = %s" for column, _o, _n in changes)
                unchanged = " AND ".join(f"{_quoted(column)} = %s" for column, _o, _n in changes)
                # Compare-and-set: a row the application rewrote since our read keeps its new
                # value (written with whichever key that server had; retiring catches it).
                sql = (
                    f"UPDATE {_quoted(meta.db_table)} SET {assignments} "  # noqa: S608
                    f"WHERE {pk} = %s AND {unchanged}"
                )
                params = (
                    [new for _c, _o, new in changes] + [row[0]] + [old for _c, old, _n in changes]
                )
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    if cursor.rowcount:
                        report.rewritten[table.label] += len(changes)
                    else:
                        report.skipped_changed += 1


def reencrypt_all(*, batch_size: int = BATCH_SIZE) -> ReencryptionReport:
    """Rewrite every value not encrypted with the primary data key under the primary key."""
    report = ReencryptionReport()
    for table in encrypted_tables():
        _reencrypt_table(table, batch_size=batch_size, report=report)
    return report


def count_values_by_key(*, batch_size: int = 5000) -> Counter[int | None]:
    """How many stored values each data key encrypts (None: not in the ciphertext format)."""
    counts: Counter[int | None] = Counter()
    for table in encrypted_tables():
        for rows in _raw_batches(table, batch_size):
            for row in rows:
                for value in row[1:]:
                    if value:
                        counts[key_id_of(str(value))] += 1
    return counts


def rotate_master_key() -> tuple[str, int]:
    """Wrap every data key under a new master key. Returns (master key id, data keys re-wrapped).

    With a key file, a new master key is added to it. When the master keys come from the
    environment (CASEWORK_MASTER_KEYS), the operator adds the new primary there first and this
    only re-wraps.
    """
    from django.conf import settings

    if not settings.CASEWORK_MASTER_KEYS:
        keys.add_master_key()
    master = keys.load_master_keys()
    rewrapped = keys.rewrap_data_keys()
    if rewrapped:
        record(
            "vault.master_key.rotated",
            by=None,
            data={"master_key": master.primary, "data_keys": rewrapped},
        )
    return master.primary, rewrapped


def rotate_data_key(*, batch_size: int = BATCH_SIZE) -> tuple[DataKey, ReencryptionReport]:
    """Make a new primary data key, then re-encrypt every encrypted value under it."""
    with transaction.atomic():
        new_key = keys.create_data_key(DataKey.Purpose.DATA)
        record("vault.data_key.created", by=None, data={"key": new_key.pk})
    report = reencrypt_all(batch_size=batch_size)
    record(
        "vault.data_key.reencrypted",
        by=None,
        data={
            "key": new_key.pk,
            "values": report.total,
            "unreadable": sum(report.unreadable.values()),
        },
    )
    return new_key, report


def retire_data_keys(
    *, batch_size: int = BATCH_SIZE, now: datetime.datetime | None = None
) -> list[int]:
    """Delete the old data keys once nothing readable needs them. Returns the ids deleted.

    Refuses while the primary key is younger than SETTLE_SECONDS, or if values written with an
    old key remain after a last re-encryption pass.
    """
    now = now or timezone.now()
    primary = DataKey.objects.get(purpose=DataKey.Purpose.DATA, is_primary=True)
    old = list(
        DataKey.objects.filter(purpose=DataKey.Purpose.DATA, is_primary=False).values_list(
            "pk", flat=True
        )
    )
    if not old:
        return []
    age = (now - primary.created_at).total_seconds()
    if age < SETTLE_SECONDS:
        raise RotationError(
            f"The primary data key is {int(age)}s old; wait {int(SETTLE_SECONDS - age) + 1}s "
            "more so that no app server still writes with an old key."
        )
    keys.clear_cache()
    reencrypt_all(batch_size=batch_size)
    # A value under an old key that fails authentication is already lost (tampered with); it
    # does not hold up retirement, but every readable one does.
    readable_left = _readable_values_under(set(old), batch_size=batch_size)
    if readable_left:
        raise RotationError(
            f"{readable_left} values are still encrypted with an old key; run the rotation again."
        )
    with transaction.atomic():
        DataKey.objects.filter(pk__in=old).delete()
        record("vault.data_key.retired", by=None, data={"keys": old})
    keys.clear_cache()
    return old


def _readable_values_under(key_ids: set[int], *, batch_size: int) -> int:
    readable = 0
    for table in encrypted_tables():
        for rows in _raw_batches(table, batch_size):
            for row in rows:
                for (_column, context), value in zip(table.columns, row[1:], strict=True):
                    if value and key_id_of(str(value)) in key_ids:
                        if decrypt_bytes(str(value), context=context) is not None:
                            readable += 1
    return readable


@dataclass(frozen=True)
class KeyStatus:
    pk: int
    purpose: str
    master_key_id: str
    is_primary: bool
    created_at: datetime.datetime
    retired_at: datetime.datetime | None


def key_status() -> tuple[str, list[str], list[KeyStatus]]:
    """(primary master key id, all master key ids, data keys) for `casework keys status`."""
    master = keys.load_master_keys()
    rows = [
        KeyStatus(
            pk=row.pk,
            purpose=row.purpose,
            master_key_id=row.master_key_id,
            is_primary=row.is_primary,
            created_at=row.created_at,
            retired_at=row.retired_at,
        )
        for row in DataKey.objects.order_by("purpose", "pk")
    ]
    return master.primary, sorted(master.keys), rows
