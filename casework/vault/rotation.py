"""Key rotation and re-encryption without downtime: new keys first, values rewritten in small
batches, old keys retired last.

Every stored value belongs to an owner (an agency, or the instance; see `vault_agency` in
casework/vault/fields.py) and should be encrypted with its owner's primary data key. The one
engine here, `reencrypt_table`, rewrites the values that are not: after a data-key rotation
(under the new primaries), after the move to agency keys (values still under the instance key),
after a transfer (a case's history under the sending agency's key).

Order of a data-key rotation:
1. `rotate_data_keys()` makes a new primary data key for the instance and every agency. From
   then on every write uses them; the old keys stay in the DataKey table, so everything not yet
   re-encrypted still reads.
2. The same call re-encrypts every encrypted column, table by table, in primary-key ranges, one
   short transaction per batch, so the application keeps running throughout.
3. `retire_data_keys()`, run later, re-encrypts whatever was written with an old key in the
   meantime (app servers cache the keyring for KEYRING_TTL seconds), checks that no readable value
   still needs an old key, then deletes the old DataKey rows.

Values are copied as ciphertext → plaintext → ciphertext in this process only; nothing is
logged but counts. A value that cannot be decrypted (its key already gone, or tampered with) is
left untouched and counted, never overwritten.

The blind-index keys are not rotated here: every stored digest would change, and name search
would miss people until the whole index was recomputed (casework/retention/rekeying.py does
that when it moves the index to agency keys).
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import connection, models, transaction
from django.db.models import ExpressionWrapper, F, Q, Value
from django.db.models.functions import Cast
from django.utils import timezone

from casework.audit.log import record
from casework.vault import keys
from casework.vault.crypto import PREFIX, decrypt_bytes, encrypt_bytes, key_id_of
from casework.vault.fields import agency_path, encrypted_fields
from casework.vault.models import Checkpoint, DataKey

BATCH_SIZE = 500
# Retiring waits until every app server has reloaded its keyring at least once since the new key
# became primary; before that, a server may still be writing with the old key.
SETTLE_SECONDS = 2 * keys.KEYRING_TTL


class RotationError(Exception):
    pass


@dataclass(frozen=True)
class EncryptedColumn:
    attname: str
    column: str
    context: str
    nullable: bool


@dataclass(frozen=True)
class EncryptedTable:
    """One table with encrypted columns, and the foreign-key path to the agency of its rows."""

    model: type[models.Model]
    encrypted: tuple[EncryptedColumn, ...]
    agency_path: str | None

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        """(column name, crypto context) of each encrypted column."""
        return tuple((col.column, col.context) for col in self.encrypted)


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
    columns: dict[type[models.Model], list[EncryptedColumn]] = {}
    for model, model_field in encrypted_fields():
        if model._meta.proxy or not model._meta.managed:
            continue
        concrete = cast("models.Field[Any, Any]", model_field)
        columns.setdefault(model, []).append(
            EncryptedColumn(
                attname=concrete.attname,
                column=str(concrete.column),
                context=model_field.crypto_context,
                nullable=bool(concrete.null),
            )
        )
    return [
        EncryptedTable(model, tuple(cols), agency_path(model)) for model, cols in columns.items()
    ]


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


Row = tuple[Any, ...]  # (pk, owner agency id, raw ciphertext per encrypted column)


def raw_batches(
    table: EncryptedTable,
    *,
    batch_size: int,
    rows: models.QuerySet[Any] | None = None,
    after: Any = None,
) -> Iterator[list[Row]]:
    """Rows (pk, owner, raw ciphertext...) in primary-key order, one bounded query per batch.

    The ciphertext is read as text, not through the field, which would decrypt it and could not
    tell an unreadable value from an empty one; here ciphertext stays ciphertext until we decide
    what to do with it. The owner is read through the table's path to the agency.
    """
    queryset = rows if rows is not None else table.model._base_manager.all()
    raw = {
        f"raw_{n}": ExpressionWrapper(F(col.attname), output_field=models.TextField())
        for n, col in enumerate(table.encrypted)
    }
    owner: Any = (
        F(table.agency_path)
        if table.agency_path
        else Cast(Value(None), output_field=models.BigIntegerField())
    )
    queryset = queryset.annotate(vault_owner=owner, **raw).order_by("pk")
    names = ["pk", "vault_owner", *raw]
    last = after
    while True:
        page = queryset if last is None else queryset.filter(pk__gt=last)
        found = list(page.values_list(*names)[:batch_size])
        if found:
            yield found
        if len(found) < batch_size:
            return
        last = found[-1][0]


def rows_by_key(
    table: EncryptedTable,
    rows: models.QuerySet[Any],
    *,
    under: Iterable[int] = (),
    not_under: Iterable[int] | None = None,
) -> models.QuerySet[Any]:
    """The rows of `rows` holding a value under one of the keys `under`, or (with `not_under`)
    a value under none of the keys `not_under`: chosen by the database from the ciphertexts'
    key ids, so a pass over them reads only those rows."""
    raw = {
        f"vault_key_{n}": ExpressionWrapper(F(col.attname), output_field=models.TextField())
        for n, col in enumerate(table.encrypted)
    }
    under_prefixes = [f"{PREFIX}${key_id}$" for key_id in under]
    not_prefixes = None if not_under is None else [f"{PREFIX}${key_id}$" for key_id in not_under]
    chosen = Q(pk__in=[])
    for name in raw:
        for prefix in under_prefixes:
            chosen |= Q(**{f"{name}__startswith": prefix})
        if not_prefixes is not None:
            other = Q(**{f"{name}__isnull": False}) & ~Q(**{name: ""})
            for prefix in not_prefixes:
                other &= ~Q(**{f"{name}__startswith": prefix})
            chosen |= other
    return rows.annotate(**raw).filter(chosen)


def _compare_and_set(
    table: EncryptedTable, pk: Any, changes: list[tuple[str, str, str | None]]
) -> bool:
    """Write new values only where the row still holds the old ones. A row the application
    rewrote since our read keeps its new value (retiring or a later run catches it)."""
    meta = table.model._meta
    assignments = ", ".join(f"{_quoted(column)} = %s" for column, _o, _n in changes)
    unchanged = " AND ".join(f"{_quoted(column)} = %s" for column, _o, _n in changes)
    # Identifiers come from model metadata and are quoted; every value is a parameter.
    sql = (
        f"UPDATE {_quoted(meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {_quoted(str(meta.pk.column))} = %s AND {unchanged}"
    )
    params = [new for _c, _o, new in changes] + [pk] + [old for _c, old, _n in changes]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return bool(cursor.rowcount)


def _save_checkpoint(job: str, table: EncryptedTable, position: Any, *, finished: bool) -> None:
    Checkpoint.objects.update_or_create(
        job=job,
        step=table.label,
        defaults={
            "position": int(position or 0),
            "finished_at": timezone.now() if finished else None,
        },
    )


def _resume(job: str | None, table: EncryptedTable) -> tuple[bool, int | None]:
    """(whether the job already finished this table, the last primary key it committed)."""
    if job is None:
        return False, None
    saved = Checkpoint.objects.filter(job=job, step=table.label).first()
    if saved is None:
        return False, None
    return saved.finished_at is not None, saved.position or None


def forget_checkpoints(job: str) -> None:
    """A finished job's checkpoints go, so that running it again starts from the beginning."""
    Checkpoint.objects.filter(job=job).delete()


