"""Recording supervision: a session with its cases, decisions and agreed actions.

Each service is keyword-only, in a transaction, validates before it writes and writes its audit
entries (codes and ids only) in the same transaction. An agreed action opens its task on the
worklist (casework/worklist/services.py) of the person who is to do it, due by the end of the
day agreed; the task closes like any other, when it is marked done.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.access import check_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm, Role
from casework.audit.log import record
from casework.cases import access as case_access
from casework.cases.models import OPEN_STATUSES, Case
from casework.core.errors import CaseworkError, FieldErrors
from casework.core.text import too_long
from casework.supervision.models import AgreedAction, DiscussedCase, SupervisionSession
from casework.worklist import services as worklist
from casework.worklist.models import Task

# The longest texts a session keeps (the screen's text areas say the same).
DECISIONS_LIMIT = 4000
ACTION_LIMIT = 1000


@dataclass(frozen=True)
class DiscussionDetails:
    case: Case
    decisions: str = ""


@dataclass(frozen=True)
class ActionDetails:
    case: Case
    text: str
    assignee: User
    due_on: datetime.date


@dataclass(frozen=True)
class SessionDetails:
    kind: str
    held_on: datetime.date
    caseworkers: Sequence[User]
    discussed: Sequence[DiscussionDetails] = field(default_factory=tuple)
    actions: Sequence[ActionDetails] = field(default_factory=tuple)


def _check_caseworkers(by: User, details: SessionDetails) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    people = list(details.caseworkers)
    if any(
        person.agency_id != by.agency_id
        or person.team_id != by.team_id
        or not person.is_active
        or person.role not in (Role.CASEWORKER, Role.SUPERVISOR)
        or person.pk == by.pk
        for person in people
    ):
        errors["caseworkers"] = [_("Choose caseworkers of your own team.")]
    elif details.kind == SupervisionSession.Kind.INDIVIDUAL and len(people) != 1:
        errors["caseworkers"] = [_("An individual session is with one caseworker.")]
    elif details.kind == SupervisionSession.Kind.GROUP and len(people) < 2:
        errors["caseworkers"] = [_("A group session is with two caseworkers or more.")]
    return errors


def _check_case(by: User, case: Case, caseworker_ids: set[int]) -> str | None:
    """Why `case` cannot be discussed in a session of `by` with these caseworkers, if so."""
    if not case_access.visible_cases(by).filter(pk=case.pk).exists():
        return _("Choose cases of your team.")
    if case.status not in OPEN_STATUSES:
        return _("Only open cases are discussed in supervision.")
    if case.caseworker_id not in caseworker_ids:
        # Everyone in the session reads what is decided: only the cases they hold.
        return _("Discuss the cases held by the caseworkers in the session.")
    return None


def _check_action(
    action: ActionDetails, *, held_on: datetime.date, case_ids: set[int], people: set[int]
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not action.text.strip():
        errors["text"] = [_("Say what is to be done.")]
    elif message := too_long(action.text, ACTION_LIMIT):
        errors["text"] = [message]
    if action.case.pk not in case_ids:
        errors["case"] = [_("Agree actions on the cases discussed in the session.")]
    if action.assignee.pk not in people:
        errors["assignee"] = [_("The action is done by someone who took part in the session.")]
    if action.due_on < held_on:
        errors["due_on"] = [_("The action cannot be due before the session.")]
    return errors


def _write_action(session: SupervisionSession, action: ActionDetails, *, by: User) -> AgreedAction:
    agreed = AgreedAction.objects.create(
        session=session,
        case=action.case,
        text=action.text.strip(),
        assignee=action.assignee,
        due_on=action.due_on,
    )
    agreed.task = worklist.open_task(
        action.case,
        kind=Task.Kind.SUPERVISION_ACTION,
        due_at=worklist.due_by_end_of(action.due_on),
        source=agreed,
        assignee=action.assignee,
        by=by,
    )
    agreed.save(update_fields=["task"])
    record(
        "supervision.action.agreed",
        by=by,
        target=agreed,
        case_id=action.case.pk,
        data={"session": session.pk, "task": agreed.task.pk},
    )
    return agreed


def _write_discussion(
    session: SupervisionSession, discussion: DiscussionDetails, *, by: User
) -> DiscussedCase:
    try:
        with transaction.atomic():
            discussed = DiscussedCase.objects.create(
                session=session,
                case=discussion.case,
                decisions=discussion.decisions.strip(),
                held_on=session.held_on,
            )
    except IntegrityError:
        raise FieldErrors({"case": [_("This case is already in the session.")]}) from None
    record(
        "supervision.case.discussed",
        by=by,
        target=discussed,
        case_id=discussion.case.pk,
        data={"session": session.pk, "with_decisions": bool(discussed.decisions)},
    )
    return discussed


@transaction.atomic
def record_session(*, by: User, details: SessionDetails) -> SupervisionSession:
    """A supervisor records a session held with caseworkers of the team: the cases discussed
    with their decisions, and the actions agreed (each a task on the worklist)."""
    check_perm(by, Perm.REASSIGN_IN_TEAM)
    if by.team_id is None or by.agency_id is None:
        raise CaseworkError(_("Only the supervisor of a team records supervision."))
    errors: dict[str, list[str]] = {}
    if details.kind not in SupervisionSession.Kind.values:
        errors["kind"] = [_("Choose individual or group.")]
    if details.held_on > timezone.localdate():
        errors["held_on"] = [_("Record a session once it has been held.")]
    errors.update(_check_caseworkers(by, details))
    caseworker_ids = {person.pk for person in details.caseworkers}
    case_ids = [discussion.case.pk for discussion in details.discussed]
    if len(set(case_ids)) != len(case_ids):
        errors["cases"] = [_("Each case is discussed once in a session.")]
    for discussion in details.discussed:
        problem = _check_case(by, discussion.case, caseworker_ids)
        if problem:
            errors.setdefault("cases", []).append(problem)
            break
    for discussion in details.discussed:
        if message := too_long(discussion.decisions, DECISIONS_LIMIT):
            errors["decisions"] = [message]
    for action in details.actions:
        for name, messages in _check_action(
            action,
            held_on=details.held_on,
            case_ids=set(case_ids),
            people=caseworker_ids | {by.pk},
        ).items():
            errors.setdefault(f"actions.{name}", []).extend(messages)
    if errors:
        raise FieldErrors(errors)
    session = SupervisionSession.objects.create(
        agency_id=by.agency_id,
        team_id=by.team_id,
        kind=details.kind,
        held_on=details.held_on,
        supervisor=by,
    )
    session.caseworkers.set(details.caseworkers)
    record(
        "supervision.session.recorded",
        by=by,
        target=session,
        agency_id=by.agency_id,
        data={
            "kind": details.kind,
            "caseworkers": len(caseworker_ids),
            "cases": len(case_ids),
            "actions": len(details.actions),
        },
    )
    for discussion in details.discussed:
        _write_discussion(session, discussion, by=by)
    for action in details.actions:
        _write_action(session, action, by=by)
    return session


def _caseworker_ids(session: SupervisionSession) -> set[int]:
    return set(session.caseworkers.values_list("pk", flat=True))


@transaction.atomic
def add_discussed_case(
    session: SupervisionSession, *, by: User, case: Case, decisions: str = ""
) -> DiscussedCase:
    """Add a case discussed in the session, with what was decided (the session's supervisor,
    who loaded it through the gate for writing)."""
    check_perm(by, Perm.REASSIGN_IN_TEAM)
    problem = _check_case(by, case, _caseworker_ids(session))
    if problem:
        raise FieldErrors({"case": [problem]})
    if message := too_long(decisions, DECISIONS_LIMIT):
        raise FieldErrors({"decisions": [message]})
    return _write_discussion(session, DiscussionDetails(case, decisions), by=by)


@transaction.atomic
def agree_action(session: SupervisionSession, *, by: User, action: ActionDetails) -> AgreedAction:
    """Add an action agreed in the session on one of its cases; it opens its task."""
    check_perm(by, Perm.REASSIGN_IN_TEAM)
    errors = _check_action(
        action,
        held_on=session.held_on,
        case_ids=set(session.discussed.values_list("case_id", flat=True)),
        people=_caseworker_ids(session) | {session.supervisor_id},
    )
    if not errors and action.case.status not in OPEN_STATUSES:
        errors["case"] = [_("Only open cases are given actions.")]
    if errors:
        raise FieldErrors(errors)
    return _write_action(session, action, by=by)
