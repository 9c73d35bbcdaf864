"""The fastest honest way to write many rows: plain `executemany` with explicit primary keys.

`bulk_create` spends most of its time building model instances and compiling per-value SQL; for
hundreds of thousands of rows (demo data, benchmarks, imports) that dominates. `insert_rows`
takes dictionaries, converts only the values that need it (encrypted fields, dates, JSON) with
the field's own `get_db_prep_save`, and sends one parameterised INSERT per batch. Encryption
therefore happens exactly as it does for the ORM. Callers reserve ids with `reserve_ids` and the
sequences are moved past them afterwards, so later ORM inserts do not collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils import timezone

# Field classes whose Python values the database driver accepts as they are.
_PASS_THROUGH = (
    models.AutoField,
    models.BigAutoField,
    models.BooleanField,
    models.CharField,
    models.IntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.TextField,
    models.ForeignKey,
)


def _converter(field: models.Field[Any, Any], wrapper: Any) -> Callable[[Any], Any] | None:
    from casework.vault.fields import EncryptedMixin

    if isinstance(field, EncryptedMixin):
        return lambda value: field.get_db_prep_save(value, wrapper)
    if isinstance(field, models.DateTimeField):
        return wrapper.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return wrapper.ops.adapt_datefield_value
    if not isinstance(field, _PASS_THROUGH):
        return lambda value: field.get_db_prep_save(value, wrapper)
    return None


def reserve_ids(model: type[models.Model], count: int) -> int:
    """The first of `count` fresh primary keys for `model` (callers are single writers: the demo
    generator and imports run inside one transaction that holds the table's write lock)."""
    top = model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
    return int(top) + 1


def insert_rows(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, batch_size: int = 5000
) -> None:
    """INSERT `rows` (dicts by attribute name, each with its `id`) into `model`'s table."""
    if not rows:
        return
    now = timezone.now()
    pk_name = model._meta.pk.attname
    # Rows without ids let the database number them; rows with ids keep theirs.
    fields = [f for f in model._meta.concrete_fields if f.attname != pk_name or pk_name in rows[0]]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (names from _meta)
    wrapper = connections[DEFAULT_DB_ALIAS]  # the real wrapper, not the per-access proxy
    plan = []
    for field in fields:
        auto_now = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        default = now if auto_now else field.get_default()
        plan.append((field.attname, default, _converter(field, wrapper)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            values = []
            for row in batch:
                record = []
                for attname, default, convert in plan:
                    value = row.get(attname, default)
                    record.append(
                        convert(value) if convert is not None and value is not None else value
                    )
                values.append(record)
            cursor.executemany(sql, values)


def reset_sequences(model_list: Iterable[type[models.Model]]) -> None:
    """Move PostgreSQL sequences past explicitly inserted ids (SQLite needs nothing)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_list))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
