"""The gate to tasks and notifications.

A task belongs to a case and is completed by someone who may change that case
(casework/cases/access.py); a notification is its recipient's only. Anything else, like a record
that does not exist, is a 404.
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _

from casework.accounts.models import User
from casework.cases import access as case_access
from casework.core.http import as_id
from casework.worklist.models import Notification, Task


def get_task_for_user(user: User, task_id: int | str | None) -> Task:
    """An open or closed task of a case `user` may change."""
    pk = as_id(task_id)
    case_id = Task.objects.filter(pk=pk).values_list("case_id", flat=True).first()
    case = case_access.get_case_for_user(user, case_id or 0, write=True)
    task = Task.objects.filter(pk=pk, case=case).select_related("assignee").first()
    if task is None:
        raise Http404(_("No such task."))
    task.case = case
    return task


def get_notification_for_user(user: User, notification_id: int | str | None) -> Notification:
    """One of `user`'s own notifications."""
    notice = (
        Notification.objects.filter(pk=as_id(notification_id), user_id=user.pk or 0)
        .select_related("case")
        .first()
    )
    if notice is None:
        raise Http404(_("No such notification."))
    return notice