def reencrypt_table(
    table: EncryptedTable,
    *,
    batch_size: int,
    report: ReencryptionReport,
    rows: models.QuerySet[Any] | None = None,
    job: str | None = None,
) -> None:
    """Rewrite every value of `table` (or of `rows`) not encrypted with the primary data key of
    its row's owner. With `job`, progress is kept in a Checkpoint written with each batch, and a
    run that was stopped resumes after the last batch it committed."""
    done, after = _resume(job, table)
    if done:
        return
    # A purged agency has no keys and never gets one: its rows are left to its purge's sweep.
    purged = keys.purged_agencies()
    for batch in raw_batches(table, batch_size=batch_size, rows=rows, after=after):
        ring = keys.ensure_keys({row[1] for row in batch} - purged, index=False)
        with transaction.atomic():
            for row in batch:
                owner = row[1]
                if owner in purged:
                    continue
                target = ring.primary[owner]
                changes: list[tuple[str, str, str | None]] = []  # (column, old, new)
                for col, value in zip(table.encrypted, row[2:], strict=True):
                    if not value or key_id_of(str(value)) == target:
                        continue
                    plain = decrypt_bytes(str(value), context=col.context)
                    if plain is None:
                        report.unreadable[table.label] += 1
                        continue
                    sealed = encrypt_bytes(plain, context=col.context, agency_id=owner)
                    changes.append((col.column, str(value), sealed))
                if not changes:
                    continue
                if _compare_and_set(table, row[0], changes):
                    report.rewritten[table.label] += len(changes)
                else:
                    report.skipped_changed += 1
            if job is not None:
                _save_checkpoint(job, table, batch[-1][0], finished=False)
    if job is not None:
        _save_checkpoint(job, table, 0, finished=True)


def blank_readable(
    table: EncryptedTable,
    *,
    rows: models.QuerySet[Any],
    spare_owner: int,
    batch_size: int = BATCH_SIZE,
    job: str | None = None,
) -> int:
    """Blank every value of `rows` that can still be read (a purge's sweep): values under a key
    of another owner, and anything not in the ciphertext format. Values under a key of
    `spare_owner` that exists now (made after its old keys were destroyed) are new data and
    stay. Returns how many values were blanked; checkpointed like `reencrypt_table`."""
    done, after = _resume(job, table)
    if done:
        return 0
    blanked = 0
    for batch in raw_batches(table, batch_size=batch_size, rows=rows, after=after):
        ring = keys.keyring()
        with transaction.atomic():
            for row in batch:
                changes: list[tuple[str, str, str | None]] = []
                for col, value in zip(table.encrypted, row[2:], strict=True):
                    if not value:
                        continue
                    key_id = key_id_of(str(value))
                    if key_id is not None:
                        owner = ring.owner_of.get(key_id, spare_owner)
                        if owner == spare_owner:
                            continue  # its key is gone, or it is the agency's new data
                        if decrypt_bytes(str(value), context=col.context) is None:
                            continue
                    changes.append((col.column, str(value), None if col.nullable else ""))
                if changes and _compare_and_set(table, row[0], changes):
                    blanked += len(changes)
            if job is not None:
                _save_checkpoint(job, table, batch[-1][0], finished=False)
    if job is not None:
        _save_checkpoint(job, table, 0, finished=True)
    return blanked


