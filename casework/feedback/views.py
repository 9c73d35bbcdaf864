"""Survey screens: the participation survey and the exit interview, per case."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.http import AuthenticatedHttpRequest
from casework.cases import access
from casework.core.views import run_service_form, then_redirect
from casework.feedback import services
from casework.feedback.forms import ExitInterviewForm, ParticipationSurveyForm


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
