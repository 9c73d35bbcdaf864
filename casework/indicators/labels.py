"""Readable names for the codes reports are keyed by (keys stay codes in every export)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from casework.cases.models import RiskLevel
from casework.indicators.dimensions import DIMENSIONS, UNKNOWN, Dimension
from casework.people.models import MobilityStatus, Sex, YesNoUnknown

_CHOICES = {
    "sex": dict(Sex.choices),
    "mobility_status": dict(MobilityStatus.choices),
    "disability": dict(YesNoUnknown.choices),
    "risk_level": dict(RiskLevel.choices),
}
_REFERENCE = {
    "protection_concern": "ProtectionConcern",
    "programme": "Programme",
    "location_code": "Location",
    "adm1": "Location",
    "adm2": "Location",
    "adm3": "Location",
}


class Labels:
    """Looks each reference list up once per page (a few hundred short rows at most)."""

    def __init__(self, dimensions: dict[str, Dimension] | None = None) -> None:
        self._reference: dict[str, dict[str, str]] = {}
        # A report's agency-defined dimensions (`attr:<code>`), which name their own keys.
        self._dimensions = dimensions or {}

    def dimension(self, name: str) -> str:
        found = self._dimensions.get(name) or DIMENSIONS.get(name)
        return str(found.label) if found else name

    def _names(self, model_name: str) -> dict[str, str]:
        if model_name not in self._reference:
            from django.apps import apps

            model = apps.get_model("reference", model_name)
            self._reference[model_name] = {item.code: item.label for item in model.objects.all()}
        return self._reference[model_name]

    def key(self, dimension: str, key: str) -> str:
        if key == UNKNOWN:
            return _("Unknown")
        if dimension in _CHOICES:
            return str(_CHOICES[dimension].get(key, key))
        if dimension in _REFERENCE:
            return self._names(_REFERENCE[dimension]).get(key, key)
        if dimension in self._dimensions:
            return self._dimensions[dimension].label_of(key)
        return key

    def keys(self, dimensions: tuple[str, ...], key: tuple[str, ...]) -> str:
        return " × ".join(self.key(d, k) for d, k in zip(dimensions, key, strict=True))
