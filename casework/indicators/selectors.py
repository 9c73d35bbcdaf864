"""Reads of indicator definitions that the report, the API and the commands share."""

from __future__ import annotations

from django.db.models import Q

from casework.indicators.definitions import IndicatorSpec
from casework.indicators.models import IndicatorDefinition


def load_specs(agency_id: int, codes: list[str] | None = None) -> list[IndicatorSpec]:
    """The active indicators an agency reports: the built-ins and its own, in display order."""
    rows = IndicatorDefinition.objects.filter(
        Q(agency_id=agency_id) | Q(agency__isnull=True), is_active=True
    ).order_by("position", "code")
    if codes:
        rows = rows.filter(code__in=codes)
    fields = [
        "code",
        "kind",
        "period_semantics",
        "population",
        "numerator",
        "measures",
        "disaggregations",
        "names",
    ]
    return [IndicatorSpec.from_values(values) for values in rows.values(*fields)]
