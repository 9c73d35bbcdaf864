"""Two name sounds together as a blind-index key ("pair", see casework/vault/blind.py), for
every person who can still be found (not anonymised, not merged away). Names are decrypted to
compute them: on a large database this migration takes minutes."""

from typing import Any

from django.db import migrations

CHUNK = 2000


def add_pairs(apps: Any, schema_editor: Any) -> None:
    from casework.vault import blind

    Person = apps.get_model("people", "Person")
    PersonNameIndex = apps.get_model("people", "PersonNameIndex")
    PersonNameIndex.objects.filter(kind="pair").delete()
    people = (
        Person.objects.filter(anonymised_at__isnull=True, merged_into__isnull=True)
        .only("pk", "agency_id", "given_name", "family_name", "other_names")
        .order_by("pk")
    )
    rows = []
    for person in people.iterator(chunk_size=CHUNK):
        words = blind.tokens(person.given_name or "", person.family_name or "", person.other_names or "")
        rows += [
            PersonNameIndex(
                person_id=person.pk,
                agency_id=person.agency_id,
                kind="pair",
                digest=blind.digest("pair", both, agency_id=None),
            )
            for both in blind.sound_pairs(words)
        ]
        if len(rows) >= CHUNK:
            PersonNameIndex.objects.bulk_create(rows)
            rows = []
    PersonNameIndex.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [("people", "0006_name_index_in_agency")]

    operations = [
        migrations.RunPython(add_pairs, reverse_code=migrations.RunPython.noop, elidable=False)
    ]
