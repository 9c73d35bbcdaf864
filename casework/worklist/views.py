"""The worklist: my tasks (and my team's, for a supervisor) due today and overdue, and my
notifications. Tasks name cases by reference only: the list carries no personal data."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.core.errors import CaseworkError
from casework.worklist import access as worklist_access
from casework.worklist import selectors, services


def scope_of(request: AuthenticatedHttpRequest) -> str:
    may_see_team = request.user.has_casework_perm(Perm.REASSIGN_IN_TEAM)
    return "team" if request.GET.get("scope") == "team" and may_see_team else "mine"


@login_required
def task_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.WORK_ON_CASES)
    scope = scope_of(request)
    show = request.GET.get("show") or "all"
    if show not in selectors.SHOW:
        show = "all"
    now = timezone.now()
    tasks = selectors.team_tasks_for(user) if scope == "team" else selectors.tasks_for(user)
    tasks, counts = selectors.filter_tasks(tasks, show, now)
    page = Paginator(tasks, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    notices = selectors.notifications_for(user)
    context: dict[str, Any] = {
        "page": page,
        "counts": counts,
        "scope": scope,
        "show_holder": scope == "team",
        "show": show,
        "now": now,
        "tonight": selectors.end_of_today(now),
        "may_see_team": user.has_casework_perm(Perm.REASSIGN_IN_TEAM),
        "notifications": notices[:20],
        "unread": notices.filter(read_at=None).count(),
    }
    return render(request, "worklist/list.html", context)


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("worklist:list")


@login_required
@require_http_methods(["POST"])
def complete(request: AuthenticatedHttpRequest, task_pk: int) -> HttpResponse:
    task = worklist_access.get_task_for_user(request.user, task_pk)
    try:
        services.complete_task(task, by=request.user)
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Task marked done."))
    return _back(request)


@login_required
@require_http_methods(["POST"])
def read(request: AuthenticatedHttpRequest, notification_pk: int) -> HttpResponse:
    notice = worklist_access.get_notification_for_user(request.user, notification_pk)
    services.mark_read(notice, by=request.user)
    return _back(request)


@login_required
@require_http_methods(["POST"])
def read_all(request: AuthenticatedHttpRequest) -> HttpResponse:
    services.mark_all_read(by=request.user)
    return _back(request)
