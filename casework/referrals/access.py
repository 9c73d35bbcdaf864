"""The gate to referrals and to the service directory.

A partner user reads and answers only the referrals addressed to a directory organisation linked
to their agency, and of those only the snapshot each referral shared: never a case. Staff read the
referrals of the cases they may read (casework/cases/access.py), and change those of the cases
they may write. A referral outside the scope is the same 404 as one that does not exist.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from casework.accounts.access import NOTHING, Requester, is_member, refusal, require_perm
from casework.accounts.roles import Perm, Role
from casework.audit.log import record
from casework.cases.access import visible_cases, writable_cases
from casework.core.http import as_id
from casework.referrals.models import Referral, ReferralQuerySet


def referral_scope(user: Requester, *, write: bool = False) -> Q:
    """The filter that limits a Referral queryset to what `user` may read (or answer/change)."""
    if not is_member(user):
        return NOTHING
    if user.role == Role.PARTNER:
        if not user.has_casework_perm(Perm.ANSWER_REFERRALS):
            return NOTHING
        return Q(organisation__agency_id=user.agency_id)
    cases = writable_cases(user) if write else visible_cases(user)
    return Q(case_id__in=cases.values("pk"))


def visible_referrals(user: Requester, *, write: bool = False) -> ReferralQuerySet:
    """Referral.objects limited to `user`'s scope."""
    return Referral.objects.filter(referral_scope(user, write=write))


def get_referral_for_user(
    user: Requester, referral_id: int | str | None, *, write: bool = False
) -> Referral:
    """The referral if `user` may read it (or answer/change it); otherwise a 404, audited.

    Every read is audited here, so a partner's reading of shared information is always logged
    against the case it came from.
    """
    pk = as_id(referral_id)
    member = user if is_member(user) else None
    referral = (
        visible_referrals(member, write=write)
        .select_related("service", "organisation", "consent", "sent_by", "sent_by__agency")
        .filter(pk=pk)
        .first()
    )
    if referral is None:
        raise refusal(
            "referrals.referral.denied",
            by=member,
            message=_("No such referral."),
            data={"referral": pk or None, "write": write},
        )
    if not write:
        record(
            "referrals.referral.viewed",
            by=member,
            target=referral,
            case_id=referral.case_id,
            data={"partner": member is not None and member.role == Role.PARTNER},
        )
    return referral


def may_use_directory(user: Requester) -> bool:
    """Staff who plan or oversee cases, and those who keep the directory; not partners."""
    if user is None or not user.is_authenticated:
        return False
    return (
        user.has_casework_perm(Perm.WORK_ON_CASES)
        or user.role == Role.PROGRAMME_MANAGER
        or user.has_casework_perm(Perm.MANAGE_CONFIGURATION)
    )


def require_directory(user: Requester) -> None:
    """The directory's pages and operations: the same audited 404 as any refused page."""
    if not may_use_directory(user):
        require_perm(user, Perm.WORK_ON_CASES)
