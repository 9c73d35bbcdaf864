"""The retention period, an agency setting (history in casework/accounts/agency_settings.py);
its current value is `Agency.retention_days`, which the daily retention job reads."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from casework.accounts.agency_settings import IntegerSetting, register
from casework.accounts.models import Agency


def _read(agency_id: int) -> int:
    return int(Agency.objects.filter(pk=agency_id).values_list("retention_days", flat=True).get())


def _apply(agency_id: int, value: int) -> None:
    Agency.objects.filter(pk=agency_id).update(retention_days=value)


RETENTION_DAYS = register(
    IntegerSetting(
        key="retention.days",
        label=gettext_lazy("Retention period"),
        help_text=gettext_lazy(
            "Personal data is anonymised this many days after a person's last case closed."
        ),
        section=gettext_lazy("Data protection"),
        default=7 * 365,
        minimum=30,
        maximum=50 * 365,
        unit=gettext_lazy("days"),
        read=_read,
        apply=_apply,
        order=40,
    )
)
