"""Configurable lists: admin areas, programmes, protection concerns.

Each item has a stable code (what imports, exports and indicators use) and a name per language.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class LabelledItem(models.Model):
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    # {"fr": "…", "ar": "…"}: names in other languages; English (name) is the fallback.
    names = models.JSONField(_("names in other languages"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        language = (get_language() or "en").split("-")[0]
        return str(self.names.get(language) or self.name)


class Programme(LabelledItem):
    class Meta(LabelledItem.Meta):
        verbose_name = _("programme")


class ProtectionConcern(LabelledItem):
    class Meta(LabelledItem.Meta):
        verbose_name = _("protection concern")


class Location(LabelledItem):
    """An administrative area. Level 1 is the largest (region), 3 the smallest (district)."""

    class Level(models.IntegerChoices):
        ADM1 = 1, _("Admin level 1")
        ADM2 = 2, _("Admin level 2")
        ADM3 = 3, _("Admin level 3")

    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, default=1)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Codes of this area and its ancestors, denormalised so indicators can group by any level
    # without a recursive query.
    adm1_code = models.CharField(max_length=40, blank=True, db_index=True)
    adm2_code = models.CharField(max_length=40, blank=True, db_index=True)
    adm3_code = models.CharField(max_length=40, blank=True, db_index=True)

    class Meta(LabelledItem.Meta):
        verbose_name = _("location")

    def ancestor_codes(self) -> dict[int, str]:
        codes = {1: self.adm1_code, 2: self.adm2_code, 3: self.adm3_code}
        return {level: code for level, code in codes.items() if code}
