"""Reads of plans that the spot-check screens, the API and the services share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from casework.accounts.models import User
from casework.cases.models import ServiceType
from casework.core.periods import Period
from casework.plans import access, services
from casework.plans.models import CasePlan, NeedDomain, PlanAction, SpotCheck, SpotCheckSample


@dataclass(frozen=True)
class Candidate:
    """A plan that a sample may draw: its case, and the team and caseworker of the case."""

    plan_id: int
    case_id: int
    team_id: int | None
    caseworker_id: int | None


def plans_in_period(agency_id: int, period: Period, team_id: int | None = None) -> list[Candidate]:
    """The period's plans: for each case in case management during the period (the contract's
    INDIVIDUAL_PLAN denominator) with a plan by its end, the newest version dated by the end."""
    newer = CasePlan.objects.filter(
        case_id=OuterRef("case_id"),
        version__gt=OuterRef("version"),
        planned_on__lte=period.end,
    )
    plans = CasePlan.objects.filter(
        Q(case__closed_on__isnull=True) | Q(case__closed_on__gte=period.start),
        case__agency_id=agency_id,
        case__service_type=ServiceType.CASE_MANAGEMENT,
        case__registered_on__lte=period.end,
        case__planned_on__lte=period.end,
        planned_on__lte=period.end,
    ).exclude(Exists(newer))
    if team_id is not None:
        plans = plans.filter(case__team_id=team_id)
    return [
        Candidate(*row)
        for row in plans.order_by("case_id").values_list(
            "pk", "case_id", "case__team_id", "case__caseworker_id"
        )
    ]


def samples(user: User, period: Period | None = None) -> QuerySet[SpotCheckSample]:
    """The samples `user` may see, newest first, with how many plans each holds and has checked."""
    found = access.samples_for(user)
    if period is not None:
        found = found.filter(period_start=period.start, period_end=period.end)
    return (
        found.select_related("team", "drawn_by")
        .annotate(
            size=Count("checks"),
            checked=Count("checks", filter=Q(checks__checked_at__isnull=False)),
        )
        .order_by("-drawn_at", "-id")
    )


def checks_of(sample: SpotCheckSample) -> QuerySet[SpotCheck]:
    return sample.checks.select_related("case", "team", "caseworker", "checked_by").order_by(
        "team__name", "case__reference", "id"
    )


def plan_as_shown(user: User, check: SpotCheck) -> dict[str, Any]:
    """What a check shows of the sampled plan: its shape for everyone (version, status, dates,
    needs by domain, goals and actions counted, who is responsible, participation, what the
    individualisation check says), and its words only to a role that reads the case's plans."""
    readable = access.plan_for_check(user, check)
    plan = readable or check.plan
    flags = services.individualisation(plan)
    actions = list(plan.actions.all())
    domains = dict(NeedDomain.choices)
    responsible = dict(PlanAction.Responsible.choices)
    participation = getattr(plan, "participation", None)
    shown: dict[str, Any] = {
        "plan_id": plan.pk,
        "version": plan.version,
        "status": plan.status,
        "status_label": str(plan.get_status_display()),
        "planned_on": plan.planned_on,
        "needs": [str(domains.get(need.domain, need.domain)) for need in plan.needs.all()],
        "goals_count": plan.goals.count(),
        "actions_count": len(actions),
        "responsible": sorted(
            {str(responsible.get(a.responsible, a.responsible)) for a in actions}
        ),
        "participation": participation.get_ways_display() if participation else [],
        "client_agreed": participation.client_agreed if participation else None,
        "individualised": flags.individualised,
        "is_group": flags.is_group,
        "is_empty": flags.is_empty,
        "same_as_other_people": len(flags.same_as_case_ids),
        "near_copy_confirmed": flags.confirmed,
        "near_copy_pending": flags.pending,
        "shows_text": readable is not None,
        "goals": None,
        "actions": None,
        "summary": None,
    }
    if readable is not None:
        shown["goals"] = [goal.text for goal in readable.goals.all()]
        shown["actions"] = [action.description for action in actions]
        shown["summary"] = readable.summary
    return shown
