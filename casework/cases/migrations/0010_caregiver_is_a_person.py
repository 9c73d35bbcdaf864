# Caregivers and household members become persons linked to the client (people.Relationship,
# people.Household), and a consent names the caregiver person who gave it. Each old
# people.HouseholdMember row becomes a person of the client's agency (reference: the client's
# reference with a suffix), found by name like any other, and a relationship both ways; people
# 0004 then drops the old table. Anonymised clients' relatives are anonymised too.

import django.db.models.deletion
from django.db import migrations, models

KINDS = {
    "mother": "parent",
    "father": "parent",
    "grandparent": "other_relative",
    "sibling": "sibling",
    "spouse": "partner",
    "child": "child",
    "other_relative": "other_relative",
    "foster": "caregiver",
    "other": "household_member",
}
INVERSE = {
    "caregiver": "cared_for",
    "cared_for": "caregiver",
    "parent": "child",
    "child": "parent",
    "sibling": "sibling",
    "partner": "partner",
    "other_relative": "other_relative",
    "household_member": "household_member",
}


def members_to_persons(apps, schema_editor):
    from casework.vault import blind

    HouseholdMember = apps.get_model("people", "HouseholdMember")
    Person = apps.get_model("people", "Person")
    Household = apps.get_model("people", "Household")
    Relationship = apps.get_model("people", "Relationship")
    PersonNameIndex = apps.get_model("people", "PersonNameIndex")
    Consent = apps.get_model("cases", "Consent")
    became: dict[int, int] = {}
    counts: dict[int, int] = {}
    households: dict[int, int] = {}
    members = HouseholdMember.objects.select_related("person").order_by("person_id", "id")
    for member in members.iterator(chunk_size=500):
        client = member.person
        if client.pk not in households:
            if client.household_id is None:
                client.household = Household.objects.create(agency_id=client.agency_id)
                client.save(update_fields=["household"])
            households[client.pk] = client.household_id
        client.household_id = households[client.pk]
        counts[client.pk] = counts.get(client.pk, 0) + 1
        gone = client.anonymised_at is not None
        relative = Person.objects.create(
            agency_id=client.agency_id,
            reference=f"{client.reference}-{counts[client.pk]}",
            given_name="" if gone else member.given_name,
            family_name="" if gone else member.family_name,
            sex=member.sex,
            estimated_age=member.age,
            age_estimated_on=member.created_at.date() if member.age is not None else None,
            phone="" if gone else member.phone,
            household_id=client.household_id,
            anonymised_at=client.anonymised_at,
        )
        if not gone:
            PersonNameIndex.objects.bulk_create(
                PersonNameIndex(person=relative, kind=kind, digest=digest)
                for kind, digest in blind.name_digests(member.given_name, member.family_name, agency_id=None)
            )
        kind = KINDS.get(member.relationship, "household_member")
        when = member.created_at
        Relationship.objects.bulk_create(
            [
                Relationship(
                    person=client,
                    relative=relative,
                    kind=kind,
                    is_caregiver=member.is_caregiver,
                    recorded_at=when,
                ),
                Relationship(person=relative, relative=client, kind=INVERSE[kind], recorded_at=when),
            ]
        )
        became[member.pk] = relative.pk
    for consent in Consent.objects.exclude(caregiver_member=None).only("pk", "caregiver_member_id"):
        Consent.objects.filter(pk=consent.pk).update(caregiver=became[consent.caregiver_member_id])


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0009_screening"),
        ("people", "0003_households_and_relationships"),
    ]

    operations = [
        migrations.RenameField("consent", "caregiver", "caregiver_member"),
        migrations.AddField(
            model_name="consent",
            name="caregiver",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="people.person",
                verbose_name="caregiver",
            ),
        ),
        # One way: the rows it creates are persons like any other from then on.
        migrations.RunPython(members_to_persons, migrations.RunPython.noop),
        migrations.RemoveField("consent", "caregiver_member"),
    ]
