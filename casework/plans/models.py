"""Case action plans (seed 003 "How to develop a case action plan").

`CasePlan` is one version of a case's plan; a new version is a new row and earlier versions stay.
The case keeps a summary of its current plan (Case.plan_fold_hash, Case.plan_is_group) for the
INDIVIDUAL_PLAN indicator, maintained by casework.plans.services in the same transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.core.models import TimeStampedModel
from casework.vault.fields import EncryptedTextField


class CasePlan(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned with comments")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="plans")
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    planned_on = models.DateField(_("planned on"))
    # The plan's goals and actions as written (what INDIVIDUAL_PLAN compares between people).
    text = EncryptedTextField(_("the plan as written"), blank=True)
    fold_hash = models.CharField(max_length=64, blank=True, db_index=True)
    is_group = models.BooleanField(_("group plan"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("case plan")
        constraints = [
            models.UniqueConstraint(fields=["case", "version"], name="one_plan_version_per_case")
        ]
        ordering = ["case", "version"]

    def __str__(self) -> str:
        return f"plan v{self.version}"
