"""/api/v1/feedback: the participation survey (seed 000) and the exit interview (seed 004), and
who is still to be surveyed this data-collection period. The same services as the screens.

A case is loaded through the access gate: a case the caller may not see, or may not change when
recording, is a 404, exactly as if it did not exist. The survey's branching (Q1 → Q2 → Q3 and
where it stops) is checked by the service the survey screen calls too; a refused path answers
400 `invalid_fields`, naming the field (`q2_involved`, `q3_ways`) and saving nothing.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Query, Router, Schema, Status

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.models import User
from casework.accounts.roles import Perm, Sensitive
from casework.cases import access
from casework.core.api import READ_LATER, DocumentedAs, RawBody, answers, checked_body, if_match
from casework.core.api import paginate as paginate_rows
from casework.core.periods import Period
from casework.feedback import selectors, services
from casework.feedback.models import ExitInterview, ParticipationSurvey, ParticipationWay, Rating

router = Router(tags=["feedback"])

PERIOD_HELP = (
    "The data-collection period: 2026-07 (a month), 2026-Q3 (a quarter), 2026 (a year) or "
    "2026-07-01..2026-09-30. Default: the quarter under way."
)
SCOPE_HELP = "mine: the cases I hold; team: every case of my team (supervisors)."


# --- schemas ------------------------------------------------------------------------------------


class SurveyIn(Schema):
    surveyed_on: datetime.date | None = Field(None, description="Default: today.")
    q1_aware: bool = Field(
        description="Q1. Do you know that the project developed a case management plan for you? "
        "No: the survey stops here (send neither q2_involved nor q3_ways)."
    )
    q2_involved: bool | None = Field(
        None,
        description="Q2. Do you feel you were involved in the decision making in the case "
        "management process? Required when q1_aware is true, refused when it is false. No: the "
        "survey stops here.",
    )
    q3_ways: list[ParticipationWay] = Field(
        [],
        description="Q3. How were you involved in the decision making? One or more, required "
        "when q2_involved is true, refused otherwise.",
    )


class SurveyOut(Schema):
    id: int
    case_id: int
    surveyed_on: datetime.date
    q1_aware: bool
    q2_involved: bool | None  # null: not asked (Q1 was no)
    q3_ways: list[str]
    surveyed_by: str | None
    by_own_caseworker: bool
    recorded_at: datetime.datetime


class ExitInterviewIn(Schema):
    interviewed_on: datetime.date | None = Field(None, description="Default: today.")
    overall: Rating = Field(description="1 very dissatisfied … 5 very satisfied.")
    needs_met: Literal["yes", "partly", "no"]
    felt_respected: bool | None = None
    felt_safe: bool | None = None
    confidentiality_kept: bool | None = None
    would_recommend: bool | None = None
    comments: str = ""


class ExitInterviewOut(Schema):
    id: int
    case_id: int
    interviewed_on: datetime.date
    overall: int
    needs_met: str
    felt_respected: bool | None
    felt_safe: bool | None
    confidentiality_kept: bool | None
    would_recommend: bool | None
    comments: str | None  # null for roles that do not see free text
    interviewed_by: str | None
    recorded_at: datetime.datetime


class PeriodOut(Schema):
    period: str
    start: datetime.date
    end: datetime.date


class ToSurveyOut(Schema):
    case_id: int
    reference: str
    caseworker: str | None
    status: str
    registered_on: datetime.date | None
    closed_on: datetime.date | None
    last_surveyed_on: datetime.date | None
    survey_task_open: bool


class ToSurveyPageOut(Schema):
    period: PeriodOut
    scope: str
    count: int
    page: int
    pages: int
    items: list[ToSurveyOut]


class SurveyTasksOut(Schema):
    period: PeriodOut
    scope: str
    opened: int
    already_open: int


# --- shaping ------------------------------------------------------------------------------------


def _name(user: User | None) -> str | None:
    return user.username if user is not None else None


def _survey(survey: ParticipationSurvey, case_caseworker_id: int | None) -> dict[str, Any]:
    return {
        "id": survey.pk,
        "case_id": survey.case_id,
        "surveyed_on": survey.surveyed_on,
        "q1_aware": survey.q1_aware,
        "q2_involved": survey.q2_involved,
        "q3_ways": survey.q3_ways,
        "surveyed_by": _name(survey.surveyed_by),
        "by_own_caseworker": survey.surveyed_by_id is not None
        and survey.surveyed_by_id == case_caseworker_id,
        "recorded_at": survey.created_at,
    }


def _interview(interview: ExitInterview, user: User) -> dict[str, Any]:
    return {
        "id": interview.pk,
        "case_id": interview.case_id,
        "interviewed_on": interview.interviewed_on,
        "overall": interview.overall,
        "needs_met": interview.needs_met,
        "felt_respected": interview.felt_respected,
        "felt_safe": interview.felt_safe,
        "confidentiality_kept": interview.confidentiality_kept,
        "would_recommend": interview.would_recommend,
        "comments": interview.comments if user.sees(Sensitive.FREE_TEXT) else None,
        "interviewed_by": _name(interview.interviewed_by),
        "recorded_at": interview.created_at,
    }


def _period(period: Period) -> dict[str, Any]:
    return {"period": str(period), "start": period.start, "end": period.end}


# --- a case's surveys ---------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/surveys",
    response=answers(list[SurveyOut], 404),
    summary="A case's participation surveys, newest first",
)
def list_surveys(request: AuthenticatedHttpRequest, case_id: int) -> Any:
    case = access.get_case_for_user(request.user, case_id)
    return [_survey(survey, case.caseworker_id) for survey in selectors.surveys_of(case)]


@router.post(
    "/cases/{case_id}/surveys",
    response=answers(SurveyOut, 400, 403, 404, 412, status=201),
    summary="Record a participation survey (seed 000: Q1 → Q2 → Q3)",
    description=(
        "Q1 no stops the survey: q2_involved and q3_ways must be empty. Q1 yes needs Q2; Q2 no "
        "stops the survey: q3_ways must be empty. Q2 yes needs at least one Q3 way. A path that "
        "breaks these rules is refused with 400 `invalid_fields` naming the field, and nothing "
        "is saved: the same rules, in the same service, as the survey screen. The survey closes "
        "the person's open survey tasks of the periods that contain its date. If-Match is "
        "optional (the case's ETag): a survey adds, it overwrites nothing."
    ),
    openapi_extra=if_match(required=False),
)
def record_survey(
    request: AuthenticatedHttpRequest,
    case_id: int,
    payload: Annotated[RawBody, DocumentedAs(SurveyIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, SurveyIn, payload, version=case.version, required=False)
    survey = services.record_participation_survey(
        case,
        by=user,
        q1_aware=data.q1_aware,
        q2_involved=data.q2_involved,
        q3_ways=[str(way) for way in data.q3_ways],
        surveyed_on=data.surveyed_on,
    )
    return Status(201, _survey(survey, case.caseworker_id))


@router.get(
    "/cases/{case_id}/exit-interviews",
    response=answers(list[ExitInterviewOut], 404),
    summary="A case's exit interviews, newest first",
)
def list_exit_interviews(request: AuthenticatedHttpRequest, case_id: int) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id)
    return [_interview(interview, user) for interview in selectors.exit_interviews_of(case)]


@router.post(
    "/cases/{case_id}/exit-interviews",
    response=answers(ExitInterviewOut, 400, 403, 404, 412, status=201),
    summary="Record an exit interview (seed 004: client satisfaction at closure)",
    description="If-Match is optional (the case's ETag): an interview adds, it overwrites nothing.",
    openapi_extra=if_match(required=False),
)
def record_exit_interview(
    request: AuthenticatedHttpRequest,
    case_id: int,
    payload: Annotated[RawBody, DocumentedAs(ExitInterviewIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, ExitInterviewIn, payload, version=case.version, required=False)
    interview = services.record_exit_interview(
        case,
        by=user,
        overall=int(data.overall),
        needs_met=data.needs_met,
        felt_respected=data.felt_respected,
        felt_safe=data.felt_safe,
        confidentiality_kept=data.confidentiality_kept,
        would_recommend=data.would_recommend,
        comments=data.comments,
        interviewed_on=data.interviewed_on,
    )
    return Status(201, _interview(interview, user))


# --- still to survey this period ----------------------------------------------------------------


@router.get(
    "/still-to-survey",
    response=answers(ToSurveyPageOut, 400, 404),
    summary="Clients still to survey this data-collection period (mine, or my team's)",
    description=(
        "Seed 000: every client in case management is surveyed once each data-collection "
        "period. Lists the caller's cases in case management during the period (registered by "
        "its end, not closed before its start: the PARTICIPATION indicator's denominator) whose "
        "person has no participation survey dated inside it, on any of their cases. Case "
        "references only, 50 a page. Caseworkers and supervisors; 404 for other roles."
    ),
)
def still_to_survey(
    request: AuthenticatedHttpRequest,
    period: str | None = Query(None, description=PERIOD_HELP),
    scope: Literal["mine", "team"] = Query("mine", description=SCOPE_HELP),
    page: int = 1,
) -> Any:
    user = request.user
    require_perm(user, Perm.WORK_ON_CASES)
    asked = selectors.survey_period(period)
    shown = selectors.scope_for(user, scope)
    found = paginate_rows(
        selectors.still_to_survey(user, asked, scope=shown), page, selectors.PAGE_SIZE
    )
    return {
        "period": _period(asked),
        "scope": shown,
        "count": found.count,
        "page": found.page,
        "pages": found.pages,
        "items": [
            {
                "case_id": line.case.pk,
                "reference": line.case.reference,
                "caseworker": _name(line.case.caseworker),
                "status": line.case.status,
                "registered_on": line.case.registered_on,
                "closed_on": line.case.closed_on,
                "last_surveyed_on": line.last_surveyed_on,
                "survey_task_open": line.survey_task_open,
            }
            for line in selectors.lines(found.items)
        ],
    }


@router.post(
    "/still-to-survey/tasks",
    response=answers(SurveyTasksOut, 400, 403, 404),
    summary="Open a 'survey this client' task on each case still to survey",
    description=(
        "One task per case listed by GET /still-to-survey (the same period and scope), due by "
        "the period's last day, in the worklist of whoever holds the case. A case that already "
        "has its task for the period keeps it: sending this twice opens nothing more. A "
        "survey closes the task. Refused (400 `period_ended`) for a period already over."
    ),
)
def open_survey_tasks(
    request: AuthenticatedHttpRequest,
    period: str | None = Query(None, description=PERIOD_HELP),
    scope: Literal["mine", "team"] = Query("mine", description=SCOPE_HELP),
) -> Any:
    user = request.user
    require_perm(user, Perm.WORK_ON_CASES)
    asked = selectors.survey_period(period)
    shown = selectors.scope_for(user, scope)
    cases = list(selectors.still_to_survey(user, asked, scope=shown))
    made = services.open_survey_tasks(cases, period=asked, by=user)
    return {
        "period": _period(asked),
        "scope": shown,
        "opened": made.opened,
        "already_open": made.already_open,
    }
