"""Entries are appended without a lock and sealed into the chain later, in batches, by the worker.

`seq`, `prev_hash` and `hash` are empty until then. The append-only triggers are replaced by ones
that allow exactly one UPDATE of an entry: its sealing (seq from empty to a number, nothing else
changed). Every other UPDATE, every DELETE and TRUNCATE are still refused. (On SQLite, altering
the column rebuilds the table, which drops its triggers: they are created again here.)
"""

import importlib

from django.conf import settings

from django.db import migrations, models

# The columns an entry is written with; sealing may not change any of them.
CONTENT = [
    "id", "at", "actor_id", "agency_id", "ip", "user_agent", "action", "outcome",
    "object_type", "object_id", "case_id", "data", "mac",
]

# `%%`: the statement goes through the driver's parameter formatting (see 0002).
PG_UP = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
     AND (%(new)s) IS NOT DISTINCT FROM (%(old)s) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit entries are append-only (%%%% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
""" % {
    "new": ", ".join(f"NEW.{c}" for c in CONTENT).replace("NEW.data", "NEW.data::text"),
    "old": ", ".join(f"OLD.{c}" for c in CONTENT).replace("OLD.data", "OLD.data::text"),
}
PG_TRIGGERS = """
DROP TRIGGER IF EXISTS audit_entry_no_update ON audit_auditentry;
DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_auditentry;
CREATE TRIGGER audit_entry_no_update BEFORE UPDATE OR DELETE ON audit_auditentry
  FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_auditentry
  FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only();
"""
_SEALING_ONLY = " AND ".join(
    ["OLD.seq IS NULL", "NEW.seq IS NOT NULL"] + [f"NEW.{c} IS OLD.{c}" for c in CONTENT]
)
SQLITE_UP = [
    "DROP TRIGGER IF EXISTS audit_entry_no_update;",
    "DROP TRIGGER IF EXISTS audit_entry_no_delete;",
    f"""CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
       WHEN NOT ({_SEALING_ONLY})
       BEGIN SELECT RAISE(ABORT, 'audit entries are append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_auditentry
       BEGIN SELECT RAISE(ABORT, 'audit entries are append-only (DELETE refused)'); END;""",
]


def install_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP)
        schema_editor.execute(PG_TRIGGERS)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def drop_previous_triggers(apps, schema_editor):
    previous = importlib.import_module("casework.audit.migrations.0002_head_and_triggers")
    previous.remove_triggers(apps, schema_editor)


def mac_existing_entries(apps, schema_editor):
    """Give every entry written before this release its MAC, in batches (the key must be there:
    `casework initkeys` or CASEWORK_AUDIT_KEY)."""
    from casework.audit.chain import entry_mac
    from casework.vault.keys import audit_key

    AuditEntry = apps.get_model("audit", "AuditEntry")
    if not AuditEntry.objects.exists():
        return
    key = audit_key()
    last = 0
    while True:
        batch = list(AuditEntry.objects.filter(id__gt=last).order_by("id")[:5000])
        if not batch:
            break
        for row in batch:
            row.mac = entry_mac(row, key)
        AuditEntry.objects.bulk_update(batch, ["mac"], batch_size=1000)
        last = batch[-1].id


def previous_triggers(apps, schema_editor):
    previous = importlib.import_module("casework.audit.migrations.0002_head_and_triggers")
    previous.install_triggers(apps, schema_editor)



class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_head_and_triggers'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Undone last: the previous triggers come back once the table has its old shape.
        migrations.RunPython(drop_previous_triggers, previous_triggers),
        migrations.AddField(
            model_name="auditentry",
            name="mac",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(mac_existing_entries, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name='auditentry',
            name='audit_case_seq',
        ),
        migrations.RemoveIndex(
            model_name='auditentry',
            name='audit_actor_seq',
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='hash',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='prev_hash',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='seq',
            field=models.BigIntegerField(null=True, unique=True),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(fields=['case_id', '-id'], name='audit_case_id'),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(fields=['actor', '-id'], name='audit_actor_id'),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(condition=models.Q(('seq__isnull', True)), fields=['id'], name='audit_unsealed'),
        ),
        migrations.RunPython(install_triggers, drop_previous_triggers),
    ]
