"""/api/v1/tasks: the worklist and notifications, as on the /tasks/ page.

Tasks and notifications name cases by reference only. A task on a case the caller may not see
is a 404, exactly as if it did not exist.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from ninja import Router, Schema

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.cases import access
from casework.core.api import answers, paginate
from casework.worklist import access as worklist_access
from casework.worklist import selectors, services
from casework.worklist.models import Notification, Task

router = Router(tags=["worklist"])


class TaskOut(Schema):
    id: int
    case_id: int
    case_reference: str
    kind: str
    status: str
    due_at: datetime.datetime
    target_at: datetime.datetime | None
    overdue: bool
    assignee: str | None
    created_at: datetime.datetime
    closed_at: datetime.datetime | None


class TaskPageOut(Schema):
    items: list[TaskOut]
    count: int
    overdue: int
    due_today: int
    page: int
    pages: int


class NotificationOut(Schema):
    id: int
    kind: str
    case_id: int | None
    case_reference: str | None
    task_id: int | None
    created_at: datetime.datetime
    read_at: datetime.datetime | None


def _task(task: Task, now: datetime.datetime) -> dict[str, Any]:
    holder = task.assignee or task.case.caseworker
    return {
        "id": task.pk,
        "case_id": task.case_id,
        "case_reference": task.case.reference,
        "kind": task.kind,
        "status": task.status,
        "due_at": task.due_at,
        "target_at": task.target_at,
        "overdue": task.is_overdue(now),
        "assignee": holder.username if holder else None,
        "created_at": task.created_at,
        "closed_at": task.closed_at,
    }


def _notification(notice: Notification) -> dict[str, Any]:
    return {
        "id": notice.pk,
        "kind": notice.kind,
        "case_id": notice.case_id,
        "case_reference": notice.case.reference if notice.case else None,
        "task_id": notice.task_id,
        "created_at": notice.created_at,
        "read_at": notice.read_at,
    }


@router.get("", response=answers(TaskPageOut, 404), summary="My open tasks")
def list_tasks(
    request: AuthenticatedHttpRequest, scope: str = "mine", show: str = "all", page: int = 1
) -> Any:
    """`scope=team` (supervisors): every open task of the team's cases. `show`: all, overdue
    or today (overdue and due before midnight). Soonest due first."""
    user = request.user
    require_perm(user, Perm.WORK_ON_CASES)
    team = scope == "team" and user.has_casework_perm(Perm.REASSIGN_IN_TEAM)
    tasks = selectors.team_tasks_for(user) if team else selectors.tasks_for(user)
    now = timezone.now()
    tasks, counts = selectors.filter_tasks(tasks, show if show in selectors.SHOW else "all", now)
    found = paginate(tasks.select_related("case__caseworker"), page, selectors.PAGE_SIZE)
    return {
        "items": [_task(task, now) for task in found.items],
        "count": found.count,
        "overdue": counts["overdue"],
        "due_today": counts["today"],
        "page": found.page,
        "pages": found.pages,
    }


@router.get("/cases/{case_id}", response=answers(list[TaskOut], 404), summary="A case's tasks")
def case_tasks(request: AuthenticatedHttpRequest, case_id: int, status: str = "open") -> Any:
    """Open tasks of the case (`status=all`: closed ones too, newest first after the open)."""
    case = access.get_case_for_user(request.user, case_id)
    tasks = Task.objects.filter(case_id=case.pk).select_related("assignee")
    if status != "all":
        tasks = tasks.filter(status=Task.Status.OPEN)
    now = timezone.now()
    shown = []
    for task in tasks.order_by("status", "due_at", "id")[:200]:
        task.case = case
        shown.append(_task(task, now))
    return shown


@router.post(
    "/{task_id}/done",
    response=answers(TaskOut, 400, 403, 404),
    summary="Mark a task done",
)
def complete_task(request: AuthenticatedHttpRequest, task_id: int) -> Any:
    user = request.user
    task = worklist_access.get_task_for_user(user, task_id)
    case = task.case
    services.complete_task(task, by=user)
    task.case = case
    return _task(task, timezone.now())


@router.get(
    "/notifications",
    response=answers(list[NotificationOut], 404),
    summary="My notifications, newest first",
)
def list_notifications(request: AuthenticatedHttpRequest, unread: bool = False) -> Any:
    notices = selectors.notifications_for(request.user)
    if unread:
        notices = notices.filter(read_at=None)
    return [_notification(notice) for notice in notices[:100]]


@router.post(
    "/notifications/read-all", response=answers(dict[str, int]), summary="Mark all as read"
)
def read_all(request: AuthenticatedHttpRequest) -> Any:
    return {"marked": services.mark_all_read(by=request.user)}


@router.post(
    "/notifications/{notification_id}/read",
    response=answers(NotificationOut, 404),
    summary="Mark a notification read",
)
def read_notification(request: AuthenticatedHttpRequest, notification_id: int) -> Any:
    user = request.user
    notice = worklist_access.get_notification_for_user(user, notification_id)
    services.mark_read(notice, by=user)
    notice.refresh_from_db()
    return _notification(notice)
