"""Who may do what, before any record is loaded: permissions and the menu.

Each kind of protected data has its own gate beside its models, built on these helpers:
casework/cases/access.py (cases), casework/referrals/access.py (referrals and the directory),
casework/plans/access.py (plans), casework/worklist/access.py (tasks). This module knows roles
(casework/accounts/roles.py) and nothing of any domain app.

Two answers to a refusal, on purpose:
- `require_perm`: a page or operation the user's role does not offer is a 404, audited, so its
  existence is not confirmed either;
- `check_perm`: a service refusing an action on a record the user may see is a 403
  `NotAllowed`, with a message saying why (the user could see the record, so nothing leaks).
"""

from __future__ import annotations

from typing import Any, TypeAlias, TypeGuard

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from casework.accounts.models import User
from casework.accounts.roles import Perm, Role
from casework.audit.log import record
from casework.core.errors import NotAllowed

# Whoever made a request: a gate also answers an anonymous visitor (with nothing, or a 404).
Requester: TypeAlias = "User | AnonymousUser | None"

# A filter that matches no row: the scope of someone who may see nothing.
NOTHING = Q(pk__in=[])


def is_member(user: Requester) -> TypeGuard[User]:
    """Signed in, active and in an agency: the least anyone needs to reach any case data.
    (Also false for an anonymous user, or none at all, so callers may pass request.user.)"""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and getattr(user, "agency_id", None)
    )


def require_perm(user: Requester, perm: Perm) -> User:
    """404 (not 403) for a missing permission: a page's existence is not confirmed either.
    Returns the user, now known to be a signed-in member of an agency."""
    if is_member(user) and user.has_casework_perm(perm):
        return user
    raise refusal("access.denied", by=user, data={"perm": str(perm)})


def refusal(
    action: str,
    *,
    by: Requester,
    message: str | None = None,
    case_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Http404:
    """Audit a refusal and give the 404 to raise: the same answer as for a record or page that
    does not exist, so nothing is confirmed, while the audit trail keeps who tried."""
    record(
        action,
        by=by if is_member(by) else None,
        case_id=case_id,
        data=data,
        outcome="denied",
    )
    return Http404(message or _("Not found."))


def agency_of(user: User) -> int:
    """The agency of a user the gate let through (it lets none without one); the same 404 as
    `require_perm`'s otherwise."""
    if user.agency_id is None:
        raise Http404(_("Not found."))
    return user.agency_id


def check_perm(user: User | None, perm: Perm) -> None:
    """Refuse (403 `NotAllowed`) an action the user's role does not allow, on a record the user
    may see. `None` is the system (a scheduled job), which acts for the agency."""
    if user is not None and not user.has_casework_perm(perm):
        raise NotAllowed(_("Your role does not allow this."))


def navigation_for(user: Requester) -> dict[str, bool]:
    """Which sections the menu offers. Hiding a link is convenience; the gate is the control."""
    if not is_member(user):
        return {}
    works_cases = user.has_casework_perm(Perm.WORK_ON_CASES)
    return {
        "caseload": user.role in (Role.CASEWORKER, Role.SUPERVISOR, Role.PROGRAMME_MANAGER),
        "register": user.has_casework_perm(Perm.REGISTER_CASES),
        "tasks": works_cases,
        "surveys": works_cases,
        "supervision": works_cases,
        "approvals": user.has_casework_perm(Perm.APPROVE_PLANS),
        "team": user.has_casework_perm(Perm.REASSIGN_IN_TEAM),
        "duplicates": user.has_casework_perm(Perm.MERGE_PERSONS),
        "services": works_cases or user.role == Role.PROGRAMME_MANAGER,
        "indicators": user.has_casework_perm(Perm.VIEW_INDICATORS),
        "spot_checks": user.has_casework_perm(Perm.VERIFY_PLANS),
        "imports": user.has_casework_perm(Perm.IMPORT_CASES),
        # Row exports: supervisors and programme managers (casework.interchange.exporter).
        "exports": user.role in (Role.SUPERVISOR, Role.PROGRAMME_MANAGER),
        "referrals_inbox": user.has_casework_perm(Perm.ANSWER_REFERRALS),
        "administration": user.has_casework_perm(Perm.MANAGE_USERS),
        "matching": user.has_casework_perm(Perm.MANAGE_CONFIGURATION),
        "audit_log": user.has_casework_perm(Perm.VIEW_AUDIT_LOG),
        "data_requests": user.has_casework_perm(Perm.HANDLE_DATA_REQUESTS),
    }
