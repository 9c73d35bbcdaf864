"""The gate to supervision sessions.

A session is seen by its supervisor and by the caseworkers who took part, and by nobody else:
not a colleague of the same team, not another team's supervisor, not the programme manager
(supervision is a professional conversation about a caseworker's practice, not a report), not
M&E, not a partner, not another agency. Inside a session one sees the cases discussed only
where one may see the case itself (casework/cases/access.py): in a group session a caseworker
reads what was said about her own cases. Only the session's supervisor adds to it. Anything
else, like a session that does not exist, is the same 404.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from casework.accounts.access import Requester, is_member, refusal
from casework.accounts.roles import Perm
from casework.cases import access as case_access
from casework.core.http import as_id
from casework.supervision.models import AgreedAction, DiscussedCase, SupervisionSession


def may_take_part(user: Requester) -> bool:
    """Caseworkers and supervisors take part in supervision; other roles never see it."""
    return is_member(user) and user.has_casework_perm(Perm.WORK_ON_CASES)


def visible_sessions(user: Requester) -> QuerySet[SupervisionSession]:
    """The sessions `user` led or took part in."""
    if not is_member(user) or not may_take_part(user):
        return SupervisionSession.objects.none()
    took_part = SupervisionSession.caseworkers.through.objects.filter(user_id=user.pk).values(
        "supervisionsession_id"
    )
    return SupervisionSession.objects.filter(agency_id=user.agency_id or 0).filter(
        Q(supervisor_id=user.pk) | Q(pk__in=took_part)
    )


def get_session_for_user(
    user: Requester, session_id: int | str | None, *, write: bool = False
) -> SupervisionSession:
    """The session, if `user` may see it (or, to add to it, if `user` led it); else 404."""
    pk = as_id(session_id)
    sessions = visible_sessions(user)
    if write:
        sessions = sessions.filter(supervisor_id=getattr(user, "pk", None))
    session = sessions.select_related("supervisor", "team").filter(pk=pk).first()
    if session is None:
        raise refusal(
            "supervision.session.denied",
            by=user,
            message=_("No such supervision session."),
            data={"session": pk or None, "write": write},
        )
    return session


def discussed_shown(session: SupervisionSession, user: Requester) -> QuerySet[DiscussedCase]:
    """The cases of `session` that `user` may see, with what was decided."""
    return session.discussed.filter(case__in=case_access.visible_cases(user)).select_related("case")


def actions_shown(session: SupervisionSession, user: Requester) -> QuerySet[AgreedAction]:
    return session.actions.filter(case__in=case_access.visible_cases(user)).select_related(
        "case", "assignee", "task"
    )
