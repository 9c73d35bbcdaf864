from __future__ import annotations

import datetime
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from casework.accounts.models import ApiToken, User
from casework.audit.log import record

TOKEN_PREFIX = "cw_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create_token(user: User, *, by: User, name: str, days: int = 90) -> str:
    """Make a token and return it once; only its digest is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user,
        name=name,
        digest=_digest(token),
        prefix=token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8],
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )
    record("accounts.token.created", by=by, target=row)
    return token


def user_for_token(token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    row = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(token), revoked_at=None, expires_at__gt=now)
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > datetime.timedelta(minutes=5):
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user
