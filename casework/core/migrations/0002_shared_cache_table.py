"""The table of Django's database cache: rate limits and sign-in back-off shared by every process
(casework/core/ratelimits.py). Created by `createcachetable`, which does nothing when the cache
is Redis or the table exists already."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS casework_cache")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
