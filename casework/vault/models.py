from __future__ import annotations

from django.db import models
from django.db.models import Q


class DataKey(models.Model):
    """A data-encryption key, stored only wrapped (encrypted) by a master key kept outside the DB.

    Each agency has its own keys (`agency`), so that its personal data can be destroyed on its
    own: deleting an agency's rows is its emergency purge (casework/retention/purge.py), and
    without them no ciphertext of that agency in the database, or in any backup, can be read.
    Keys without an agency encrypt what belongs to the instance rather than to an agency (staff
    secrets, the service directory).
    """

    class Purpose(models.TextChoices):
        DATA = "data", "data"
        INDEX = "index", "blind index"

    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    agency = models.ForeignKey(
        "accounts.Agency", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    master_key_id = models.CharField(max_length=32)
    wrapped = models.BinaryField()
    is_primary = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Two constraints, because NULL never equals NULL in a unique index.
            models.UniqueConstraint(
                fields=["purpose"],
                condition=Q(is_primary=True, agency__isnull=True),
                name="one_primary_instance_key_per_purpose",
            ),
            models.UniqueConstraint(
                fields=["agency", "purpose"],
                condition=Q(is_primary=True, agency__isnull=False),
                name="one_primary_agency_key_per_purpose",
            ),
        ]

    def __str__(self) -> str:
        owner = f"agency {self.agency_id}" if self.agency_id else "instance"
        return f"{self.purpose} key {self.pk} ({owner})"


class Checkpoint(models.Model):
    """How far a resumable batch job over encrypted tables has come (the re-encryption into
    agency keys, a purge's sweep): per job and step (a table), the last primary key done,
    written in the same transaction as the batch, so a killed run resumes where it stopped."""

    job = models.CharField(max_length=40)
    step = models.CharField(max_length=100)
    position = models.BigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "step"], name="one_checkpoint_per_job_step")
        ]

    def __str__(self) -> str:
        return f"{self.job}/{self.step}: {self.position}"


class PurgedAgency(models.Model):
    """An agency whose keys were destroyed by an emergency purge: no key is ever made for it
    again (vault.keys refuses), so nothing of it can be written readable after its purge, not
    even by a form opened before it."""

    agency = models.OneToOneField("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    purged_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"agency {self.agency_id} purged"
