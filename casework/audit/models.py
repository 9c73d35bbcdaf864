from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One thing that happened: who, when, from where, what, to which record. Never field values.

    Rows are appended by requests without any shared lock (`seq` empty) and sealed into the chain
    in batches by the worker (casework/audit/sealing.py), which sets `seq`, `prev_hash` and `hash`:
    an HMAC, under a key kept outside the database, of this entry and the previous entry's hash.
    Database triggers refuse every UPDATE except that one-time sealing, and every DELETE.
    """

    class Outcome(models.TextChoices):
        OK = "ok", _("done")
        DENIED = "denied", _("denied")
        FAILED = "failed", _("failed")

    seq = models.BigIntegerField(unique=True, null=True)  # empty until sealed
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    agency_id = models.BigIntegerField(null=True, db_index=True)
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.OK)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    case_id = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict, blank=True)
    # An HMAC of the entry's content (all but seq) made by the request that appended it: a row
    # inserted by anything else is found, sealed or not (casework/audit/chain.entry_mac).
    mac = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["case_id", "-id"], name="audit_case_id"),
            models.Index(fields=["actor", "-id"], name="audit_actor_id"),
            # What the sealer reads: the few entries not yet in the chain, in arrival order.
            models.Index(
                fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed"
            ),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq or '-'} {self.action}"


class AuditHead(models.Model):
    """The chain's last sealed link: the sealer's place. Locked only by the sealer (one at a
    time), never by a request; checkpoints outside the database say where it stood."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"head #{self.seq}"
