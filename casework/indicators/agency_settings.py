"""The smallest count a report publishes, an agency setting (history in
casework/accounts/agency_settings.py); its current value is the agency's `ReportingPolicy`."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from casework.accounts.agency_settings import IntegerSetting, register
from casework.indicators.models import DEFAULT_MIN_CELL, ReportingPolicy


def _apply(agency_id: int, value: int) -> None:
    ReportingPolicy.objects.update_or_create(agency_id=agency_id, defaults={"min_cell": value})


MIN_CELL = register(
    IntegerSetting(
        key="indicators.min_cell",
        label=gettext_lazy("Smallest count published"),
        help_text=gettext_lazy(
            "Counts from 1 to this number minus one are suppressed in every report."
        ),
        section=gettext_lazy("Reports"),
        default=DEFAULT_MIN_CELL,
        minimum=2,
        maximum=100,
        read=ReportingPolicy.min_cell_for,
        apply=_apply,
        order=50,
    )
)
