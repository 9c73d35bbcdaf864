"""The person's agency beside each blind-index digest, so a search within an agency reads the
index alone (see PersonNameIndex)."""

import django.db.models.deletion
from django.db import migrations, models

FILL = """
UPDATE people_personnameindex
SET agency_id = (
    SELECT people_person.agency_id FROM people_person
    WHERE people_person.id = people_personnameindex.person_id
)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("people", "0005_merges"),
    ]

    operations = [
        migrations.AddField(
            model_name="personnameindex",
            name="agency",
            field=models.ForeignKey(
                null=True,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.agency",
            ),
        ),
        migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop),
        # Rows of persons already anonymised or merged away carry no name anyone may find.
        migrations.RunSQL(
            """
            DELETE FROM people_personnameindex WHERE person_id IN (
                SELECT id FROM people_person
                WHERE anonymised_at IS NOT NULL OR merged_into_id IS NOT NULL
            )
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="personnameindex",
            name="agency",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.agency",
            ),
        ),
        migrations.RemoveIndex(model_name="personnameindex", name="person_name_digest"),
        migrations.AddIndex(
            model_name="personnameindex",
            index=models.Index(
                fields=["digest", "agency", "person"], name="name_digest_in_agency"
            ),
        ),
    ]
