"""The gate to case plans: a plan is read and changed through its case's gate
(casework/cases/access.py), and decided on only by a supervisor of the case's own team.

A plan of a case the user may not see, a plan of another case than the one in the URL and a plan
that does not exist are the same 404.

Spot checks (seed 001, verification 3): an M&E officer draws samples of her agency's plans and a
supervisor of his team's (Perm.VERIFY_PLANS); each sees the samples of that scope and records
their checks. What a check shows of the plan follows the role: a supervisor sees his team's plans
as on the plan page (an audited read of the case), an M&E officer no personal data.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from casework.accounts.access import require_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm, Role, Sensitive
from casework.cases import access as case_access
from casework.cases.models import Case
from casework.core.http import as_id
from casework.plans.models import CasePlan, SpotCheck, SpotCheckSample


def can_decide(case: Case, user: User) -> bool:
    """A supervisor (APPROVE_PLANS) of the case's own team decides on its plans."""
    return bool(
        user.has_casework_perm(Perm.APPROVE_PLANS)
        and user.team_id is not None
        and user.agency_id == case.agency_id
        and user.team_id == case.team_id
    )


def plan_of_case(case: Case, plan_id: int | str | None) -> CasePlan:
    """A plan of a case already loaded through the gate (404 for a plan of another case)."""
    plan = CasePlan.objects.filter(case=case, pk=as_id(plan_id)).first()
    if plan is None:
        raise Http404(_("No such plan."))
    plan.case = case
    return plan


def get_plan_for_user(user: User, plan_id: int | str | None, *, write: bool = False) -> CasePlan:
    """The plan, if `user` may read (or write) its case; the case's read is audited there."""
    case_id = CasePlan.objects.filter(pk=as_id(plan_id)).values_list("case_id", flat=True).first()
    case = case_access.get_case_for_user(user, case_id or 0, write=write)
    return plan_of_case(case, plan_id)


def get_case_for_decider(user: User, case_id: int | str | None) -> Case:
    """The case, if `user` is a supervisor of its team; the same 404 as for no case otherwise."""
    require_perm(user, Perm.APPROVE_PLANS)
    case = case_access.get_case_for_user(user, case_id)
    if not can_decide(case, user):
        raise Http404(_("No such case."))
    return case


def get_plan_for_decider(user: User, plan_id: int | str | None) -> CasePlan:
    """The plan, if `user` may decide on it; the same 404 as for no plan otherwise."""
    require_perm(user, Perm.APPROVE_PLANS)
    plan = get_plan_for_user(user, plan_id)
    if not can_decide(plan.case, user):
        raise Http404
    return plan


# --- spot checks ------------------------------------------------------------------------------


def verification_team(user: User) -> int | None:
    """The team whose plans `user` samples: a supervisor's own; None for the whole agency."""
    return user.team_id if user.role == Role.SUPERVISOR else None


def sample_scope(user: User) -> Q:
    """The samples `user` may see and check (404 without Perm.VERIFY_PLANS)."""
    require_perm(user, Perm.VERIFY_PLANS)
    scope = Q(agency_id=user.agency_id)
    if user.role == Role.SUPERVISOR:
        if not user.team_id:
            return Q(pk__in=[])
        scope &= Q(team_id=user.team_id)
    return scope


def samples_for(user: User) -> QuerySet[SpotCheckSample]:
    return SpotCheckSample.objects.filter(sample_scope(user))


def get_sample_for_user(user: User, sample_id: int | str | None) -> SpotCheckSample:
    sample = samples_for(user).filter(pk=as_id(sample_id)).first()
    if sample is None:
        raise Http404(_("No such sample."))
    return sample


def get_spot_check_for_user(user: User, check_id: int | str | None) -> SpotCheck:
    scope = sample_scope(user)
    check = (
        SpotCheck.objects.filter(
            pk=as_id(check_id), sample__in=SpotCheckSample.objects.filter(scope)
        )
        .select_related("sample", "plan", "case", "team", "caseworker", "checked_by")
        .first()
    )
    if check is None:
        raise Http404(_("No such spot check."))
    return check


def plan_for_check(user: User, check: SpotCheck) -> CasePlan | None:
    """The sampled plan with its text when `user` may read it (a supervisor of the case's team;
    the read of the case is audited), else None: the check then shows no personal data."""
    if not user.sees(Sensitive.FREE_TEXT):
        return None
    if not case_access.visible_cases(user).filter(pk=check.case_id).exists():
        return None
    case = case_access.get_case_for_user(user, check.case_id)
    return plan_of_case(case, check.plan_id)
