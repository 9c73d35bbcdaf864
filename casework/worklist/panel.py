"""The open tasks of a case, on the case page (one query)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from casework.worklist.models import Task


def panel_context(case: Any, user: Any, can_write: bool) -> dict[str, Any]:
    tasks = list(
        Task.objects.filter(case_id=case.pk, status=Task.Status.OPEN)
        .select_related("assignee")
        .order_by("due_at", "id")
    )
    return {"tasks": tasks, "now": timezone.now(), "can_complete": can_write}
