from __future__ import annotations

from django.db import models
from django.db.models import Q


class DataKey(models.Model):
    """A data-encryption key, stored only wrapped (encrypted) by a master key kept outside the DB.

    Deleting these rows is the emergency purge: without them no ciphertext in the database (or in
    any backup taken afterwards) can be read, whatever happens to the master key.
    """

    class Purpose(models.TextChoices):
        DATA = "data", "data"
        INDEX = "index", "blind index"

    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    master_key_id = models.CharField(max_length=32)
    wrapped = models.BinaryField()
    is_primary = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["purpose"], condition=Q(is_primary=True), name="one_primary_key_per_purpose"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} key {self.pk}"
