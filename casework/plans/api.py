"""/api/v1/plans: the same operations as the plan screens, calling the same services.

A plan is reached through its case, so every operation loads the case through the access gate;
a plan the caller may not see is a 404, exactly as if it did not exist. Free text (goals, actions,
the plan's prose, comments) is sent only to roles that see free text; others get null.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.models import User
from casework.accounts.roles import Perm, Sensitive
from casework.cases import access
from casework.cases.models import Case
from casework.core.api import (
    READ_LATER,
    DocumentedAs,
    RawBody,
    answers,
    check_version,
    checked_body,
    if_match,
    send_version,
)
from casework.plans import access as plan_access
from casework.plans import services, similarity, verification_api
from casework.plans.models import (
    CasePlan,
    GoalProgress,
    Participation,
    ParticipationWay,
    PlanGoal,
    PlanMatch,
)

router = Router(tags=["plans"])


# --- schemas ------------------------------------------------------------------------------------


class NeedIn(Schema):
    domain: str
    description: str = ""
    id: int | None = None


class GoalIn(Schema):
    text: str
    term: PlanGoal.Term = PlanGoal.Term.SHORT
    domain: str = ""
    id: int | None = None
    ref: str = ""


class ActionIn(Schema):
    description: str
    responsible: str
    responsible_name: str = ""
    due_on: datetime.date | None = None
    status: str = "planned"
    goal: str = ""  # the goal's `ref`, or its number (1 = the first goal) in this request
    id: int | None = None


class PlanIn(Schema):
    planned_on: datetime.date | None = None
    is_group: bool = False
    summary: str = ""
    client_responsibilities: str = ""
    caseworker_responsibilities: str = ""
    safety_plan: str = ""
    referrals: str = ""
    follow_up_schedule: str = ""
    next_review_on: datetime.date | None = None
    supervision_notes: str = ""
    needs: list[NeedIn] = []
    goals: list[GoalIn] = []
    actions: list[ActionIn] = []


class RevisionIn(Schema):
    planned_on: datetime.date | None = None


class ParticipationIn(Schema):
    ways: list[ParticipationWay] = []
    client_views: str = ""
    told_right_to_decline: bool = False
    declined_services: str = ""
    client_agreed: bool | None = None
    agreed_on: datetime.date | None = None
    caregiver_involved: bool | None = None
    caregiver_ways: list[ParticipationWay] = []
    caregiver_agreed: bool | None = None
    caregiver_agreed_on: datetime.date | None = None
    caregiver_not_involved_reason: str = ""


class DecisionIn(Schema):
    decision: Literal["approve", "return"]
    comment: str = ""


class GoalProgressIn(Schema):
    goal_id: int
    progress: GoalProgress.Progress
    note: str = ""


class ActionStatusIn(Schema):
    action_id: int
    status: str


class ReviewIn(Schema):
    reviewed_on: datetime.date | None = None
    summary: str = ""
    next_review_on: datetime.date | None = None
    goals: list[GoalProgressIn]
    actions: list[ActionStatusIn] = []


class MatchDecisionIn(Schema):
    decision: Literal["confirmed", "dismissed"]
    note: str = ""


class PlanSummaryOut(Schema):
    id: int
    case_id: int
    version: int
    status: str
    planned_on: datetime.date
    is_group: bool
    submitted_at: datetime.datetime | None


class QueueItemOut(PlanSummaryOut):
    case_reference: str
    caseworker: str | None
    name: str | None = None


class MatchOut(Schema):
    id: int
    plan_id: int
    other_plan_id: int
    other_case_id: int | None  # null when the caller may not open the other case
    score: int
    decision: str
    decided_by: str | None
    decided_at: datetime.datetime | None
    note: str | None


class IndividualisationOut(Schema):
    individualised: bool
    is_group: bool
    is_empty: bool
    same_as_other_people: int
    same_as_case_ids: list[int]  # those of them the caller may open
    near_duplicate_pending: bool
    near_duplicate_confirmed: bool
    matches: list[MatchOut]


class CheckOut(Schema):
    plan_id: int
    individualised: bool
    reasons: list[str]
    threshold: int
    candidates: int
    same_as_other_people: int
    similar: list[dict[str, int]]


class PlanOut(PlanSummaryOut):
    revision: int
    is_current: bool
    next_review_on: datetime.date | None
    created_by: str | None
    text: str | None
    summary: str | None
    client_responsibilities: str | None
    caseworker_responsibilities: str | None
    safety_plan: str | None
    referrals: str | None
    follow_up_schedule: str | None
    supervision_notes: str | None
    needs: list[dict[str, Any]]
    goals: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    participation: dict[str, Any] | None
    decisions: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    individualisation: IndividualisationOut


# --- loading through the gate -------------------------------------------------------------------


# --- shaping output by what the caller may see --------------------------------------------------


def _summary(plan: CasePlan) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "case_id": plan.case_id,
        "version": plan.version,
        "status": plan.status,
        "planned_on": plan.planned_on,
        "is_group": plan.is_group,
        "submitted_at": plan.submitted_at,
    }


def _match(
    match: PlanMatch, plan: CasePlan, visible: set[int], *, shows_text: bool
) -> dict[str, Any]:
    other = match.other_plan if match.plan_id == plan.pk else match.plan
    return {
        "id": match.pk,
        "plan_id": match.plan_id,
        "other_plan_id": other.pk,
        "other_case_id": other.case_id if other.case_id in visible else None,
        "score": match.score,
        "decision": match.decision,
        "decided_by": match.decided_by.username if match.decided_by else None,
        "decided_at": match.decided_at,
        "note": match.note if shows_text else None,
    }


def _individualisation(plan: CasePlan, user: User) -> dict[str, Any]:
    flags = services.individualisation(plan)
    other_ids = set(flags.same_as_case_ids)
    for match in flags.matches:
        other_ids |= {match.plan.case_id, match.other_plan.case_id}
    visible = set(access.visible_cases(user).filter(pk__in=other_ids).values_list("pk", flat=True))
    shows_text = user.sees(Sensitive.FREE_TEXT)
    matches = [_match(match, plan, visible, shows_text=shows_text) for match in flags.matches]
    return {
        "individualised": flags.individualised,
        "is_group": flags.is_group,
        "is_empty": flags.is_empty,
        "same_as_other_people": len(flags.same_as_case_ids),
        "same_as_case_ids": [pk for pk in flags.same_as_case_ids if pk in visible],
        "near_duplicate_pending": flags.pending,
        "near_duplicate_confirmed": flags.confirmed,
        "matches": matches,
    }


def _participation(participation: Participation | None, text: bool) -> dict[str, Any] | None:
    if participation is None:
        return None
    return {
        "ways": participation.ways,
        "client_views": participation.client_views if text else None,
        "told_right_to_decline": participation.told_right_to_decline,
        "declined_services": participation.declined_services if text else None,
        "client_agreed": participation.client_agreed,
        "agreed_on": participation.agreed_on,
        "caregiver_involved": participation.caregiver_involved,
        "caregiver_ways": participation.caregiver_ways,
        "caregiver_agreed": participation.caregiver_agreed,
        "caregiver_agreed_on": participation.caregiver_agreed_on,
        "caregiver_not_involved_reason": participation.caregiver_not_involved_reason
        if text
        else None,
        "recorded_by": participation.recorded_by.username,
    }


def _detail(plan: CasePlan, user: User) -> dict[str, Any]:
    text = user.sees(Sensitive.FREE_TEXT)

    def shown(value: str) -> str | None:
        return value if text else None

    goals = list(plan.goals.all())
    numbers = {goal.pk: position for position, goal in enumerate(goals, start=1)}
    reviews = plan.reviews.select_related("by").prefetch_related(
        Prefetch("progress", queryset=GoalProgress.objects.order_by("id")),
        "action_updates",
    )
    participation = Participation.objects.filter(plan=plan).select_related("recorded_by").first()
    return _summary(plan) | {
        "revision": plan.revision,
        "is_current": services.is_current(plan),
        "next_review_on": plan.next_review_on,
        "created_by": plan.created_by.username if plan.created_by else None,
        "text": shown(plan.text),
        **{name: shown(getattr(plan, name)) for name in services.PROSE_FIELDS},
        "needs": [
            {"id": n.pk, "domain": n.domain, "description": shown(n.description)}
            for n in plan.needs.all()
        ],
        "goals": [
            {
                "id": g.pk,
                "number": numbers[g.pk],
                "term": g.term,
                "domain": g.domain,
                "text": shown(g.text),
            }
            for g in goals
        ],
        "actions": [
            {
                "id": a.pk,
                "goal_id": a.goal_id,
                "goal_number": numbers.get(a.goal_id or 0),
                "description": shown(a.description),
                "responsible": a.responsible,
                "responsible_name": shown(a.responsible_name),
                "due_on": a.due_on,
                "status": a.status,
            }
            for a in plan.actions.all()
        ],
        "participation": _participation(participation, text),
        "decisions": [
            {"kind": d.kind, "by": d.by.username, "at": d.at, "comment": shown(d.comment)}
            for d in plan.decisions.select_related("by")
        ],
        "reviews": [
            {
                "id": r.pk,
                "reviewed_on": r.reviewed_on,
                "by": r.by.username,
                "summary": shown(r.summary),
                "next_review_on": r.next_review_on,
                "goals": [
                    {"goal_id": p.goal_id, "progress": p.progress, "note": shown(p.note)}
                    for p in r.progress.all()
                ],
                "actions": [
                    {"action_id": u.action_id, "from": u.from_status, "to": u.to_status}
                    for u in r.action_updates.all()
                ],
            }
            for r in reviews
        ],
        "individualisation": _individualisation(plan, user),
    }


def _content(payload: PlanIn) -> services.PlanContent:
    return services.PlanContent(
        planned_on=payload.planned_on,
        is_group=payload.is_group,
        next_review_on=payload.next_review_on,
        **{name: getattr(payload, name) for name in services.PROSE_FIELDS},
        needs=[services.NeedInput(**need.dict()) for need in payload.needs],
        goals=[
            services.GoalInput(
                text=goal.text,
                term=goal.term,
                domain=goal.domain,
                id=goal.id,
                ref=goal.ref or str(position),
            )
            for position, goal in enumerate(payload.goals, start=1)
        ],
        actions=[
            services.ActionInput(
                description=action.description,
                responsible=action.responsible,
                responsible_name=action.responsible_name,
                due_on=action.due_on,
                status=action.status,
                goal_ref=action.goal,
                id=action.id,
            )
            for action in payload.actions
        ],
    )


# --- operations ---------------------------------------------------------------------------------


@router.get(
    "/approvals",
    response=answers(list[QueueItemOut], 404),
    summary="Plans of my team waiting for my decision",
)
def approval_queue(request: AuthenticatedHttpRequest, page: int = 1) -> Any:
    user = request.user
    require_perm(user, Perm.APPROVE_PLANS)
    size = 50
    page = max(1, page)
    plans = (
        CasePlan.objects.waiting_for(user)
        .select_related("case", "case__person", "case__caseworker")
        .order_by("submitted_at", "id")[(page - 1) * size : page * size]
    )
    names = user.sees(Sensitive.NAMES)
    return [
        _summary(plan)
        | {
            "case_reference": plan.case.reference,
            "caseworker": plan.case.caseworker.username if plan.case.caseworker else None,
            "name": plan.case.person.full_name if names else None,
        }
        for plan in plans
    ]


@router.get(
    "/cases/{case_id}",
    response=answers(list[PlanSummaryOut], 404),
    summary="The versions of a case's plan, newest first",
)
def list_versions(request: AuthenticatedHttpRequest, case_id: int) -> Any:
    case = access.get_case_for_user(request.user, case_id)
    return [_summary(plan) for plan in case.plans.order_by("-version")]


@router.post(
    "/cases/{case_id}",
    response=answers(PlanOut, 400, 403, 404, 412, status=201),
    summary="Write a case's first plan (If-Match optional: the case's version)",
    openapi_extra=if_match(required=False),
)
def create_plan(
    request: AuthenticatedHttpRequest,
    case_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(PlanIn)] = READ_LATER,
) -> Any:
    user = request.user
    case: Case = access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, PlanIn, payload, version=case.version, required=False)
    plan = services.create_plan(case, by=user, content=_content(data))
    send_version(response, plan.revision)
    return Status(201, _detail(plan, user))


@router.get(
    "/{plan_id}",
    response=answers(PlanOut, 404),
    summary="A version of a plan (ETag: its revision)",
)
def get_plan(request: AuthenticatedHttpRequest, plan_id: int, response: HttpResponse) -> Any:
    user = request.user
    plan = plan_access.get_plan_for_user(user, plan_id)
    send_version(response, plan.revision)
    return _detail(plan, user)


@router.put(
    "/{plan_id}",
    response=answers(PlanOut, 400, 403, 404, precondition=True),
    summary="Change a draft or returned plan (all of it: lists replace the earlier ones)",
    openapi_extra=if_match(),
)
def update_plan(
    request: AuthenticatedHttpRequest,
    plan_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(PlanIn)] = READ_LATER,
) -> Any:
    user = request.user
    plan = plan_access.get_plan_for_user(user, plan_id, write=True)
    data = checked_body(request, PlanIn, payload, version=plan.revision)
    services.update_plan(plan, by=user, content=_content(data), expected_revision=plan.revision)
    send_version(response, plan.revision)
    return _detail(plan, user)


@router.post(
    "/{plan_id}/versions",
    response=answers(PlanOut, 400, 403, 404, status=201, precondition=True),
    summary="Start a new version as a copy of this one (which is kept as it was)",
    openapi_extra=if_match(),
)
def revise_plan(
    request: AuthenticatedHttpRequest,
    plan_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(RevisionIn)] = READ_LATER,
) -> Any:
    user = request.user
    plan = plan_access.get_plan_for_user(user, plan_id, write=True)
    data = checked_body(request, RevisionIn, payload, version=plan.revision)
    new = services.revise_plan(plan, by=user, planned_on=data.planned_on)
    send_version(response, new.revision)
    return Status(201, _detail(new, user))


@router.put(
    "/{plan_id}/participation",
    response=answers(PlanOut, 400, 403, 404, precondition=True),
    summary="How the client (and for a child, the caregiver) took part",
    openapi_extra=if_match(),
)
def record_participation(
    request: AuthenticatedHttpRequest,
    plan_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(ParticipationIn)] = READ_LATER,
) -> Any:
    user = request.user
    plan = plan_access.get_plan_for_user(user, plan_id, write=True)
    data = checked_body(request, ParticipationIn, payload, version=plan.revision)
    values = data.dict()
    values["ways"] = [str(way) for way in data.ways]
    values["caregiver_ways"] = [str(way) for way in data.caregiver_ways]
    services.record_participation(plan, by=user, details=services.ParticipationDetails(**values))
    send_version(response, plan.revision)
    return _detail(plan, user)


@router.post(
    "/{plan_id}/submit",
    response=answers(PlanOut, 400, 403, 404, precondition=True),
    summary="Ask the team's supervisor to approve the plan",
    openapi_extra=if_match(),
)
def submit_plan(request: AuthenticatedHttpRequest, plan_id: int, response: HttpResponse) -> Any:
    user = request.user
    plan = plan_access.get_plan_for_user(user, plan_id, write=True)
    check_version(request, plan.revision)
    services.submit_plan(plan, by=user)
    send_version(response, plan.revision)
    return _detail(plan, user)


@router.post(
    "/{plan_id}/decision",
    response=answers(PlanOut, 400, 403, 404, precondition=True),
    summary="Approve the plan, or return it with comments (supervisor of the case's team)",
    openapi_extra=if_match(),
)
def decide_plan(
    request: AuthenticatedHttpRequest,
    plan_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(DecisionIn)] = READ_LATER,
) -> Any:
    user = request.user
    plan = plan_access.get_plan_for_decider(user, plan_id)
    data = checked_body(request, DecisionIn, payload, version=plan.revision)
    if data.decision == "approve":
        services.approve_plan(plan, by=user, comment=data.comment)
    else:
        services.return_plan(plan, by=user, comment=data.comment)
    send_version(response, plan.revision)
    return _detail(plan, user)


@router.post(
    "/{plan_id}/reviews",
    response=answers(PlanOut, 400, 403, 404, 412, status=201),
    summary="Record a review: progress on every goal, and actions' new statuses",
    openapi_extra=if_match(required=False),
)
def review_plan(
    request: AuthenticatedHttpRequest,
    plan_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(ReviewIn)] = READ_LATER,
) -> Any:
    user = request.user
    plan = plan_access.get_plan_for_user(user, plan_id, write=True)
    data = checked_body(request, ReviewIn, payload, version=plan.revision, required=False)
    services.review_plan(
        plan,
        by=user,
        details=services.ReviewDetails(
            reviewed_on=data.reviewed_on,
            summary=data.summary,
            next_review_on=data.next_review_on,
            goals=[
                services.GoalProgressInput(
                    goal_id=item.goal_id, progress=str(item.progress), note=item.note
                )
                for item in data.goals
            ],
            action_statuses={item.action_id: item.status for item in data.actions},
        ),
    )
    send_version(response, plan.revision)
    return Status(201, _detail(plan, user))


@router.get(
    "/{plan_id}/check",
    response=answers(CheckOut, 404),
    summary="Check now whether the plan is individualised (exact rule and near-duplicates)",
)
def check_plan(request: AuthenticatedHttpRequest, plan_id: int) -> Any:
    plan = plan_access.get_plan_for_user(request.user, plan_id)
    check = similarity.check_plan(plan)
    return {
        "plan_id": plan.pk,
        "individualised": check.individualised,
        "reasons": check.reasons,
        "threshold": check.threshold,
        "candidates": check.candidates,
        "same_as_other_people": len(check.same_as_case_ids),
        "similar": [{"plan_id": s.plan_id, "score": s.score} for s in check.similar],
    }


@router.post(
    "/{plan_id}/matches/{match_id}",
    response=answers(MatchOut, 400, 403, 404, precondition=True),
    summary="Confirm or dismiss a possible near copy (supervisor of the case's team)",
    openapi_extra=if_match(),
)
def decide_match(
    request: AuthenticatedHttpRequest,
    plan_id: int,
    match_id: int,
    payload: Annotated[RawBody, DocumentedAs(MatchDecisionIn)] = READ_LATER,
) -> Any:
    user = request.user
    plan = plan_access.get_plan_for_decider(user, plan_id)
    match = services.current_matches(plan).filter(pk=match_id).first() if plan.fold_hash else None
    if match is None:
        raise Http404(_("No such finding."))
    data = checked_body(request, MatchDecisionIn, payload, version=plan.revision)
    services.decide_match(match, by=user, decision=data.decision, note=data.note)
    other_case = match.other_plan.case_id if match.plan_id == plan.pk else match.plan.case_id
    visible = set(access.visible_cases(user).filter(pk=other_case).values_list("pk", flat=True))
    return _match(match, plan, visible, shows_text=user.sees(Sensitive.FREE_TEXT))


# Spot checks of plans (seed 001, verification 3): /api/v1/plans/spot-checks/…
router.add_router("/spot-checks", verification_api.router)
