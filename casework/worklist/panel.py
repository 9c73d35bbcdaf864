"""The open tasks of a case, on the case page (one query), and the team's overdue tasks on the
team page."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from casework.accounts.models import User
from casework.cases.models import Case
from casework.worklist import selectors
from casework.worklist.models import Task


def panel_context(case: Case, user: User, can_write: bool) -> dict[str, Any]:
    tasks = list(
        Task.objects.filter(case_id=case.pk, status=Task.Status.OPEN)
        .select_related("assignee")
        .order_by("due_at", "id")
    )
    for task in tasks:
        task.case = case  # for Task.is_overdue, without a query per task
    return {"tasks": tasks, "now": timezone.now(), "can_complete": can_write}


def team_line(user: User) -> dict[str, Any]:
    return {
        "overdue_cases": selectors.overdue_cases_for_team(user),
        "overdue_tasks": selectors.overdue_tasks_for_team(user).count(),
    }
