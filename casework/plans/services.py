"""Everything that changes a case plan: writing it, new versions, participation, approval, reviews
and decisions on near-duplicates.

Each service is a keyword-only function in a transaction that writes its audit entry in the same
transaction; it validates before writing and raises a CaseworkError instead of changing anything.
The HTML views and the API both call these. Callers load the case through the access gate first.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.access import check_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.cases import services as case_services
from casework.cases.models import Case
from casework.cases.models import Status as CaseStatus
from casework.core.errors import CaseworkError, Conflict, FieldErrors, NotAllowed
from casework.core.text import fold_hash
from casework.plans import confirmations, sharing, similarity
from casework.plans.access import can_decide
from casework.plans.models import (
    ActionUpdate,
    CasePlan,
    GoalProgress,
    NeedDomain,
    Participation,
    ParticipationWay,
    PlanAction,
    PlanDecision,
    PlanGoal,
    PlanMatch,
    PlanNeed,
    PlanReview,
)
from casework.worklist import services as worklist
from casework.worklist.models import Task

ADULT_AGE = 18

# A plan can be written while the case is in one of these steps; a plan written for an assessed
# (or reopened) case moves it to "planned".
PLANNING_STATUSES = (
    CaseStatus.ASSESSED,
    CaseStatus.PLANNED,
    CaseStatus.IN_FOLLOW_UP,
    CaseStatus.REOPENED,
)
MOVES_TO_PLANNED = (CaseStatus.ASSESSED, CaseStatus.REOPENED)


# --- inputs -------------------------------------------------------------------------------------


@dataclass
class NeedInput:
    domain: str
    description: str = ""
    id: int | None = None


@dataclass
class GoalInput:
    text: str
    term: str = PlanGoal.Term.SHORT
    domain: str = ""
    id: int | None = None
    # How actions point at this goal within one submission ("1" = the first goal when empty).
    ref: str = ""


@dataclass
class ActionInput:
    description: str
    responsible: str
    responsible_name: str = ""
    due_on: datetime.date | None = None
    status: str = PlanAction.Status.PLANNED
    goal_ref: str = ""
    id: int | None = None


@dataclass
class PlanContent:
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
    needs: list[NeedInput] = field(default_factory=list)
    goals: list[GoalInput] = field(default_factory=list)
    actions: list[ActionInput] = field(default_factory=list)


PROSE_FIELDS = (
    "summary",
    "client_responsibilities",
    "caseworker_responsibilities",
    "safety_plan",
    "referrals",
    "follow_up_schedule",
    "supervision_notes",
)


@dataclass
class ParticipationDetails:
    ways: list[str] = field(default_factory=list)
    client_views: str = ""
    told_right_to_decline: bool = False
    declined_services: str = ""
    client_agreed: bool | None = None
    agreed_on: datetime.date | None = None
    caregiver_involved: bool | None = None
    caregiver_ways: list[str] = field(default_factory=list)
    caregiver_agreed: bool | None = None
    caregiver_agreed_on: datetime.date | None = None
    caregiver_not_involved_reason: str = ""


@dataclass
class GoalProgressInput:
    goal_id: int
    progress: str
    note: str = ""


@dataclass
class ReviewDetails:
    reviewed_on: datetime.date | None = None
    summary: str = ""
    next_review_on: datetime.date | None = None
    goals: list[GoalProgressInput] = field(default_factory=list)
    # action id → new status, for the actions whose status changed since the last review.
    action_statuses: dict[int, str] = field(default_factory=dict)


# --- small helpers ------------------------------------------------------------------------------


def _today() -> datetime.date:
    return timezone.localdate()


def _start_of(day: datetime.date, now: datetime.datetime) -> datetime.datetime:
    if day >= timezone.localdate(now):
        return now
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))


def latest_plan(case: Case) -> CasePlan | None:
    return case.plans.order_by("-version").first()


def is_current(plan: CasePlan) -> bool:
    return not CasePlan.objects.filter(case_id=plan.case_id, version__gt=plan.version).exists()


def is_child(case: Case) -> bool:
    """Age at registration (the indicators' rule); the person's age today when it is unknown."""
    age = case.age_at_registration
    if age is None:
        age = case.person.age_on(_today())
    return age is not None and age < ADULT_AGE


def _require_decider(case: Case, user: User) -> None:
    if not can_decide(case, user):
        raise NotAllowed(_("Only a supervisor of the case's team can decide on its plan."))


def _touch(*plans: CasePlan) -> None:
    """A change to what a plan shows (status, participation, a review, a decided near copy):
    its revision, the API's ETag, moves on, so a client holding the old one gets 412."""
    for plan in plans:
        CasePlan.objects.filter(pk=plan.pk).update(revision=F("revision") + 1)
        plan.revision = CasePlan.objects.values_list("revision", flat=True).get(pk=plan.pk)


def _check_editable(plan: CasePlan) -> None:
    if not plan.case.is_open:
        raise CaseworkError(
            _("This case is closed or transferred: its plan is kept as it was."),
            code="case_closed",
        )
    if not plan.is_open:
        raise CaseworkError(
            _("This version is “%(status)s” and can no longer be changed.")
            % {"status": plan.get_status_display()},
            code="plan_locked",
        )
    if not is_current(plan):
        raise CaseworkError(
            _("A newer version of this plan exists; earlier versions are kept as they were."),
            code="plan_locked",
        )


def compose_text(goals: Iterable[str], actions: Iterable[str]) -> str:
    """The plan "as written" for INDIVIDUAL_PLAN: its goals, then its actions, one per line.

    Only what people wrote: dates, statuses and who is responsible are left out, so two plans that
    say the same thing compare equal even when they were scheduled differently.
    """
    lines = [text.strip() for text in (*goals, *actions)]
    return "\n".join(line for line in lines if line)


# --- validation ---------------------------------------------------------------------------------


def _validate_content(case: Case, content: PlanContent, *, today: datetime.date) -> None:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    planned_on = content.planned_on or today
    if planned_on > today:
        add("planned_on", _("A plan cannot be dated in the future."))
    earliest = case.assessed_on or case.registered_on
    if earliest and planned_on < earliest:
        add(
            "planned_on",
            _("A plan cannot be dated before the case was registered or assessed (%(day)s).")
            % {"day": earliest.isoformat()},
        )
    if content.next_review_on and content.next_review_on < planned_on:
        add("next_review_on", _("The review cannot come before the plan."))
    for need in content.needs:
        if need.domain not in NeedDomain.values:
            add("needs", _("Choose a domain from the list for each need."))
    refs: set[str] = set()
    for position, goal in enumerate(content.goals, start=1):
        ref = goal.ref or str(position)
        if ref in refs:
            add("goals", _("Two goals have the same reference “%(ref)s”.") % {"ref": ref})
        refs.add(ref)
        if not goal.text.strip():
            add("goals", _("Each goal needs its text."))
        if goal.term not in PlanGoal.Term.values:
            add("goals", _("Say whether each goal is short- or long-term."))
        if goal.domain and goal.domain not in NeedDomain.values:
            add("goals", _("Choose a domain from the list for each goal."))
    for action in content.actions:
        if not action.description.strip():
            add("actions", _("Each action needs a description."))
        if action.responsible not in PlanAction.Responsible.values:
            add("actions", _("Say who is responsible for each action."))
        elif (
            action.responsible == PlanAction.Responsible.ORGANISATION
            and not action.responsible_name.strip()
        ):
            add("actions", _("Name the organisation responsible for the action."))
        if action.status not in PlanAction.Status.values:
            add("actions", _("Choose a status from the list for each action."))
        if action.goal_ref and action.goal_ref not in refs:
            add(
                "actions",
                _("An action is for goal %(ref)s, which is not in the plan.")
                % {"ref": action.goal_ref},
            )
        if action.due_on and action.due_on < planned_on:
            add("actions", _("An action cannot be due before the plan's date."))
    for name in ("needs", "goals", "actions"):
        if name in errors:
            errors[name] = list(dict.fromkeys(errors[name]))
    if errors:
        raise FieldErrors(errors)


def _validate_participation(case: Case, details: ParticipationDetails) -> None:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    today = _today()
    if not details.ways:
        add("ways", _("Say how the client took part in writing the plan."))
    if any(way not in ParticipationWay.values for way in details.ways):
        add("ways", _("Choose from the list."))
    if not details.told_right_to_decline:
        add(
            "told_right_to_decline",
            _(
                "Tell the client they may decline any service without losing the others, and record it."
            ),
        )
    if ParticipationWay.DECLINED_SERVICES in details.ways and not details.declined_services.strip():
        add("declined_services", _("Say which services the client declined."))
    if details.client_agreed is None:
        add("client_agreed", _("Record whether the client agreed the plan."))
    elif details.client_agreed:
        if details.agreed_on is None:
            add("agreed_on", _("Record when the client agreed the plan."))
        elif details.agreed_on > today:
            add("agreed_on", _("An agreement cannot be dated in the future."))
    elif ParticipationWay.AGREED_PLAN in details.ways:
        add("ways", _("The client did not agree the plan: untick “Agreed the plan”."))
    if is_child(case):
        if details.caregiver_involved is None:
            add(
                "caregiver_involved",
                _("For a child, record whether the caregiver took part in the plan."),
            )
        elif details.caregiver_involved:
            if not details.caregiver_ways:
                add("caregiver_ways", _("Say how the caregiver took part."))
            if any(way not in ParticipationWay.values for way in details.caregiver_ways):
                add("caregiver_ways", _("Choose from the list."))
            if details.caregiver_agreed is None:
                add("caregiver_agreed", _("Record whether the caregiver agreed the plan."))
            elif details.caregiver_agreed:
                if details.caregiver_agreed_on is None:
                    add("caregiver_agreed_on", _("Record when the caregiver agreed the plan."))
                elif details.caregiver_agreed_on > today:
                    add("caregiver_agreed_on", _("An agreement cannot be dated in the future."))
        elif not details.caregiver_not_involved_reason.strip():
            add(
                "caregiver_not_involved_reason",
                _("Say why the caregiver took no part (for example, the child's best interests)."),
            )
    if errors:
        raise FieldErrors(errors)


# --- writing a plan -----------------------------------------------------------------------------


def _write_content(plan: CasePlan, content: PlanContent) -> str:
    """Replace the plan's prose, needs, goals and actions; return the composed text."""
    plan.planned_on = content.planned_on or plan.planned_on or _today()
    plan.is_group = content.is_group
    plan.next_review_on = content.next_review_on
    for name in PROSE_FIELDS:
        setattr(plan, name, getattr(content, name).strip())

    needs = {need.pk: need for need in plan.needs.all()}
    kept_needs: list[int] = []
    for position, need_item in enumerate(content.needs):
        need = needs.get(need_item.id) if need_item.id else None
        if need is None:
            need = PlanNeed(plan=plan)
        need.domain = need_item.domain
        need.description = need_item.description.strip()
        need.position = position
        need.save()
        kept_needs.append(need.pk)
    plan.needs.exclude(pk__in=kept_needs).delete()

    goals = {goal.pk: goal for goal in plan.goals.all()}
    by_ref: dict[str, PlanGoal] = {}
    kept_goals: list[int] = []
    for position, goal_item in enumerate(content.goals):
        goal = goals.get(goal_item.id) if goal_item.id else None
        if goal is None:
            goal = PlanGoal(plan=plan)
        goal.term = goal_item.term
        goal.domain = goal_item.domain
        goal.text = goal_item.text.strip()
        goal.position = position
        goal.save()
        by_ref[goal_item.ref or str(position + 1)] = goal
        kept_goals.append(goal.pk)
    plan.goals.exclude(pk__in=kept_goals).delete()

    actions = {action.pk: action for action in plan.actions.all()}
    kept_actions: list[int] = []
    for position, action_item in enumerate(content.actions):
        action = actions.get(action_item.id) if action_item.id else None
        if action is None:
            action = PlanAction(plan=plan)
        action.goal = by_ref.get(action_item.goal_ref) if action_item.goal_ref else None
        action.description = action_item.description.strip()
        action.responsible = action_item.responsible
        action.responsible_name = action_item.responsible_name.strip()
        action.due_on = action_item.due_on
        action.status = action_item.status
        action.position = position
        action.save()
        kept_actions.append(action.pk)
    plan.actions.exclude(pk__in=kept_actions).delete()

    return compose_text(
        (item.text for item in content.goals), (item.description for item in content.actions)
    )


def _refresh_text(plan: CasePlan, text: str, *, replaces: Iterable[int] = ()) -> None:
    """Store the plan's text and hash, update the case's summary and the near-duplicate index.

    `plan` is the current plan of its case (only the newest version is ever written).
    """
    changed = text != plan.text or fold_hash(text) != plan.fold_hash or bool(replaces)
    plan.text = text
    plan.fold_hash = fold_hash(text)
    before = plan.case.plan_fold_hash
    summary = {"plan_fold_hash": plan.fold_hash, "plan_is_group": plan.is_group}
    if before != plan.fold_hash:
        summary["plan_text_shared"] = False  # sharing.refresh sets it again where it holds
    Case.objects.filter(pk=plan.case_id).update(**summary)
    for name, value in summary.items():
        setattr(plan.case, name, value)
    if before != plan.fold_hash:
        sharing.refresh(plan.case.agency_id, {before, plan.fold_hash})
        plan.case.refresh_from_db(fields=["plan_text_shared"])
    if changed:
        # Written now: the findings recorded below and the confirmation date read it back.
        CasePlan.objects.filter(pk=plan.pk).update(fold_hash=plan.fold_hash)
        similarity.index_plan(plan, replaces=replaces)
        flag_near_duplicates(plan, replaces=replaces)
        confirmations.refresh({plan.case_id})
        plan.case.refresh_from_db(fields=["plan_duplicate_confirmed_on"])


def flag_near_duplicates(plan: CasePlan, *, replaces: Iterable[int] = ()) -> similarity.PlanCheck:
    """Run the check and record each near-duplicate found as a PlanMatch for staff to decide.

    Findings still waiting for a decision about this plan's earlier text (or about the versions
    it replaces) are dropped; decided findings stay as history. A pair already decided for the
    same two texts (e.g. in the version this one was copied from) keeps its decision.
    """
    involved = [plan.pk, *replaces]
    PlanMatch.objects.filter(
        Q(plan_id__in=involved) | Q(other_plan_id__in=involved),
        decision=PlanMatch.Decision.PENDING,
    ).delete()
    check = similarity.check_plan(plan)
    if not check.similar:
        return check
    earlier: dict[int, PlanMatch] = {}
    for match in (
        PlanMatch.objects.filter(
            Q(
                plan__case_id=plan.case_id,
                plan_fold_hash=plan.fold_hash,
                other_plan_id__in=[s.plan_id for s in check.similar],
            )
            | Q(
                other_plan__case_id=plan.case_id,
                other_fold_hash=plan.fold_hash,
                plan_id__in=[s.plan_id for s in check.similar],
            ),
            ~Q(decision=PlanMatch.Decision.PENDING),
        )
        .select_related("plan")
        .order_by("decided_at")
    ):
        other = match.other_plan_id if match.plan.case_id == plan.case_id else match.plan_id
        earlier[other] = match
    now = timezone.now()
    for found in check.similar:
        decided = earlier.get(found.plan_id)
        same_texts = decided is not None and {decided.plan_fold_hash, decided.other_fold_hash} == {
            plan.fold_hash,
            found.fold_hash,
        }
        PlanMatch.objects.get_or_create(
            plan=plan,
            other_plan_id=found.plan_id,
            plan_fold_hash=plan.fold_hash,
            other_fold_hash=found.fold_hash,
            defaults={
                "score": found.score,
                "found_at": now,
                **(
                    {
                        "decision": decided.decision,
                        "decided_by_id": decided.decided_by_id,
                        "decided_at": decided.decided_at,
                        "note": decided.note,
                    }
                    if decided is not None and same_texts
                    else {}
                ),
            },
        )
    return check


def _move_case_to_planned(case: Case, *, by: User, planned_on: datetime.date) -> None:
    if case.status in MOVES_TO_PLANNED:
        case_services.transition_case(
            case,
            to=CaseStatus.PLANNED,
            by=by,
            occurred_at=_start_of(planned_on, timezone.now()),
        )


def _lock_case(case: Case) -> None:
    """Serialise plan writes per case (two people starting a version at once)."""
    Case.objects.select_for_update().filter(pk=case.pk).values_list("pk").first()


@transaction.atomic
def create_plan(case: Case, *, by: User, content: PlanContent) -> CasePlan:
    """Write the case's first plan (version 1). A case that was assessed moves to "planned"."""
    check_perm(by, Perm.WORK_ON_CASES)
    _lock_case(case)
    if case.plans.exists():
        raise CaseworkError(
            _("This case already has a plan: start a new version from the current one."),
            code="plan_exists",
        )
    if case.status not in PLANNING_STATUSES:
        raise CaseworkError(
            _("A plan is written once the case is assessed (the case is “%(status)s”).")
            % {"status": case.get_status_display()},
            code="not_ready_for_planning",
        )
    today = _today()
    _validate_content(case, content, today=today)
    plan = CasePlan.objects.create(
        case=case,
        version=1,
        status=CasePlan.Status.DRAFT,
        planned_on=content.planned_on or today,
        created_by=by,
    )
    plan.case = case
    _refresh_text(plan, _write_content(plan, content))
    plan.save()
    _move_case_to_planned(case, by=by, planned_on=plan.planned_on)
    record(
        "plans.plan.created",
        by=by,
        target=plan,
        case_id=case.pk,
        data={"version": 1, "goals": len(content.goals), "actions": len(content.actions)},
    )
    return plan


@transaction.atomic
def update_plan(
    plan: CasePlan, *, by: User, content: PlanContent, expected_revision: int
) -> CasePlan:
    """Change a draft (or a returned plan); refused if someone saved it since it was loaded."""
    check_perm(by, Perm.WORK_ON_CASES)
    _check_editable(plan)
    case = plan.case
    _validate_content(case, content, today=_today())
    updated = CasePlan.objects.filter(
        pk=plan.pk, revision=expected_revision, status__in=CasePlan.EDITABLE
    ).update(revision=F("revision") + 1)
    if not updated:
        raise Conflict(
            _("This plan was changed by someone else since you opened it. Reload and try again.")
        )
    plan.revision = expected_revision + 1
    _refresh_text(plan, _write_content(plan, content))
    plan.save()
    record(
        "plans.plan.updated",
        by=by,
        target=plan,
        case_id=case.pk,
        data={
            "version": plan.version,
            "goals": len(content.goals),
            "actions": len(content.actions),
        },
    )
    return plan


@transaction.atomic
def revise_plan(plan: CasePlan, *, by: User, planned_on: datetime.date | None = None) -> CasePlan:
    """Start a new version as a copy of the current one; the earlier version is kept as it was."""
    check_perm(by, Perm.WORK_ON_CASES)
    case = plan.case
    _lock_case(case)
    if not is_current(plan):
        raise CaseworkError(
            _("Start the new version from the current one."), code="plan_not_current"
        )
    if plan.status == CasePlan.Status.SUBMITTED:
        raise CaseworkError(
            _("This version is waiting for approval; wait for the supervisor's decision."),
            code="plan_submitted",
        )
    if plan.is_open:
        raise CaseworkError(
            _("This version is still being written: change it instead of starting another."),
            code="plan_open",
        )
    if case.status not in PLANNING_STATUSES:
        raise CaseworkError(
            _("A plan is written once the case is assessed (the case is “%(status)s”).")
            % {"status": case.get_status_display()},
            code="not_ready_for_planning",
        )
    today = _today()
    day = planned_on or today
    if day > today:
        raise CaseworkError(_("A plan cannot be dated in the future."), field="planned_on")
    if day < plan.planned_on:
        raise CaseworkError(
            _("A new version cannot be dated before the one it replaces."), field="planned_on"
        )
    new = CasePlan.objects.create(
        case=case,
        version=plan.version + 1,
        status=CasePlan.Status.DRAFT,
        planned_on=day,
        is_group=plan.is_group,
        next_review_on=None,
        created_by=by,
        **{name: getattr(plan, name) for name in PROSE_FIELDS},
    )
    new.case = case
    for need in plan.needs.all():
        PlanNeed.objects.create(
            plan=new,
            domain=need.domain,
            description=need.description,
            position=need.position,
            copied_from=need,
        )
    goal_copies: dict[int, PlanGoal] = {}
    goals = list(plan.goals.all())
    for goal in goals:
        goal_copies[goal.pk] = PlanGoal.objects.create(
            plan=new,
            term=goal.term,
            domain=goal.domain,
            text=goal.text,
            position=goal.position,
            copied_from=goal,
        )
    actions = list(plan.actions.all())
    for action in actions:
        PlanAction.objects.create(
            plan=new,
            goal=goal_copies.get(action.goal_id) if action.goal_id else None,
            description=action.description,
            responsible=action.responsible,
            responsible_name=action.responsible_name,
            due_on=action.due_on,
            status=action.status,
            position=action.position,
            copied_from=action,
        )
    if not goals and not actions and plan.text.strip():
        # An imported plan has its text but no goal rows: carry the text over as one goal, for
        # the caseworker to split into goals and actions.
        PlanGoal.objects.create(
            plan=new, term=PlanGoal.Term.LONG, text=plan.text.strip(), position=0
        )
        text = plan.text.strip()
    else:
        text = compose_text((g.text for g in goals), (a.description for a in actions))
    _refresh_text(new, text, replaces=[plan.pk])
    new.save()
    _move_case_to_planned(case, by=by, planned_on=day)
    record(
        "plans.plan.revised",
        by=by,
        target=new,
        case_id=case.pk,
        data={"version": new.version, "from_version": plan.version},
    )
    return new


# --- participation ------------------------------------------------------------------------------


@transaction.atomic
def record_participation(
    plan: CasePlan, *, by: User, details: ParticipationDetails
) -> Participation:
    """How the client (and for a child, the caregiver) took part in this version of the plan."""
    check_perm(by, Perm.WORK_ON_CASES)
    _check_editable(plan)
    case = plan.case
    _validate_participation(case, details)
    child = is_child(case)
    involved = bool(child and details.caregiver_involved)
    values = {
        "ways": list(dict.fromkeys(details.ways)),
        "client_views": details.client_views.strip(),
        "told_right_to_decline": details.told_right_to_decline,
        "declined_services": details.declined_services.strip()
        if ParticipationWay.DECLINED_SERVICES in details.ways
        else "",
        "client_agreed": details.client_agreed,
        "agreed_on": details.agreed_on if details.client_agreed else None,
        "caregiver_involved": details.caregiver_involved if child else None,
        "caregiver_ways": list(dict.fromkeys(details.caregiver_ways)) if involved else [],
        "caregiver_agreed": details.caregiver_agreed if involved else None,
        "caregiver_agreed_on": details.caregiver_agreed_on
        if involved and details.caregiver_agreed
        else None,
        "caregiver_not_involved_reason": details.caregiver_not_involved_reason.strip()
        if child and details.caregiver_involved is False
        else "",
        "recorded_by": by,
    }
    participation, created = Participation.objects.update_or_create(plan=plan, defaults=values)
    _touch(plan)
    record(
        "plans.participation.recorded",
        by=by,
        target=participation,
        case_id=case.pk,
        data={
            "plan": plan.pk,
            "ways": participation.ways,
            "client_agreed": participation.client_agreed,
            "caregiver_involved": participation.caregiver_involved,
            "created": created,
        },
    )
    return participation


# --- approval -----------------------------------------------------------------------------------


def missing_for_submission(plan: CasePlan) -> list[str]:
    """What a plan still lacks before it can go to the supervisor (empty when complete)."""
    missing = []
    if not plan.goals.exists():
        missing.append(str(_("at least one goal")))
    if not plan.actions.exists():
        missing.append(str(_("at least one action")))
    if not plan.client_responsibilities.strip():
        missing.append(str(_("what the client will do")))
    if not plan.caseworker_responsibilities.strip():
        missing.append(str(_("what the caseworker will do")))
    if not Participation.objects.filter(plan=plan).exists():
        missing.append(str(_("how the client took part")))
    return missing


@transaction.atomic
def submit_plan(plan: CasePlan, *, by: User) -> PlanDecision:
    """Ask the team's supervisor to approve the plan."""
    check_perm(by, Perm.WORK_ON_CASES)
    _check_editable(plan)
    missing = missing_for_submission(plan)
    if missing:
        raise CaseworkError(
            _("Complete the plan before asking for approval: %(missing)s.")
            % {"missing": ", ".join(missing)},
            code="plan_incomplete",
        )
    now = timezone.now()
    updated = CasePlan.objects.filter(pk=plan.pk, status__in=CasePlan.EDITABLE).update(
        status=CasePlan.Status.SUBMITTED, submitted_at=now, updated_at=now
    )
    if not updated:
        raise Conflict(_("This plan was changed by someone else. Reload and try again."))
    _touch(plan)
    plan.status = CasePlan.Status.SUBMITTED
    plan.submitted_at = now
    decision = PlanDecision.objects.create(
        plan=plan, kind=PlanDecision.Kind.REQUESTED, by=by, at=now
    )
    record(
        "plans.plan.submitted",
        by=by,
        target=plan,
        case_id=plan.case_id,
        data={"version": plan.version},
    )
    return decision


def _decide(plan: CasePlan, *, by: User, kind: str, comment: str) -> PlanDecision:
    _require_decider(plan.case, by)
    requested_by = (
        plan.decisions.filter(kind=PlanDecision.Kind.REQUESTED)
        .order_by("-at", "-id")
        .values_list("by_id", flat=True)
        .first()
    )
    if requested_by == by.pk:
        raise NotAllowed(_("Another supervisor must decide on a plan you submitted yourself."))
    status = (
        CasePlan.Status.APPROVED if kind == PlanDecision.Kind.APPROVED else CasePlan.Status.RETURNED
    )
    now = timezone.now()
    updated = CasePlan.objects.filter(pk=plan.pk, status=CasePlan.Status.SUBMITTED).update(
        status=status, updated_at=now
    )
    if not updated:
        raise Conflict(_("This plan is not waiting for approval (any more)."))
    _touch(plan)
    plan.status = status
    decision = PlanDecision.objects.create(
        plan=plan, kind=kind, by=by, at=now, comment=comment.strip()
    )
    if kind == PlanDecision.Kind.APPROVED:
        # The plan is done: "plan due" closes; its next review date goes on the worklist.
        worklist.close_tasks(plan.case, kinds=[Task.Kind.PLAN_DUE], by=by)
        schedule_review(plan.case, on=plan.next_review_on, by=by)
    record(
        f"plans.plan.{kind}",
        by=by,
        target=plan,
        case_id=plan.case_id,
        data={"version": plan.version, "with_comment": bool(comment.strip())},
    )
    return decision


@transaction.atomic
def approve_plan(plan: CasePlan, *, by: User, comment: str = "") -> PlanDecision:
    return _decide(plan, by=by, kind=PlanDecision.Kind.APPROVED, comment=comment)


@transaction.atomic
def return_plan(plan: CasePlan, *, by: User, comment: str) -> PlanDecision:
    """Send the plan back to the caseworker; the comments say what to change."""
    if not comment.strip():
        raise CaseworkError(_("Say what should change in the plan."), field="comment")
    return _decide(plan, by=by, kind=PlanDecision.Kind.RETURNED, comment=comment)


# --- reviews ------------------------------------------------------------------------------------


def schedule_review(case: Case, *, on: datetime.date | None, by: User) -> None:
    """The case's one "plan review due" task: due on `on` (seed 004: regular reassessment), or
    none when no next review is set. Called when a plan is approved and when it is reviewed, so
    a review done closes its task and the date it sets opens the next."""
    worklist.close_tasks(case, kinds=[Task.Kind.PLAN_REVIEW_DUE], by=by)
    if on is not None:
        worklist.open_task(
            case, kind=Task.Kind.PLAN_REVIEW_DUE, due_at=worklist.due_by_end_of(on), by=by
        )


@transaction.atomic
def review_plan(plan: CasePlan, *, by: User, details: ReviewDetails) -> PlanReview:
    """Record a review of the approved plan: progress on every goal, and actions' new statuses."""
    check_perm(by, Perm.WORK_ON_CASES)
    if plan.status != CasePlan.Status.APPROVED or not is_current(plan):
        raise CaseworkError(
            _("Only the current, approved plan is reviewed."), code="plan_not_reviewable"
        )
    errors: dict[str, list[str]] = {}
    today = _today()
    reviewed_on = details.reviewed_on or today
    if reviewed_on > today:
        errors["reviewed_on"] = [_("A review cannot be dated in the future.")]
    elif reviewed_on < plan.planned_on:
        errors["reviewed_on"] = [_("A review cannot come before the plan.")]
    if details.next_review_on and details.next_review_on < reviewed_on:
        errors["next_review_on"] = [_("The next review cannot come before this one.")]
    goals = {goal.pk: goal for goal in plan.goals.all()}
    given = {item.goal_id: item for item in details.goals}
    if set(given) != set(goals):
        errors["goals"] = [_("Record the progress on every goal of the plan.")]
    if any(item.progress not in GoalProgress.Progress.values for item in details.goals):
        errors.setdefault("goals", []).append(_("Choose the progress from the list."))
    actions = {action.pk: action for action in plan.actions.all()}
    for action_id, status in details.action_statuses.items():
        if action_id not in actions or status not in PlanAction.Status.values:
            errors["actions"] = [_("Choose a status from the list for each action.")]
    if errors:
        raise FieldErrors(errors)
    review = PlanReview.objects.create(
        plan=plan,
        reviewed_on=reviewed_on,
        by=by,
        summary=details.summary.strip(),
        next_review_on=details.next_review_on,
    )
    GoalProgress.objects.bulk_create(
        [
            GoalProgress(
                review=review,
                goal_id=goal_id,
                progress=given[goal_id].progress,
                note=given[goal_id].note.strip(),
            )
            for goal_id in goals
        ]
    )
    updates = []
    for action_id, status in details.action_statuses.items():
        action = actions[action_id]
        if action.status != status:
            updates.append(
                ActionUpdate(
                    review=review, action=action, from_status=action.status, to_status=status
                )
            )
            action.status = status
            action.save(update_fields=["status"])
    ActionUpdate.objects.bulk_create(updates)
    schedule_review(plan.case, on=review.next_review_on, by=by)
    _touch(plan)
    record(
        "plans.plan.reviewed",
        by=by,
        target=review,
        case_id=plan.case_id,
        data={
            "plan": plan.pk,
            "achieved": sum(
                1 for item in given.values() if item.progress == GoalProgress.Progress.ACHIEVED
            ),
            "goals": len(goals),
            "actions_changed": len(updates),
        },
    )
    return review


# --- individualised or not ----------------------------------------------------------------------


def current_matches(plan: CasePlan) -> QuerySet[PlanMatch]:
    """Near-duplicate findings that still apply to this plan's text and to a current plan."""
    newer_other = CasePlan.objects.filter(
        case_id=OuterRef("other_plan__case_id"), version__gt=OuterRef("other_plan__version")
    )
    newer_plan = CasePlan.objects.filter(
        case_id=OuterRef("plan__case_id"), version__gt=OuterRef("plan__version")
    )
    as_plan = Q(
        plan=plan,
        plan_fold_hash=plan.fold_hash,
        other_fold_hash=F("other_plan__fold_hash"),
    ) & ~Exists(newer_other)
    as_other = Q(
        other_plan=plan,
        other_fold_hash=plan.fold_hash,
        plan_fold_hash=F("plan__fold_hash"),
    ) & ~Exists(newer_plan)
    return (
        PlanMatch.objects.filter(as_plan | as_other)
        .select_related("plan__case", "other_plan__case", "decided_by")
        .order_by("-score", "id")
    )


@dataclass(frozen=True)
class Individualisation:
    """What the plan page and the API say about a plan (seed 001)."""

    is_group: bool
    is_empty: bool
    same_as_case_ids: list[int]
    matches: list[PlanMatch]

    @property
    def confirmed(self) -> bool:
        return any(m.decision == PlanMatch.Decision.CONFIRMED for m in self.matches)

    @property
    def pending(self) -> bool:
        return any(m.decision == PlanMatch.Decision.PENDING for m in self.matches)

    @property
    def individualised(self) -> bool:
        """Not a group plan, not empty, not the same as another person's, no confirmed near copy."""
        return not (self.is_group or self.is_empty or self.same_as_case_ids or self.confirmed)


def individualisation(plan: CasePlan) -> Individualisation:
    """Two queries: exact duplicates through the case index, and the recorded findings."""
    return Individualisation(
        is_group=plan.is_group,
        is_empty=plan.is_empty,
        same_as_case_ids=similarity.same_text_case_ids(plan),
        matches=list(current_matches(plan)) if plan.fold_hash else [],
    )


@transaction.atomic
def decide_match(match: PlanMatch, *, by: User, decision: str, note: str = "") -> PlanMatch:
    """A supervisor confirms (the plan is not individualised) or dismisses a near-duplicate."""
    if decision not in (PlanMatch.Decision.CONFIRMED, PlanMatch.Decision.DISMISSED):
        raise CaseworkError(_("Choose confirm or dismiss."), field="decision")
    if not (can_decide(match.plan.case, by) or can_decide(match.other_plan.case, by)):
        raise NotAllowed(_("Only a supervisor of the team can decide on a possible duplicate."))
    if decision == PlanMatch.Decision.DISMISSED and not note.strip():
        raise CaseworkError(_("Say why the plans are individual after all."), field="note")
    now = timezone.now()
    updated = PlanMatch.objects.filter(pk=match.pk, decision=PlanMatch.Decision.PENDING).update(
        decision=decision, decided_by=by, decided_at=now
    )
    if not updated:
        raise Conflict(_("Someone already decided on this possible duplicate."))
    match.decision = decision
    match.decided_by = by
    match.decided_at = now
    match.note = note.strip()
    match.save(update_fields=["note"])
    confirmations.refresh({match.plan.case_id, match.other_plan.case_id})
    _touch(match.plan, match.other_plan)
    record(
        f"plans.match.{decision}",
        by=by,
        target=match,
        case_id=match.plan.case_id,
        data={"plan": match.plan_id, "other_plan": match.other_plan_id, "score": match.score},
    )
    return match


def reindex_case_plans(cases: Iterable[Case]) -> int:
    """Rebuild the near-duplicate index for the current plans of `cases` (e.g. after an import)."""
    plans = (
        CasePlan.objects.current()
        .filter(case__in=list(cases))
        .select_related("case")
        .only("pk", "text", "case__agency_id", "case__person_id")
    )
    return similarity.index_current_plans(plans.iterator(chunk_size=2000))
