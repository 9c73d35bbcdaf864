"""Supervision's agency setting (history in casework/accounts/agency_settings.py): how long a
high-risk case may go without being discussed in supervision before the team page flags it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from casework.accounts.agency_settings import IntegerSetting, register

HIGH_RISK_DAYS = register(
    IntegerSetting(
        key="supervision.high_risk_days",
        label=gettext_lazy("High-risk cases are discussed in supervision at least every"),
        help_text=gettext_lazy(
            "The team page lists the team's open high-risk cases not discussed in a supervision "
            "session for longer than this."
        ),
        section=gettext_lazy("Case management"),
        default=30,
        minimum=1,
        maximum=365,
        unit=gettext_lazy("days"),
        order=30,
    )
)