def reencrypt_all(*, batch_size: int = BATCH_SIZE, job: str | None = None) -> ReencryptionReport:
    """Rewrite every value not encrypted with the primary data key of its owner."""
    report = ReencryptionReport()
    for table in encrypted_tables():
        reencrypt_table(table, batch_size=batch_size, report=report, job=job)
    return report


def count_values_by_key(*, batch_size: int = 5000) -> Counter[int | None]:
    """How many stored values each data key encrypts (None: not in the ciphertext format)."""
    counts: Counter[int | None] = Counter()
    for table in encrypted_tables():
        for rows in raw_batches(table, batch_size=batch_size):
            for row in rows:
                for value in row[2:]:
                    if value:
                        counts[key_id_of(str(value))] += 1
    return counts


def rotate_master_key() -> tuple[str, int]:
    """Wrap every data key under a new master key. Returns (master key id, data keys re-wrapped).

    With a key file, a new master key is added to it. When the master keys come from the
    environment (CASEWORK_MASTER_KEYS), the operator adds the new primary there first and this
    only re-wraps.
    """
    with keys.master_key_change():  # no other master-key change between adding and re-wrapping
        if not keys.master_keys_from_environment():
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


def rotate_data_keys(*, batch_size: int = BATCH_SIZE) -> tuple[list[DataKey], ReencryptionReport]:
    """Make a new primary data key for the instance and for every agency that has one, then
    re-encrypt every encrypted value under its owner's new key."""
    owners: list[int | None] = [None]
    owners += (
        DataKey.objects.filter(purpose=DataKey.Purpose.DATA, is_primary=True, agency__isnull=False)
        .order_by("agency_id")
        .values_list("agency_id", flat=True)
    )
    with transaction.atomic():
        new_keys = [keys.create_data_key(DataKey.Purpose.DATA, agency_id=owner) for owner in owners]
        record("vault.data_key.created", by=None, data={"keys": [key.pk for key in new_keys]})
    report = reencrypt_all(batch_size=batch_size)
    record(
        "vault.data_key.reencrypted",
        by=None,
        data={
            "keys": [key.pk for key in new_keys],
            "values": report.total,
            "unreadable": sum(report.unreadable.values()),
        },
    )
    return new_keys, report


def retire_data_keys(
    *, batch_size: int = BATCH_SIZE, now: datetime.datetime | None = None
) -> list[int]:
    """Delete the old data keys once nothing readable needs them. Returns the ids deleted.

    Refuses while the newest primary key is younger than SETTLE_SECONDS, or if values written
    with an old key remain after a last re-encryption pass.
    """
    now = now or timezone.now()
    data_keys = DataKey.objects.filter(purpose=DataKey.Purpose.DATA)
    old = list(data_keys.filter(is_primary=False).values_list("pk", flat=True))
    if not old:
        return []
    newest = data_keys.filter(is_primary=True).latest("created_at")
    age = (now - newest.created_at).total_seconds()
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
        for rows in raw_batches(table, batch_size=batch_size):
            for row in rows:
                for col, value in zip(table.encrypted, row[2:], strict=True):
                    if value and key_id_of(str(value)) in key_ids:
                        if decrypt_bytes(str(value), context=col.context) is not None:
                            readable += 1
    return readable


@dataclass(frozen=True)
class KeyStatus:
    pk: int
    purpose: str
    agency_code: str  # "" for the instance's keys
    master_key_id: str
    is_primary: bool
    created_at: datetime.datetime
    retired_at: datetime.datetime | None


def key_status() -> tuple[str, list[str], list[KeyStatus]]:
    """(primary master key id, all master key ids, data keys) for `casework keys status`."""
    master = keys.load_master_keys()
    rows = [
        KeyStatus(
            pk=row["pk"],
            purpose=row["purpose"],
            agency_code=row["agency__code"] or "",
            master_key_id=row["master_key_id"],
            is_primary=row["is_primary"],
            created_at=row["created_at"],
            retired_at=row["retired_at"],
        )
        for row in DataKey.objects.order_by("agency__code", "purpose", "pk").values(
            "pk",
            "purpose",
            "agency__code",
            "master_key_id",
            "is_primary",
            "created_at",
            "retired_at",
        )
    ]
    return master.primary, sorted(master.keys), rows
