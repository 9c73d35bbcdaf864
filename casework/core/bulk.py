"""The fastest honest way to write many rows: COPY on PostgreSQL, `executemany` on SQLite.

`bulk_create` spends most of its time building model instances and compiling per-value SQL; for
hundreds of thousands of rows (demo data, benchmarks, imports) that dominates. `insert_rows`
takes dictionaries by attribute name, converts only the values that need it with the field's own
`get_db_prep_save` (so encrypted fields are encrypted exactly as by the ORM), and sends one COPY
per batch on PostgreSQL or one parameterised INSERT per batch on SQLite. Values that repeat (the
same timestamp on every row, the same few dates) are converted once, not per row.

Rows either all carry their `id` (the caller reserved them with `reserve_ids`; move the
sequences past them with `reset_sequences` afterwards so that later ORM inserts do not collide)
or none do and the database numbers them; callers then read ids back by natural keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone

BATCH = 5000

# Field classes whose Python values both database drivers accept as they are.
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

    postgres = wrapper.vendor == "postgresql"
    if isinstance(field, EncryptedMixin):
        return lambda value: field.get_db_prep_save(value, wrapper)
    if isinstance(field, models.DateTimeField):
        # psycopg sends aware datetimes as they are; SQLite wants text in UTC.
        return None if postgres else _memo(wrapper.ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return None if postgres else _memo(wrapper.ops.adapt_datefield_value)
    if isinstance(field, _PASS_THROUGH):
        return None
    return lambda value: field.get_db_prep_save(value, wrapper)


def _memo(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    seen: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        found = seen.get(value)
        if found is None:
            found = seen[value] = convert(value)
        return found

    return cached


def reserve_ids(model: type[models.Model], count: int) -> int:
    """The first of `count` fresh primary keys for `model` (callers are single writers: the demo
    generator and the benchmarks run inside one transaction that holds the table's write lock)."""
    top = model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
    return int(top) + 1


def insert_rows(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, batch_size: int = BATCH
) -> None:
    """Write `rows` (dicts by attribute name, each with its `id` or none with one) to `model`."""
    if not rows:
        return
    wrapper = connections[DEFAULT_DB_ALIAS]  # the real wrapper, not the per-access proxy
    now = timezone.now()
    pk_name = model._meta.pk.attname
    fields = [f for f in model._meta.concrete_fields if f.attname != pk_name or pk_name in rows[0]]
    plan: list[tuple[str, Any, Callable[[Any], Any] | None]] = []
    for field in fields:
        auto_now = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        convert = _converter(field, wrapper)
        default = now if auto_now else field.get_default()
        if default is not None and default != "" and convert is not None:
            default = convert(default)
        plan.append((field.attname, default, convert))
    quote = wrapper.ops.quote_name
    table = quote(str(model._meta.db_table))
    columns = ", ".join(quote(str(f.column)) for f in fields)

    def records(batch: Sequence[dict[str, Any]]) -> list[list[Any]]:
        out = []
        for row in batch:
            record = []
            for attname, default, convert in plan:
                if attname not in row:
                    record.append(default)
                    continue
                value = row[attname]
                # An empty value is stored as it is (encrypted fields keep "" in clear too).
                if convert is not None and value is not None and value != "":
                    value = convert(value)
                record.append(value)
            out.append(record)
        return out

    with wrapper.cursor() as cursor:
        if wrapper.vendor == "postgresql":
            sql = f"COPY {table} ({columns}) FROM STDIN"
            for start in range(0, len(rows), batch_size):
                # Convert before the COPY starts: encrypting may read a data key from the
                # database, which the connection cannot do in the middle of a COPY.
                batch = records(rows[start : start + batch_size])
                with cursor.cursor.copy(sql) as copy:
                    for record in batch:
                        copy.write_row(record)
            return
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (names from _meta)
        for start in range(0, len(rows), batch_size):
            cursor.executemany(sql, records(rows[start : start + batch_size]))


def reset_sequences(model_list: Iterable[type[models.Model]]) -> None:
    """Move PostgreSQL sequences past explicitly inserted ids (SQLite needs nothing)."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    statements = wrapper.ops.sequence_reset_sql(no_style(), list(model_list))
    if statements:
        with wrapper.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
