"""Reads the survey screens and the API share: a case's surveys, and who is still to be surveyed
in a data-collection period.

Seed 000 asks for "a survey with all survivors in the project's case management during each data
collection period"; the interchange contract (../shared/contracts/case-interchange.md, "Reporting
period" and PARTICIPATION) says who that is: a case-management case registered by the period's
end and not closed before its start. The period is the agency's reporting period, written as the
reports write it (`2026-Q3`, `2026-07`, …); the quarter under way unless another is asked for.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.cases.access import writable_cases
from casework.cases.models import Case, CaseQuerySet, ClosureReason, ServiceType
from casework.core.periods import Period, current_quarter, parse_period
from casework.feedback.models import ExitInterview, ParticipationSurvey
from casework.feedback.services import survey_task_subject
from casework.worklist.models import Task

PAGE_SIZE = 50


class Scope(StrEnum):
    MINE = "mine"  # the cases the user holds
    TEAM = "team"  # every case of a supervisor's team


def survey_period(text: str | None, *, today: datetime.date | None = None) -> Period:
    """The asked period, or the quarter under way (PeriodError, naming `period`, if unreadable)."""
    if text and text.strip():
        return parse_period(text)
    return current_quarter(today or timezone.localdate())


def scope_for(user: User, asked: str | None) -> Scope:
    """A supervisor may ask for the team; everyone else sees their own cases."""
    if asked == Scope.TEAM and user.has_casework_perm(Perm.REASSIGN_IN_TEAM):
        return Scope.TEAM
    return Scope.MINE


def surveys_of(case: Case) -> QuerySet[ParticipationSurvey]:
    """A case's participation surveys, newest first (the case loaded through the gate)."""
    return case.participation_surveys.select_related("surveyed_by").order_by("-surveyed_on", "-pk")


def exit_interviews_of(case: Case) -> QuerySet[ExitInterview]:
    return case.exit_interviews.select_related("interviewed_by").order_by("-interviewed_on", "-pk")


def in_case_management(period: Period) -> Q:
    """The contract's "in case management during the period" (the indicators' own rule reads
    the same: casework/indicators/rules.py)."""
    return Q(service_type=ServiceType.CASE_MANAGEMENT, registered_on__lte=period.end) & (
        Q(closed_on__isnull=True) | Q(closed_on__gte=period.start)
    )


def still_to_survey(user: User, period: Period, *, scope: Scope) -> CaseQuerySet:
    """The cases in case management during `period` whose person has no survey inside it.

    A survey on any of the person's cases of the agency counts (the indicator counts persons, over
    all their cases). A client whose case was closed because they died is not listed. Each row
    says when the person was last surveyed (before or after the period) and whether the case has
    its open "survey" task for the period. Cases are those the user may write: their own
    (`mine`), or a supervisor's whole team (`team`).
    """
    cases = writable_cases(user)
    if scope == Scope.MINE:
        cases = cases.filter(caseworker_id=user.pk)
    persons_surveys = ParticipationSurvey.objects.filter(
        case__agency_id=OuterRef("agency_id"), case__person_id=OuterRef("person_id")
    )
    return (
        cases.filter(in_case_management(period))
        .exclude(closed_on__isnull=False, closure_reason=ClosureReason.DEATH)
        .exclude(Exists(persons_surveys.filter(surveyed_on__range=(period.start, period.end))))
        .annotate(
            last_surveyed_on=Subquery(
                persons_surveys.order_by("-surveyed_on").values("surveyed_on")[:1]
            ),
            survey_task_open=Exists(
                Task.objects.filter(
                    case_id=OuterRef("pk"),
                    kind=Task.Kind.SURVEY_DUE,
                    subject=survey_task_subject(period),
                    status=Task.Status.OPEN,
                )
            ),
        )
        .select_related("caseworker")
        .order_by("caseworker__username", "reference", "pk")
    )


@dataclass(frozen=True)
class ToSurvey:
    """One line of the list: the case, and what `still_to_survey` annotated on it."""

    case: Case
    last_surveyed_on: datetime.date | None
    survey_task_open: bool


def lines(cases: Iterable[Case]) -> list[ToSurvey]:
    return [
        ToSurvey(
            case=case,
            last_surveyed_on=getattr(case, "last_surveyed_on", None),
            survey_task_open=bool(getattr(case, "survey_task_open", False)),
        )
        for case in cases
    ]
