"""Reads of tasks and notifications that the screens, the API and the team page share.

Each starts from the case gate (casework/cases/access.py): a task or notice about a case the user
can no longer see (handed over, or closed and reassigned) drops out of every list.
"""

from __future__ import annotations

import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from casework.accounts.models import User
from casework.cases import access
from casework.cases.models import WORKING_STATUSES
from casework.worklist.models import Notification, Task

PAGE_SIZE = 50
SHOW = ("all", "overdue", "today")


def end_of_today(now: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(now)
    return (local + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def filter_tasks(
    tasks: QuerySet[Task], show: str, now: datetime.datetime
) -> tuple[QuerySet[Task], dict[str, int]]:
    """The tasks to list and how many are overdue (tasks, and the cases they are on), due
    today, and open in all (one query). Overdue is `Task.objects.overdue`'s rule."""
    tonight = end_of_today(now)
    late = Q(due_at__lt=now, case__status__in=WORKING_STATUSES)
    counts = tasks.aggregate(
        overdue=Count("id", filter=late),
        overdue_cases=Count("case_id", filter=late, distinct=True),
        today=Count("id", filter=Q(due_at__gte=now, due_at__lt=tonight)),
        all=Count("id"),
    )
    if show == "overdue":
        tasks = tasks.filter(late)
    elif show == "today":
        tasks = tasks.filter(due_at__lt=tonight)
    return tasks.order_by("due_at", "id"), counts


def tasks_for(user: User) -> QuerySet[Task]:
    """Open tasks `user` is to do, on cases they may still see."""
    return (
        Task.objects.open()
        .for_user(user)
        .filter(case__in=access.visible_cases(user))
        .select_related("case", "assignee")
    )


def team_tasks_for(user: User) -> QuerySet[Task]:
    """Open tasks on every case `user` may see (for a supervisor: the team's)."""
    return (
        Task.objects.open()
        .filter(case__in=access.visible_cases(user))
        .select_related("case", "assignee", "case__caseworker")
    )


def overdue_tasks_for_team(user: User) -> QuerySet[Task]:
    return Task.objects.overdue(timezone.now()).filter(case__in=access.visible_cases(user))


def overdue_cases_for_team(user: User) -> int:
    """How many of the cases `user` may see are overdue (`Case.objects.overdue`): the team
    page's total, which its caseload column adds up to."""
    return access.visible_cases(user).overdue(timezone.now()).count()


def notifications_for(user: User) -> QuerySet[Notification]:
    """The user's notices, about cases they may still see (a case handed over drops out)."""
    return (
        Notification.objects.filter(user_id=user.pk)
        .filter(Q(case=None) | Q(case__in=access.visible_cases(user)))
        .select_related("case", "task")
    )
