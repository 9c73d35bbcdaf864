"""The emergency purge of an agency (casework/retention/purge.py): each purge with the steps it
has done, and the two-person requests that start one from the screen."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# A second administrator confirms a purge requested on the screen within this time, or the
# request expires.
CONFIRM_WITHIN = datetime.timedelta(minutes=10)


class AgencyPurge(models.Model):
    """One purge of an agency's personal data. Each step is stamped when done, in the order
    done, so that a purge that was interrupted is finished by starting it again."""

    class Via(models.TextChoices):
        COMMAND = "command", _("Server command")
        SCREEN = "screen", _("Two administrators, on the screen")

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    via = models.CharField(max_length=8, choices=Via.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    # 0. The agency closed in the purge's first transaction: marked inactive, every user of it
    # deactivated, their sessions ended and API tokens revoked.
    closed_at = models.DateTimeField(null=True, blank=True)
    users_deactivated = models.PositiveIntegerField(default=0)
    # 0b. Before its keys go: the agency's values under keys it does not own (the instance's,
    # written before agency keys; another agency's, after a transfer in) moved to its own key,
    # and other agencies' values still under its keys (a transfer out) moved off them.
    prepared_at = models.DateTimeField(null=True, blank=True)
    values_moved = models.PositiveIntegerField(default=0)
    foreign_values_moved = models.PositiveIntegerField(default=0)
    # 1. The agency's data and blind-index keys deleted: from here nothing of it can be read.
    keys_destroyed_at = models.DateTimeField(null=True, blank=True)
    keys_destroyed = models.PositiveIntegerField(default=0)
    # 1c. The instance's keys replaced: a new instance data key, every surviving value still
    # under an old instance key re-encrypted with its owner's key, the name index rebuilt under
    # agency keys, then the old instance keys deleted, so that no key left (nor the new master)
    # opens what a backup holds of the agency under them. `instance_key_id`: the new key, kept
    # so that a resumed run does not make another.
    instance_key_id = models.PositiveIntegerField(null=True, blank=True)
    instance_keys_replaced_at = models.DateTimeField(null=True, blank=True)
    instance_values_moved = models.PositiveIntegerField(default=0)
    instance_keys_deleted = models.PositiveIntegerField(default=0)
    # 2. A new master key wraps the other agencies' keys; the old one is destroyed, so backups
    # taken before cannot be unwrapped. Empty when the master key is the operator's to replace.
    master_replaced_at = models.DateTimeField(null=True, blank=True)
    master_key_id = models.CharField(max_length=32, blank=True)
    # 3. What remains is swept: the name index deleted, values still readable blanked.
    swept_at = models.DateTimeField(null=True, blank=True)
    index_rows_deleted = models.PositiveIntegerField(default=0)
    values_blanked = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("emergency purge")
        constraints = [
            models.UniqueConstraint(
                fields=["agency"],
                condition=Q(finished_at__isnull=True),
                name="one_unfinished_purge_per_agency",
            )
        ]

    def __str__(self) -> str:
        return f"purge {self.pk} of agency {self.agency_id}"


class PurgeRequest(models.Model):
    """An administrator's request to purge their agency, waiting for a second administrator."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a second administrator")
        CONFIRMED = "confirmed", _("Confirmed: the agency was purged")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    purge = models.OneToOneField(
        AgencyPurge, null=True, blank=True, on_delete=models.PROTECT, related_name="request"
    )

    class Meta:
        verbose_name = _("purge request")
        indexes = [models.Index(fields=["agency", "status"], name="purge_request_agency_status")]

    def __str__(self) -> str:
        return f"purge request {self.pk}"

    @property
    def expires_at(self) -> datetime.datetime:
        return self.requested_at + CONFIRM_WITHIN

    def is_open(self, now: datetime.datetime) -> bool:
        return self.status == self.Status.PENDING and now < self.expires_at
