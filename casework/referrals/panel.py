"""The referrals section of the case page."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from casework.accounts.models import User
from casework.cases.models import Case
from casework.referrals.models import NoReferralNeeded, Referral, UnmetNeed


def context(case: Case, user: User, can_write: bool) -> dict[str, Any]:
    """The referrals section of the case page: three queries whatever the number of referrals."""
    referrals = list(
        Referral.objects.filter(case=case)
        .select_related("service", "organisation")
        .order_by("-sent_at", "-id")
    )
    not_needed = list(NoReferralNeeded.objects.filter(case=case).order_by("-recorded_at", "-id"))
    unmet_needs = list(UnmetNeed.objects.filter(case=case).order_by("-recorded_at", "-id"))
    return {
        "referrals": referrals,
        "not_needed": not_needed,
        "unmet_needs": unmet_needs,
        "can_refer": can_write and case.is_open,
        "now": timezone.now(),
    }
