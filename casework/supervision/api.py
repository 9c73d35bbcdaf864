"""/api/v1/supervision: supervision sessions, the same services and gate as the screens.

A session is seen by its supervisor and the caseworkers who took part (404 for anyone else,
exactly as for a session that does not exist); inside it, the cases discussed and the actions
agreed show only where the caller may see the case. Only the session's supervisor adds to it.
Ids in a body that name no caseworker of the team or no case of the session are a 400
`invalid_fields` naming the field; nothing is saved.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.models import User
from casework.accounts.roles import Perm, Role
from casework.cases import access as case_access
from casework.cases.models import Case
from casework.core.api import answers
from casework.core.api import paginate as paginate_rows
from casework.core.errors import FieldErrors
from casework.supervision import access, selectors, services
from casework.supervision.models import AgreedAction, DiscussedCase, SupervisionSession

router = Router(tags=["supervision"])


# --- schemas ------------------------------------------------------------------------------------


class DiscussedIn(Schema):
    case_id: int
    decisions: str = Field("", description="What was decided about the case.")


class ActionIn(Schema):
    case_id: int = Field(description="A case discussed in the session.")
    text: str = Field(description="What is to be done.")
    assignee_id: int = Field(
        description="Who does it: a caseworker of the session, or its supervisor."
    )
    due_on: datetime.date = Field(description="Due by the end of this day; it becomes a task.")


class SessionIn(Schema):
    kind: Literal["individual", "group"]
    held_on: datetime.date
    caseworker_ids: list[int] = Field(
        description="Caseworkers of the supervisor's team: one for an individual session, two "
        "or more for a group."
    )
    cases: list[DiscussedIn] = Field([], description="The cases discussed (held by them).")
    actions: list[ActionIn] = Field([], description="The actions agreed on those cases.")


class DiscussedOut(Schema):
    case_id: int
    case_reference: str
    held_on: datetime.date
    decisions: str


class ActionOut(Schema):
    id: int
    session_id: int
    case_id: int
    text: str
    assignee: str
    due_on: datetime.date
    task_id: int | None
    task_status: str | None


class SessionSummaryOut(Schema):
    id: int
    kind: str
    held_on: datetime.date
    supervisor: str
    caseworkers: list[str]
    case_count: int
    action_count: int


class SessionOut(Schema):
    id: int
    kind: str
    held_on: datetime.date
    supervisor: str
    caseworkers: list[str]
    cases: list[DiscussedOut]
    actions: list[ActionOut]


class SessionPageOut(Schema):
    count: int
    page: int
    pages: int
    items: list[SessionSummaryOut]


class CaseSupervisionOut(Schema):
    session_id: int
    kind: str
    held_on: datetime.date
    supervisor: str
    decisions: str


# --- shaping ------------------------------------------------------------------------------------


def _discussed(item: DiscussedCase) -> dict[str, Any]:
    return {
        "case_id": item.case_id,
        "case_reference": item.case.reference,
        "held_on": item.held_on,
        "decisions": item.decisions,
    }


def _action(action: AgreedAction) -> dict[str, Any]:
    return {
        "id": action.pk,
        "session_id": action.session_id,
        "case_id": action.case_id,
        "text": action.text,
        "assignee": action.assignee.username,
        "due_on": action.due_on,
        "task_id": action.task_id,
        "task_status": action.task.status if action.task else None,
    }


def _session(session: SupervisionSession, user: User) -> dict[str, Any]:
    return {
        "id": session.pk,
        "kind": session.kind,
        "held_on": session.held_on,
        "supervisor": session.supervisor.username,
        "caseworkers": sorted(person.username for person in session.caseworkers.all()),
        "cases": [_discussed(item) for item in access.discussed_shown(session, user)],
        "actions": [_action(action) for action in access.actions_shown(session, user)],
    }


def _team_members(by: User, ids: list[int]) -> list[User]:
    found = list(
        User.objects.filter(
            pk__in=ids,
            agency_id=by.agency_id or 0,
            team_id=by.team_id or 0,
            is_active=True,
            role__in=[Role.CASEWORKER, Role.SUPERVISOR],
        )
    )
    if len(found) != len(set(ids)):
        raise FieldErrors({"caseworker_ids": [_("Choose caseworkers of your own team.")]})
    return found


def _cases(by: User, ids: list[int], field: str) -> dict[int, Case]:
    found = {case.pk: case for case in case_access.visible_cases(by).filter(pk__in=ids)}
    if set(ids) - set(found):
        raise FieldErrors({field: [_("Choose cases of your team.")]})
    return found


def _action_details(
    by: User, item: ActionIn, cases: dict[int, Case], people: dict[int, User]
) -> services.ActionDetails:
    if item.case_id not in cases:
        raise FieldErrors({"actions.case_id": [_("Agree actions on the cases discussed.")]})
    if item.assignee_id not in people:
        raise FieldErrors(
            {"actions.assignee_id": [_("The action is done by someone who took part.")]}
        )
    return services.ActionDetails(
        case=cases[item.case_id],
        text=item.text,
        assignee=people[item.assignee_id],
        due_on=item.due_on,
    )


# --- sessions -----------------------------------------------------------------------------------


@router.get(
    "/sessions",
    response=answers(SessionPageOut, 404),
    summary="The supervision sessions I led or took part in, newest first",
    description="Caseworkers and supervisors; 404 for other roles. 50 a page.",
)
def list_sessions(request: AuthenticatedHttpRequest, page: int = 1) -> Any:
    user = require_perm(request.user, Perm.WORK_ON_CASES)
    found = paginate_rows(selectors.sessions_for(user), page, selectors.PAGE_SIZE)
    return {
        "count": found.count,
        "page": found.page,
        "pages": found.pages,
        "items": [
            {
                "id": session.pk,
                "kind": session.kind,
                "held_on": session.held_on,
                "supervisor": session.supervisor.username,
                "caseworkers": sorted(person.username for person in session.caseworkers.all()),
                "case_count": session.case_count,  # type: ignore[attr-defined]  # annotated
                "action_count": session.action_count,  # type: ignore[attr-defined]  # annotated
            }
            for session in found.items
        ],
    }


@router.post(
    "/sessions",
    response=answers(SessionOut, 400, 403, 404, status=201),
    summary="Record a supervision session (supervisors)",
    description=(
        "A session held with caseworkers of the supervisor's team, the cases discussed (held by "
        "them) with the decisions taken, and the actions agreed: each action becomes a task, due "
        "by the end of its day, on the worklist of whoever is to do it. 404 for other roles."
    ),
)
def record_session(request: AuthenticatedHttpRequest, payload: SessionIn) -> Any:
    user = require_perm(request.user, Perm.REASSIGN_IN_TEAM)
    people = {person.pk: person for person in _team_members(user, payload.caseworker_ids)}
    cases = _cases(user, [item.case_id for item in payload.cases], "cases")
    session = services.record_session(
        by=user,
        details=services.SessionDetails(
            kind=payload.kind,
            held_on=payload.held_on,
            caseworkers=list(people.values()),
            discussed=[
                services.DiscussionDetails(cases[item.case_id], item.decisions)
                for item in payload.cases
            ],
            actions=[
                _action_details(user, item, cases, people | {user.pk: user})
                for item in payload.actions
            ],
        ),
    )
    return Status(201, _session(session, user))


@router.get(
    "/sessions/{session_id}",
    response=answers(SessionOut, 404),
    summary="A supervision session (its supervisor and caseworkers only)",
)
def get_session(request: AuthenticatedHttpRequest, session_id: int) -> Any:
    user = request.user
    return _session(access.get_session_for_user(user, session_id), user)


@router.post(
    "/sessions/{session_id}/cases",
    response=answers(DiscussedOut, 400, 403, 404, status=201),
    summary="Add a case discussed in the session, with its decisions (its supervisor)",
)
def add_case(request: AuthenticatedHttpRequest, session_id: int, payload: DiscussedIn) -> Any:
    user = request.user
    session = access.get_session_for_user(user, session_id, write=True)
    case = _cases(user, [payload.case_id], "case_id")[payload.case_id]
    discussed = services.add_discussed_case(
        session, by=user, case=case, decisions=payload.decisions
    )
    return Status(201, _discussed(discussed))


@router.post(
    "/sessions/{session_id}/actions",
    response=answers(ActionOut, 400, 403, 404, status=201),
    summary="Add an action agreed in the session; it becomes a task (its supervisor)",
)
def add_action(request: AuthenticatedHttpRequest, session_id: int, payload: ActionIn) -> Any:
    user = request.user
    session = access.get_session_for_user(user, session_id, write=True)
    cases = {
        case.pk: case
        for case in case_access.visible_cases(user).filter(supervisions__session=session)
    }
    people = {person.pk: person for person in session.caseworkers.all()}
    people[user.pk] = user
    action = services.agree_action(
        session, by=user, action=_action_details(user, payload, cases, people)
    )
    return Status(201, _action(action))


@router.get(
    "/cases/{case_id}/sessions",
    response=answers(list[CaseSupervisionOut], 404),
    summary="A case's supervision, newest first: the sessions I led or took part in",
    description=(
        "The first item is the case's last supervision. 404 for those who may not see the case, "
        "and for roles that take no part in supervision."
    ),
)
def case_sessions(request: AuthenticatedHttpRequest, case_id: int) -> Any:
    user = request.user
    # The role first: a refused role leaves no "case file read" in the audit trail.
    require_perm(user, Perm.WORK_ON_CASES)
    case = case_access.get_case_for_user(user, case_id)
    return [
        {
            "session_id": item.session_id,
            "kind": item.session.kind,
            "held_on": item.held_on,
            "supervisor": item.session.supervisor.username,
            "decisions": item.decisions,
        }
        for item in selectors.case_sessions(case, user)
    ]
