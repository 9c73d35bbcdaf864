"""Reads of referrals that the screens and the API share (writes are in services.py).

Each starts from the referral gate (casework/referrals/access.py).
"""

from __future__ import annotations

from casework.accounts.models import User
from casework.referrals import access
from casework.referrals.models import Referral, ReferralQuerySet

# Rows per page of the directory and of the inbox, on the screen and in the API.
PAGE_SIZE = 25


def received_by(user: User, *, status: str = "") -> ReferralQuerySet:
    """The referrals a partner user's organisation received, newest first (of one status if
    asked)."""
    received = access.visible_referrals(user).select_related("service", "organisation")
    if status:
        received = received.filter(status=status)
    return received.order_by("-sent_at", "-id")


def waiting_for(user: User) -> ReferralQuerySet:
    """What the inbox opens on: referrals not answered yet, or accepted and under way."""
    return received_by(user).filter(status__in=[Referral.Status.SENT, Referral.Status.ACCEPTED])
