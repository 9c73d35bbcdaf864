"""Recording client feedback. Surveys may be entered by staff other than the client's
caseworker, so that answers are given freely; who asked is recorded.

The participation survey's branching (seed 000: Q1 → Q2 → Q3 and where it stops) is written once,
in `branching_errors`, and applied by `record_participation_survey`, which the screen and the API
both call: they cannot disagree about which answers are accepted.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.cases.models import Case
from casework.core.errors import CaseworkError, FieldErrors, NotAllowed
from casework.core.periods import Period
from casework.feedback.models import ExitInterview, ParticipationSurvey, ParticipationWay, Rating
from casework.worklist import services as worklist
from casework.worklist.models import Task


def _check_day(day: datetime.date, case: Case, errors: dict[str, list[str]], field: str) -> None:
    if day > timezone.localdate():
        errors[field] = [_("The date cannot be in the future.")]
    elif case.registered_on and day < case.registered_on:
        errors[field] = [_("The date cannot be before the case was registered.")]


def branching_errors(
    *, q1_aware: bool, q2_involved: bool | None, q3_ways: Sequence[str]
) -> dict[str, list[str]]:
    """What is wrong with a path through the survey, by field (empty: the path is complete).

    Q1 "aware of the plan?" no → stop: Q2 and Q3 are not asked. Yes → Q2 "involved in the
    decisions?" must be answered; no → stop: Q3 is not asked. Yes → Q3 "how?" needs at least
    one way from the list. An answer to a question the path does not reach is refused, and so
    is a path that stops before it ends.
    """
    errors: dict[str, list[str]] = {}
    if not q1_aware:
        if q2_involved is not None:
            errors["q2_involved"] = [_("Q2 is not asked when the client is not aware of a plan.")]
        if q3_ways:
            errors["q3_ways"] = [_("Q3 is not asked when the client is not aware of a plan.")]
    elif q2_involved is None:
        errors["q2_involved"] = [_("Answer Q2: the client is aware of a plan.")]
    elif not q2_involved and q3_ways:
        errors["q3_ways"] = [_("Q3 is not asked when the client did not feel involved.")]
    elif q2_involved and not q3_ways:
        errors["q3_ways"] = [_("Answer Q3: how was the client involved?")]
    if any(way not in ParticipationWay.values for way in q3_ways):
        errors["q3_ways"] = [_("Choose the answers from the list.")]
    return errors


@transaction.atomic
def record_participation_survey(
    case: Case,
    *,
    by: User,
    q1_aware: bool,
    q2_involved: bool | None = None,
    q3_ways: Iterable[str] = (),
    surveyed_on: datetime.date | None = None,
) -> ParticipationSurvey:
    """Seed 000: Q1 aware of the plan? No → stop. Q2 involved in decisions? No → stop. Q3 how."""
    if not by.has_casework_perm(Perm.WORK_ON_CASES):
        raise NotAllowed(_("Your role does not allow this."))
    ways = list(dict.fromkeys(q3_ways))
    day = surveyed_on or timezone.localdate()
    errors: dict[str, list[str]] = {}
    _check_day(day, case, errors, "surveyed_on")
    errors |= branching_errors(q1_aware=q1_aware, q2_involved=q2_involved, q3_ways=ways)
    if errors:
        raise FieldErrors(errors)
    survey = ParticipationSurvey.objects.create(
        case=case,
        surveyed_on=day,
        q1_aware=q1_aware,
        q2_involved=q2_involved if q1_aware else None,
        surveyed_by=by,
        **{f"q3_{way}": way in ways for way in ParticipationWay.values},
    )
    record(
        "feedback.participation.recorded",
        by=by,
        target=survey,
        case_id=case.pk,
        data={"by_own_caseworker": by.pk == case.caseworker_id},
    )
    _close_survey_tasks(case, day, by=by)
    return survey


@transaction.atomic
def record_exit_interview(
    case: Case,
    *,
    by: User,
    overall: int,
    needs_met: str,
    felt_respected: bool | None = None,
    felt_safe: bool | None = None,
    confidentiality_kept: bool | None = None,
    would_recommend: bool | None = None,
    comments: str = "",
    interviewed_on: datetime.date | None = None,
) -> ExitInterview:
    if not by.has_casework_perm(Perm.WORK_ON_CASES):
        raise NotAllowed(_("Your role does not allow this."))
    day = interviewed_on or timezone.localdate()
    errors: dict[str, list[str]] = {}
    _check_day(day, case, errors, "interviewed_on")
    if overall not in Rating.values:
        errors["overall"] = [_("Choose a value from the list.")]
    if needs_met not in ("yes", "partly", "no"):
        errors["needs_met"] = [_("Choose a value from the list.")]
    if errors:
        raise FieldErrors(errors)
    interview = ExitInterview.objects.create(
        case=case,
        interviewed_on=day,
        overall=overall,
        needs_met=needs_met,
        felt_respected=felt_respected,
        felt_safe=felt_safe,
        confidentiality_kept=confidentiality_kept,
        would_recommend=would_recommend,
        comments=comments.strip(),
        interviewed_by=by,
    )
    record(
        "feedback.exit_interview.recorded",
        by=by,
        target=interview,
        case_id=case.pk,
        data={"overall": overall, "by_own_caseworker": by.pk == case.caseworker_id},
    )
    return interview


# --- "survey this client": one task per case and data-collection period --------------------------


def survey_task_subject(period: Period) -> str:
    """The task's subject names the period by its dates, so that a survey of any day closes the
    tasks of the periods that contain it, whichever way the period was written."""
    return f"survey:{period.start.isoformat()}..{period.end.isoformat()}"


def _period_of_subject(subject: str) -> tuple[datetime.date, datetime.date] | None:
    start, _dots, end = subject.removeprefix("survey:").partition("..")
    try:
        return datetime.date.fromisoformat(start), datetime.date.fromisoformat(end)
    except ValueError:
        return None


def _close_survey_tasks(case: Case, day: datetime.date, *, by: User) -> None:
    """The person has been surveyed for the periods containing `day`: their survey tasks for
    those periods are done, on this case and on the person's other cases of the agency (the
    indicator counts the person once, whichever case the survey was recorded on)."""
    tasks = Task.objects.filter(
        kind=Task.Kind.SURVEY_DUE,
        status=Task.Status.OPEN,
        case__person_id=case.person_id,
        case__agency_id=case.agency_id,
    ).select_related("case")
    done: dict[int, tuple[Case, list[str]]] = {}
    for task in tasks:
        dates = _period_of_subject(task.subject)
        if dates is not None and dates[0] <= day <= dates[1]:
            done.setdefault(task.case_id, (task.case, []))[1].append(task.subject)
    for task_case, subjects in done.values():
        # Another case of the person may be someone else's: its task is closed by the system,
        # not in the name of a caller who may not even see that case.
        worklist.close_tasks(
            task_case,
            kinds=[Task.Kind.SURVEY_DUE],
            subjects=subjects,
            by=by if task_case.pk == case.pk else None,
        )


@dataclass(frozen=True)
class SurveyTasks:
    opened: int
    already_open: int


@transaction.atomic
def open_survey_tasks(cases: Sequence[Case], *, period: Period, by: User) -> SurveyTasks:
    """A "survey this client" task on each case (the caller's list of those still to survey),
    due by the period's last day. A case that already has its open task for this period keeps
    it unchanged, so pressing the button twice opens nothing more."""
    if not by.has_casework_perm(Perm.WORK_ON_CASES):
        raise NotAllowed(_("Your role does not allow this."))
    if period.end < timezone.localdate():
        raise CaseworkError(
            _("This period has ended: open survey tasks for the current period."),
            code="period_ended",
            field="period",
        )
    opened, already_open = worklist.open_tasks(
        cases,
        kind=Task.Kind.SURVEY_DUE,
        due_at=worklist.due_by_end_of(period.end),
        subject=survey_task_subject(period),
        by=by,
    )
    record(
        "feedback.survey_tasks.opened",
        by=by,
        agency_id=by.agency_id,
        data={"period": str(period), "opened": opened, "already_open": already_open},
    )
    return SurveyTasks(opened=opened, already_open=already_open)
