"""Recording client feedback. Surveys may be entered by staff other than the client's
caseworker, so that answers are given freely; who asked is recorded."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.cases.models import Case
from casework.core.errors import FieldErrors, NotAllowed
from casework.feedback.models import ExitInterview, ParticipationSurvey, ParticipationWay, Rating


def _check_day(day: datetime.date, case: Case, errors: dict[str, list[str]], field: str) -> None:
    if day > timezone.localdate():
        errors[field] = [_("The date cannot be in the future.")]
    elif case.registered_on and day < case.registered_on:
        errors[field] = [_("The date cannot be before the case was registered.")]


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
    if not q1_aware:
        if q2_involved is not None:
            errors["q2_involved"] = [_("Q2 is not asked when the client is not aware of a plan.")]
        if ways:
            errors["q3_ways"] = [_("Q3 is not asked when the client is not aware of a plan.")]
    else:
        if q2_involved is None:
            errors["q2_involved"] = [_("Answer Q2: the client is aware of a plan.")]
        elif not q2_involved and ways:
            errors["q3_ways"] = [_("Q3 is not asked when the client did not feel involved.")]
        elif q2_involved and not ways:
            errors["q3_ways"] = [_("Answer Q3: how was the client involved?")]
    unknown = [way for way in ways if way not in ParticipationWay.values]
    if unknown:
        errors["q3_ways"] = [_("Choose the answers from the list.")]
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
