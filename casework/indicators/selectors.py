"""Reads of indicator definitions that the report, the API and the commands share."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from casework.accounts import agency_settings
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


def settings_in_force(agency_id: int, period: Any) -> list[agency_settings.InForce]:
    """The agency's settings as they stood at the end of the period's last day: what the
    report's figures were counted under (reasonable caseloads, closure approval, risk windows,
    the smallest count published …)."""
    end = timezone.make_aware(datetime.datetime.combine(period.end, datetime.time.max))
    return agency_settings.in_force(agency_id, min(end, timezone.now()))
