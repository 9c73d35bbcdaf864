"""Logins, logouts and failed logins are audited wherever they happen (forms, admin, API)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from casework.audit.log import record
from casework.audit.models import AuditEntry


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("accounts.login", by=user, target=user)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record("accounts.logout", by=user, target=user)


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    # The typed username is not stored (it may be a mistyped password); a known account is linked.
    username = credentials.get("username") or ""
    user = get_user_model().objects.filter(username=username).only("id", "agency_id").first()
    record(
        "accounts.login_failed",
        by=None,
        target=user,
        agency_id=user.agency_id if user is not None else None,
        outcome=AuditEntry.Outcome.FAILED,
    )
