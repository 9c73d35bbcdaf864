"""The task and notification gate (casework/worklist/access.py), called directly: a task is
reached by whoever may change its case, a notification by its recipient only, and a task that
does not exist names no case in the audit trail."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.worklist import access, services
from casework.worklist.models import Notification, Task

MISSING = 987654


@pytest.fixture
def overdue(case: Any) -> Task:
    task = services.open_task(
        case, kind="plan_due", due_at=timezone.now() - datetime.timedelta(hours=1)
    )
    services.mark_overdue()
    return task


def test_a_task_is_reached_by_those_who_may_change_its_case(
    overdue: Task, amina: Any, sam: Any, paul: Any, omar: Any, xena: Any
) -> None:
    for user in (amina, sam):
        found = access.get_task_for_user(user, overdue.pk)
        assert found == overdue and found.case.pk == overdue.case_id
    for user in (paul, omar, xena):
        with pytest.raises(Http404):
            access.get_task_for_user(user, overdue.pk)


def test_a_missing_task_is_refused_without_naming_any_case(case: Any, amina: Any) -> None:
    # No case is loaded on the way to the 404: the refusal is of "no case", not of case 1 or -1.
    for task_id in (MISSING, "not-a-number"):
        with pytest.raises(Http404):
            access.get_task_for_user(amina, task_id)
    refused = AuditEntry.objects.filter(action="cases.case.denied", actor=amina)
    assert [entry.case_id for entry in refused] == [None, None]


def test_a_notification_is_its_recipients_only(overdue: Task, amina: Any, sam: Any) -> None:
    notice = Notification.objects.get(user=amina)
    assert access.get_notification_for_user(amina, notice.pk) == notice
    for user, notice_id in ((sam, notice.pk), (amina, MISSING)):
        with pytest.raises(Http404):
            access.get_notification_for_user(user, notice_id)
