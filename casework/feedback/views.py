"""Survey screens: the participation survey and the exit interview, per case, and the list of
clients still to survey this data-collection period (mine, or my team's) with its task button."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.cases import access
from casework.core.periods import PeriodError, current_quarter
from casework.core.views import render_form, run_service_form, then_redirect
from casework.feedback import selectors, services
from casework.feedback.forms import ExitInterviewForm, ParticipationSurveyForm, SurveyTasksForm


@login_required
@require_http_methods(["GET", "POST"])
def participation(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk, write=True)
    form = ParticipationSurveyForm(request.POST or None)
    return run_service_form(
        request,
        form,
        lambda _data: services.record_participation_survey(case, by=request.user, **form.answers()),
        success=_("Survey recorded."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/step_form.html",
        context={
            "case": case,
            "title": _("Participation survey"),
            "intro": _(
                "Ask these questions in private. If possible, someone other than the client's "
                "own caseworker asks them, so that the client can answer freely."
            ),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def exit_interview(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk, write=True)
    form = ExitInterviewForm(request.POST or None)
    return run_service_form(
        request,
        form,
        lambda _data: services.record_exit_interview(case, by=request.user, **form.answers()),
        success=_("Exit interview recorded."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/step_form.html",
        context={"case": case, "title": _("Exit interview")},
    )


def _opened_message(made: services.SurveyTasks) -> str:
    opened = ngettext(
        "%(count)d survey task opened.", "%(count)d survey tasks opened.", made.opened
    ) % {"count": made.opened}
    if not made.already_open:
        return opened
    already = ngettext(
        "%(count)d was already open.", "%(count)d were already open.", made.already_open
    ) % {"count": made.already_open}
    return f"{opened} {already}"


@login_required
@require_http_methods(["GET", "POST"])
def still_to_survey(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Seed 000: survey every client in case management each data-collection period. Lists the
    clients not yet surveyed in the period; the button puts a task on each one's case."""
    user = request.user
    require_perm(user, Perm.WORK_ON_CASES)
    asked = request.POST if request.method == "POST" else request.GET
    scope = selectors.scope_for(user, asked.get("scope"))
    period_text = asked.get("period", "").strip()
    period_error = ""
    try:
        period = selectors.survey_period(period_text)
    except PeriodError as error:
        period_error = str(error.message)
        period = current_quarter(timezone.localdate())
    here = reverse("feedback:still_to_survey")
    query = urlencode({"period": str(period), "scope": scope})
    cases = selectors.still_to_survey(user, period, scope=scope)
    page = Paginator(cases, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    form = SurveyTasksForm(
        request.POST or None, initial={"period": str(period), "scope": str(scope)}
    )
    context: dict[str, Any] = {
        "period": period,
        "period_text": period_text or str(period),
        "period_error": period_error,
        "scope": scope,
        "may_see_team": user.has_casework_perm(Perm.REASSIGN_IN_TEAM),
        "page": page,
        "lines": selectors.lines(page.object_list),
        "query": query,
    }
    if request.method == "POST" and period_error:
        form.is_valid()
        form.add_error("period", period_error)
    if period_error:
        return render_form(
            request, "feedback/still_to_survey.html", context | {"form": form}, invalid=True
        )
    return run_service_form(
        request,
        form,
        lambda _data: services.open_survey_tasks(list(cases), period=period, by=user),
        success=_opened_message,
        redirect_to=lambda _made: HttpResponseRedirect(f"{here}?{query}"),
        template="feedback/still_to_survey.html",
        context=context,
    )
