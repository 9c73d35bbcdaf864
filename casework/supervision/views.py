"""Supervision screens: my sessions, a session, and the supervisor's three steps to record one
(the session, each case discussed with its decisions, each agreed action)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.core.views import run_service_form, then_redirect
from casework.supervision import access, selectors, services
from casework.supervision.forms import ActionForm, DiscussedCaseForm, SessionForm
from casework.supervision.models import SupervisionSession


@login_required
@require_http_methods(["GET"])
def session_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = require_perm(request.user, Perm.WORK_ON_CASES)
    page = Paginator(selectors.sessions_for(user), selectors.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "supervision/list.html",
        {"page": page, "may_lead": user.has_casework_perm(Perm.REASSIGN_IN_TEAM)},
    )


@login_required
@require_http_methods(["GET"])
def session_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    session = access.get_session_for_user(user, pk)
    return render(
        request,
        "supervision/detail.html",
        {
            "session": session,
            "caseworkers": session.caseworkers.order_by("last_name", "first_name", "username"),
            "discussed": access.discussed_shown(session, user),
            "actions": access.actions_shown(session, user),
            "may_add": session.supervisor_id == user.pk,
        },
    )


def _to_session(session: SupervisionSession) -> HttpResponse:
    return HttpResponseRedirect(reverse("supervision:detail", kwargs={"pk": session.pk}))


@login_required
@require_http_methods(["GET", "POST"])
def new_session(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = require_perm(request.user, Perm.REASSIGN_IN_TEAM)
    form = SessionForm(request.POST or None, supervisor=user)
    return run_service_form(
        request,
        form,
        lambda data: services.record_session(
            by=user,
            details=services.SessionDetails(
                kind=data["kind"], held_on=data["held_on"], caseworkers=list(data["caseworkers"])
            ),
        ),
        success=_("Session recorded. Add the cases discussed and the actions agreed."),
        redirect_to=_to_session,
        template="supervision/form.html",
        context={"title": _("Record a supervision session")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def add_case(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    session = access.get_session_for_user(user, pk, write=True)
    form = DiscussedCaseForm(request.POST or None, supervisor=user, session=session)
    return run_service_form(
        request,
        form,
        lambda data: services.add_discussed_case(
            session, by=user, case=data["case"], decisions=data["decisions"]
        ),
        success=_("Case added to the session."),
        redirect_to=then_redirect("supervision:detail", pk=session.pk),
        template="supervision/form.html",
        context={"title": _("A case discussed"), "session": session},
    )


@login_required
@require_http_methods(["GET", "POST"])
def add_action(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    session = access.get_session_for_user(user, pk, write=True)
    form = ActionForm(request.POST or None, supervisor=user, session=session)
    return run_service_form(
        request,
        form,
        lambda data: services.agree_action(
            session,
            by=user,
            action=services.ActionDetails(
                case=data["case"],
                text=data["text"],
                assignee=data["assignee"],
                due_on=data["due_on"],
            ),
        ),
        success=_("Action agreed; it is on the worklist of the person who is to do it."),
        redirect_to=then_redirect("supervision:detail", pk=session.pk),
        template="supervision/form.html",
        context={
            "title": _("An agreed action"),
            "session": session,
            "intro": _("The action becomes a task, due by the end of the day agreed."),
        },
    )
