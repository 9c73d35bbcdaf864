"""The one gate to case data.

Every view, API operation, export and command loads cases through these functions (or
`Case.objects.visible_to(user)`, which applies `case_scope`). A case that does not exist and a
case the user may not see give the same 404, and the refusal is audited.

Scope by role (the roles themselves are defined in casework/accounts/roles.py):
- caseworker: cases assigned to them, and cases shared with them by an active grant;
- supervisor: every case of their team;
- programme manager: every case of their agency, read only, de-identified;
- M&E officer, partner, administrator without a case role: no case files at all
  (M&E officers read aggregates; partners read the referrals addressed to them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from casework.accounts.roles import Perm, Role

if TYPE_CHECKING:
    from casework.cases.models import Case, CaseQuerySet

NOTHING = Q(pk__in=[])


def _active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.agency_id)


def case_scope(user: Any, *, write: bool = False) -> Q:
    """The filter that limits a Case queryset to what `user` may read (or write)."""
    if not _active(user):
        return NOTHING
    from casework.cases.models import CaseGrant

    in_agency = Q(agency_id=user.agency_id)
    if user.role == Role.CASEWORKER:
        grants = CaseGrant.objects.filter(user_id=user.pk, revoked_at=None)
        if write:
            grants = grants.filter(can_write=True)
        # Grants are few: read them first, so the filter stays index-friendly (an OR with an
        # IN-subquery would make PostgreSQL scan every case).
        granted = list(grants.values_list("case_id", flat=True)[:1000])
        mine = Q(caseworker_id=user.pk)
        return in_agency & ((mine | Q(pk__in=granted)) if granted else mine)
    if user.role == Role.SUPERVISOR and user.team_id:
        return in_agency & Q(team_id=user.team_id)
    if user.role == Role.PROGRAMME_MANAGER and not write:
        return in_agency
    return NOTHING


def visible_cases(user: Any) -> CaseQuerySet:
    from casework.cases.models import Case

    return Case.objects.visible_to(user)


def writable_cases(user: Any) -> CaseQuerySet:
    from casework.cases.models import Case

    return Case.objects.writable_by(user)


def may_write(user: Any, case: Case) -> bool:
    """May `user` change `case`, a case already loaded? The same rule as `case_scope(write=True)`,
    read off the loaded row where it can be (a caseworker's own case, a supervisor's team), so
    that a page shows its forms without asking the database again."""
    if not _active(user) or case.agency_id != user.agency_id:
        return False
    if user.role == Role.CASEWORKER:
        if case.caseworker_id == user.pk:
            return True
        from casework.cases.models import CaseGrant

        return CaseGrant.objects.filter(
            user_id=user.pk, case_id=case.pk, revoked_at=None, can_write=True
        ).exists()
    if user.role == Role.SUPERVISOR and user.team_id:
        return bool(case.team_id == user.team_id)
    return False


def get_case_for_user(user: Any, case_id: Any, *, write: bool = False) -> Case:
    """The case, if `user` may read it (or write it); otherwise the same 404 as for no case.

    A read is audited here, so no page that shows a case file can forget to. A write is audited
    by the service that makes the change.
    """
    from casework.audit.log import record

    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        pk = 0
    queryset = writable_cases(user) if write else visible_cases(user)
    case = (
        queryset.select_related(
            "person", "programme", "primary_concern", "caseworker", "team", "location", "agency"
        )
        .filter(pk=pk)
        .first()
    )
    actor = user if _active(user) else None
    if case is None:
        record(
            "cases.case.denied",
            by=actor,
            case_id=pk or None,
            data={"write": write},
            outcome="denied",
        )
        raise Http404(_("No such case."))
    if not write:
        record("cases.case.viewed", by=user, target=case)
    return case


def require_perm(user: Any, perm: Perm) -> None:
    """404 (not 403) for a missing permission: a page's existence is not confirmed either."""
    if not _active(user) or not user.has_casework_perm(perm):
        from casework.audit.log import record

        record(
            "access.denied",
            by=user if _active(user) else None,
            data={"perm": str(perm)},
            outcome="denied",
        )
        raise Http404(_("Not found."))


def navigation_for(user: Any) -> dict[str, bool]:
    """Which sections the menu offers. Hiding a link is convenience; the gate is the control."""
    if not _active(user):
        return {}
    works_cases = user.has_casework_perm(Perm.WORK_ON_CASES)
    return {
        "caseload": user.role in (Role.CASEWORKER, Role.SUPERVISOR, Role.PROGRAMME_MANAGER),
        "register": user.has_casework_perm(Perm.REGISTER_CASES),
        "tasks": works_cases,
        "approvals": user.has_casework_perm(Perm.APPROVE_PLANS),
        "team": user.has_casework_perm(Perm.REASSIGN_IN_TEAM),
        "services": works_cases or user.role == Role.PROGRAMME_MANAGER,
        "indicators": user.has_casework_perm(Perm.VIEW_INDICATORS),
        "imports": user.has_casework_perm(Perm.IMPORT_CASES),
        # Row exports: supervisors and programme managers (casework.interchange.exporter).
        "exports": user.role in (Role.SUPERVISOR, Role.PROGRAMME_MANAGER),
        "referrals_inbox": user.has_casework_perm(Perm.ANSWER_REFERRALS),
        "administration": user.has_casework_perm(Perm.MANAGE_USERS),
    }


# === Referrals (maintained with casework/referrals) =============================================
# A partner user reads and answers only the referrals addressed to a directory organisation
# linked to their agency, and of those only the snapshot each referral shared: never a case. Staff
# read the referrals of the cases they may read, and change those of the cases they may write.
# A referral outside the scope is the same 404 as one that does not exist.


def referral_scope(user: Any, *, write: bool = False) -> Q:
    """The filter that limits a Referral queryset to what `user` may read (or answer/change)."""
    if not _active(user):
        return NOTHING
    if user.role == Role.PARTNER:
        if not user.has_casework_perm(Perm.ANSWER_REFERRALS):
            return NOTHING
        return Q(organisation__agency_id=user.agency_id)
    cases = writable_cases(user) if write else visible_cases(user)
    return Q(case_id__in=cases.values("pk"))


def visible_referrals(user: Any, *, write: bool = False) -> Any:
    """Referral.objects limited to `user`'s scope (a ReferralQuerySet)."""
    from casework.referrals.models import Referral

    return Referral.objects.filter(referral_scope(user, write=write))


def get_referral_for_user(user: Any, referral_id: Any, *, write: bool = False) -> Any:
    """The referral if `user` may read it (or answer/change it); otherwise a 404, audited.

    Every read is audited here, so a partner's reading of shared information is always logged
    against the case it came from.
    """
    from casework.audit.log import record

    try:
        pk = int(referral_id)
    except (TypeError, ValueError):
        pk = 0
    referral = (
        visible_referrals(user, write=write)
        .select_related("service", "organisation", "consent", "sent_by", "sent_by__agency")
        .filter(pk=pk)
        .first()
    )
    actor = user if _active(user) else None
    if referral is None:
        record(
            "referrals.referral.denied",
            by=actor,
            data={"referral": pk or None, "write": write},
            outcome="denied",
        )
        raise Http404(_("No such referral."))
    if not write:
        record(
            "referrals.referral.viewed",
            by=user,
            target=referral,
            case_id=referral.case_id,
            data={"partner": user.role == Role.PARTNER},
        )
    return referral
