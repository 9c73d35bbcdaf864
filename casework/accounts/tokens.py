"""API tokens: made after a fresh second factor, scoped, short-lived, revocable, bound to sessions.

- *Made* by their owner (or, for a service account, by an administrator of its agency) from the
  tokens screen, after typing a current two-factor code where the agency requires two-factor
  sign-in; or by an operator at the server with `casework token create`. Shown once; only the
  SHA-256 digest is kept.
- *Scoped*: read (GET), write (every other method) and export (operations that hand out data in
  bulk, which declare `EXPORT_AUTH`). A token without the scope an operation needs gets 403
  `insufficient_scope`.
- *Short-lived*: its expiry is chosen when it is made, at most `MAX_DAYS`.
- *Bound* to the owner's session generation (`User.session_generation`): ending the owner's
  sessions, a new password or a two-factor reset voids every token of the owner at once; so
  does deactivating the owner, and a token of someone who owes a second factor they never set up
  does not work. The database holds this state, so it holds on every server at the same moment.

Bearer requests carry no cookie, so they are not subject to CSRF (`BearerToken` is tried before
the session); session requests still are.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from casework.accounts import mfa
from casework.accounts.models import ApiToken, User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.audit.models import AuditEntry
from casework.core.errors import CaseworkError, NotAllowed

TOKEN_PREFIX = "cw_"
MAX_DAYS = 90
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Scope = ApiToken.Scope


class TokenRefused(CaseworkError):
    code = "token_refused"


class InsufficientScope(NotAllowed):
    code = "insufficient_scope"


def _new_token() -> str:
    """A new token whose visible prefix never starts with "-": an operator types it to
    `casework token revoke PREFIX`, where it would read as an option."""
    while True:
        body = secrets.token_urlsafe(32)
        if not body.startswith("-"):
            return TOKEN_PREFIX + body


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_scopes(scopes: Iterable[str]) -> list[str]:
    chosen = [scope for scope in Scope.values if scope in set(scopes)]
    if not chosen:
        raise TokenRefused(_("Choose at least one scope: read, write or export."), field="scopes")
    unknown = set(scopes) - set(Scope.values)
    if unknown:
        raise TokenRefused(
            _("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(sorted(unknown))},
            field="scopes",
        )
    return chosen


def may_create_token_for(owner: User, *, by: User | None) -> bool:
    """A person makes their own tokens; an administrator makes them only for the agency's
    service accounts (never a colleague's: that would be acting as them). `None` is an operator
    at the server (the command)."""
    if by is None:
        return True
    if by.pk == owner.pk:
        return not owner.is_service_account
    return owner.is_service_account and may_manage_tokens_of(owner, by=by)


def may_manage_tokens_of(owner: User, *, by: User | None) -> bool:
    """Who may see and revoke a token: its owner, and an administrator of the owner's agency.
    `None` is an operator at the server (the command)."""
    if by is None:
        return True
    if by.pk == owner.pk and not owner.is_service_account:
        return True
    return (
        by.is_active
        and by.has_casework_perm(Perm.MANAGE_USERS)
        and by.agency_id is not None
        and by.agency_id == owner.agency_id
    )


def create_token(
    *,
    owner: User,
    by: User | None,
    name: str,
    scopes: Iterable[str],
    days: int,
    second_factor: str = "",
) -> str:
    """Make a token for `owner` and return it (once). `by` is who asks: the owner, an
    administrator of the owner's agency for a service account, or None for the command.

    Where `by` must use two-factor sign-in, `second_factor` must be a current code from their
    authenticator (or a recovery code): a session left open, or a stolen password, is not enough
    to mint a way into the API.
    """
    if not may_create_token_for(owner, by=by):
        raise NotAllowed(_("You may not make tokens for this account."))
    if not owner.is_active:
        raise TokenRefused(_("This account is deactivated."))
    chosen = _check_scopes(scopes)
    name = name.strip()
    if not name:
        raise TokenRefused(
            _("Give the token a name, so that you recognise it later."), field="name"
        )
    if not 1 <= days <= MAX_DAYS:
        raise TokenRefused(
            _("A token lasts from 1 to %(max)d days.") % {"max": MAX_DAYS}, field="days"
        )
    if owner.must_use_mfa and not mfa.has_authenticator(owner):
        raise TokenRefused(_("Set up two-factor sign-in before making API tokens."))
    if by is not None and by.must_use_mfa:
        # mfa.verify audits the check and commits a refusal before raising it.
        mfa.verify(by, code=second_factor)
    token = _new_token()
    with transaction.atomic():
        generation = User.objects.filter(pk=owner.pk).values_list("session_generation", flat=True)
        row = ApiToken.objects.create(
            user=owner,
            name=name[:100],
            digest=_digest(token),
            prefix=token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8],
            scopes=" ".join(chosen),
            generation=generation.get(),
            created_by=by,
            expires_at=timezone.now() + datetime.timedelta(days=days),
        )
        record(
            "accounts.token.created",
            by=by,
            target=row,
            agency_id=owner.agency_id,
            data={"owner": owner.pk, "scopes": chosen, "days": days, "via": _via(by)},
        )
    return token


def _via(by: User | None) -> str:
    return "command" if by is None else "screen"


@transaction.atomic
def revoke_token(row: ApiToken, *, by: User | None, reason: str = "revoked") -> None:
    if not may_manage_tokens_of(row.user, by=by):
        raise NotAllowed(_("You may not revoke this token."))
    if row.revoked_at is not None:
        return
    ApiToken.objects.filter(pk=row.pk, revoked_at=None).update(
        revoked_at=timezone.now(), revoked_by=by, revoke_reason=reason
    )
    row.refresh_from_db()
    record(
        "accounts.token.revoked",
        by=by,
        target=row,
        agency_id=row.user.agency_id,
        data={"reason": reason},
    )


def revoke_all(owner: User, *, by: User | None, reason: str) -> int:
    """Revoke every live token of `owner`, and every token `owner` made for a service account
    (they saw it in clear), in the caller's transaction; one audit entry."""
    count = ApiToken.objects.filter(Q(user=owner) | Q(created_by=owner), revoked_at=None).update(
        revoked_at=timezone.now(), revoked_by=by, revoke_reason=reason
    )
    if count:
        record(
            "accounts.token.revoked_all",
            by=by,
            target=owner,
            data={"reason": reason, "count": count},
        )
    return count


def is_live(row: ApiToken, *, now: datetime.datetime | None = None) -> bool:
    """Whether the token would be accepted now (scopes aside)."""
    now = now or timezone.now()
    owner = row.user
    return (
        row.revoked_at is None
        and row.expires_at > now
        and owner.is_active
        and row.generation == owner.session_generation
        and owner.agency_id is not None
    )


def tokens_managed_by(by: User) -> QuerySet[ApiToken]:
    """Every token of the administrator's agency's accounts (owners and service accounts)."""
    if by.agency_id is None or not by.has_casework_perm(Perm.MANAGE_USERS):
        return ApiToken.objects.none()
    return (
        ApiToken.objects.filter(user__agency_id=by.agency_id)
        .select_related("user", "created_by")
        .order_by("-created_at")
    )


def tokens_of(owner: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=owner).select_related("user").order_by("-created_at")


REFUSAL_AUDIT_EVERY = 600


def _refuse(row: ApiToken, reason: str) -> None:
    """Audit a refused token once per token and reason every ten minutes: a client retrying a
    revoked token in a loop must not fill the append-only trail."""
    if not cache.add(f"cw:token-refused:{row.pk}:{reason}", 1, REFUSAL_AUDIT_EVERY):
        return
    record(
        "accounts.token.refused",
        by=None,
        target=row,
        agency_id=row.user.agency_id,
        data={"reason": reason},
        outcome=AuditEntry.Outcome.DENIED,
    )


def user_for_token(token: str, *, scope: str) -> User | None:
    """The owner of a live token that has `scope`; None if the token does not work (audited
    for a token that exists). Raises `InsufficientScope` for a live token without the scope."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = (
        ApiToken.objects.select_related("user", "user__agency")
        .filter(digest=_digest(token))
        .first()
    )
    if row is None:
        return None
    now = timezone.now()
    owner = row.user
    if not is_live(row, now=now):
        _refuse(
            row, "revoked" if row.revoked_at else "expired" if row.expires_at <= now else "void"
        )
        return None
    if owner.must_use_mfa and not mfa.has_authenticator(owner):
        _refuse(row, "no_second_factor")
        return None
    if scope not in row.scope_list:
        _refuse(row, f"scope_{scope}")
        raise InsufficientScope(
            _("This token may not %(scope)s. Make a token with that scope.")
            % {"scope": Scope(scope).label}
        )
    if row.last_used_at is None or now - row.last_used_at > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return owner


class BearerToken(HttpBearer):
    """`Authorization: Bearer cw_…`. Tried before the session, so a token request is never
    refused for want of a CSRF token (it carries no cookie an attacker's page could ride on).

    `scope` is what the operation needs beyond its method: "export" for bulk hand-outs;
    otherwise read for GET/HEAD/OPTIONS and write for every other method.
    """

    def __init__(self, scope: str | None = None) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        needed = self.scope or ("read" if request.method in SAFE_METHODS else "write")
        user = user_for_token(token, scope=needed)
        if user is not None:
            request.user = user
        return user


API_AUTH = [BearerToken(), SessionAuth(csrf=True)]
EXPORT_AUTH = [BearerToken(scope="export"), SessionAuth(csrf=True)]
# A POST that only reads (a search sent by POST so that names stay out of URLs).
READ_AUTH = [BearerToken(scope="read"), SessionAuth(csrf=True)]
