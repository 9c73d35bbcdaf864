"""Attributes an agency defines without code (seed 000: disaggregation "by any GESI field"):
choice lists about a person (ethnicity, language) or a case (displacement site).

A definition's choices are rows, ordered and retired, never deleted, so a value recorded once
keeps its meaning. A value is one row per (person or case, attribute). A non-sensitive value is
kept as the choice code, in clear, like sex or nationality. A sensitive one is kept encrypted
under the agency's key, beside a keyed grouping code (an HMAC of the choice code under the
agency's index key, as the name blind index): reports group by that column in SQL and never
decrypt anything; the grouping code of each known choice is computed in Python to name a group.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.vault.fields import EncryptedCharField

CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"


class Attribute(models.Model):
    class AppliesTo(models.TextChoices):
        PERSON = "person", _("Person")
        CASE = "case", _("Case")

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("code"), max_length=40)
    label = models.CharField(_("label"), max_length=100)
    applies_to = models.CharField(_("applies to"), max_length=10, choices=AppliesTo.choices)
    sensitive = models.BooleanField(
        _("sensitive"),
        default=False,
        help_text=_("Encrypted, and shown only to those who see the case's personal data."),
    )
    active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("attribute")
        ordering = ["label", "code"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "code"], name="attribute_code_per_agency")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def dimension_code(self) -> str:
        """Its name as a disaggregation of the indicator report."""
        return f"attr:{self.code}"


class AttributeChoice(models.Model):
    attribute = models.ForeignKey(Attribute, on_delete=models.PROTECT, related_name="choices")
    code = models.CharField(_("code"), max_length=40)
    label = models.CharField(_("label"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    # Retired, never deleted: values recorded with it keep their meaning and their group.
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("attribute choice")
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["attribute", "code"], name="attribute_choice_code")
        ]

    def __str__(self) -> str:
        return self.label


class AttributeValue(models.Model):
    """One value of one attribute for one person or one case (the other is empty)."""

    vault_agency: ClassVar[str | None] = "attribute__agency"

    attribute = models.ForeignKey(Attribute, on_delete=models.PROTECT, related_name="values")
    person = models.ForeignKey(
        "people.Person", null=True, on_delete=models.CASCADE, related_name="+"
    )
    case = models.ForeignKey("cases.Case", null=True, on_delete=models.CASCADE, related_name="+")
    # The choice code of a non-sensitive attribute; empty for a sensitive one.
    code = models.CharField(max_length=40, blank=True)
    # The choice code of a sensitive attribute, encrypted; and its keyed grouping code.
    sealed_code = EncryptedCharField(max_length=40, blank=True)
    grouping = models.CharField(max_length=64, blank=True)
    # Moved here from this (merged) person's record by a merge; moved back if it is undone.
    merged_from = models.ForeignKey(
        "people.Person", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("attribute value")
        constraints = [
            models.UniqueConstraint(
                fields=["attribute", "person"],
                condition=models.Q(person__isnull=False),
                name="attribute_value_per_person",
            ),
            models.UniqueConstraint(
                fields=["attribute", "case"],
                condition=models.Q(case__isnull=False),
                name="attribute_value_per_case",
            ),
            models.CheckConstraint(
                condition=(models.Q(person__isnull=False) & models.Q(case__isnull=True))
                | (models.Q(person__isnull=True) & models.Q(case__isnull=False)),
                name="attribute_value_of_person_or_case",
            ),
        ]

    def __str__(self) -> str:
        # Never the value: it may be sensitive.
        return f"{self.attribute.code} #{self.pk}"
