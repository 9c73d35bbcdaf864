"""Assessment screens (the form, the current assessment and its history) and the agency's
questionnaire and risk-policy settings.

Each view loads through the access gate, validates a form, calls one service, then redirects
(or re-renders the form with the errors next to the fields).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm, Sensitive
from casework.assessments import questionnaires, services
from casework.assessments.forms import (
    AssessmentForm,
    NewQuestionnaireForm,
    QuestionForm,
    RiskPolicyForm,
    UploadForm,
    raw_answers_from_post,
)
from casework.assessments.models import Assessment, Questionnaire, QuestionnaireVersion
from casework.cases import access
from casework.cases.deadlines import windows_for
from casework.core.errors import CaseworkError
from casework.core.views import run_service_form, then_redirect


def _shown_answers(assessment: Assessment, show_free_text: bool) -> list[dict[str, Any]]:
    return [
        {
            "title": response.version.questionnaire.title,
            "version": response.version,
            "rows": questionnaires.displayed_answers(
                response.version.definition,
                response.answers(include_free_text=show_free_text),
                show_free_text=show_free_text,
            ),
        }
        for response in assessment.responses.all()
    ]


# --- assessments of a case ----------------------------------------------------------------------


@login_required
def history(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk)
    can_write = access.may_write(request.user, case)
    return render(
        request,
        "assessments/history.html",
        {
            "case": case,
            "assessments": services.assessments_of(case),
            "can_assess": can_write and case.status in services.ASSESSABLE,
        },
    )


@login_required
def detail(request: AuthenticatedHttpRequest, pk: int, number: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk)
    assessment = services.assessment_of(case, number)
    if assessment is None:
        raise Http404(_("No such assessment."))
    show_free_text = request.user.sees(Sensitive.FREE_TEXT)
    return render(
        request,
        "assessments/detail.html",
        {
            "case": case,
            "assessment": assessment,
            "findings": sorted(assessment.findings.all(), key=lambda f: f.domain),
            "responses": _shown_answers(assessment, show_free_text),
            "show_free_text": show_free_text,
            # A need found without a service for it is recorded as an unmet need (the referrals
            # app's screen, reached by its URL).
            "record_gaps": access.may_write(request.user, case) and case.is_open,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk, write=True)
    versions = services.current_questionnaires(case.agency_id)
    previous = services.assessments_of(case).prefetch_related("findings").first()
    form = AssessmentForm(
        request.POST or None,
        versions=versions,
        previous=previous,
        initial={"version": case.version},
    )
    return run_service_form(
        request,
        form,
        lambda data: services.record_assessment(
            case, by=request.user, details=form.details(), expected_version=data["version"]
        ),
        success=lambda assessment: (
            _("Assessment recorded. The next follow-up is due %(due)s.")
            % {"due": timezone.localtime(assessment.follow_up_due_at).strftime("%Y-%m-%d %H:%M")}
        ),
        redirect_to=lambda assessment: redirect(
            "assessments:detail", pk=case.pk, number=assessment.number
        ),
        template="assessments/form.html",
        context={
            "case": case,
            "previous": previous,
            "questionnaires": form.questionnaire_sections(),
            "windows": windows_for(case.agency_id),
        },
    )


@login_required
@require_http_methods(["POST"])
def questions(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The questionnaire part of the form again, with the questions that no longer apply hidden
    (htmx, on every change). The same relevance rules the server applies when saving."""
    case = access.get_case_for_user(request.user, pk, write=True)
    versions = services.current_questionnaires(case.agency_id)
    form = AssessmentForm(request.POST, versions=versions)
    raw = raw_answers_from_post(request.POST, versions)
    today = timezone.localdate()
    relevant = {
        version.pk: questionnaires.relevant_questions(
            version.definition, raw[version.pk], today=today
        )
        for version in versions
    }
    return render(
        request,
        "assessments/_questions.html",
        {"case": case, "questionnaires": form.questionnaire_sections(relevant), "form": form},
    )


# --- questionnaires (agency settings) -----------------------------------------------------------


def _questionnaire(request: HttpRequest, questionnaire_pk: int) -> Questionnaire:
    user = require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    questionnaire = Questionnaire.objects.filter(
        pk=questionnaire_pk,
        agency_id=user.agency_id or 0,
    ).first()
    if questionnaire is None:
        raise Http404(_("No such questionnaire."))
    return questionnaire


@login_required
def questionnaire_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    items = Questionnaire.objects.filter(agency_id=request.user.agency_id or 0)
    return render(
        request,
        "assessments/questionnaires.html",
        {
            "questionnaires": items.order_by("-is_active", "title"),
            "upload_form": UploadForm(),
            "new_form": NewQuestionnaireForm(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: AuthenticatedHttpRequest, questionnaire_pk: int | None = None) -> HttpResponse:
    """A new questionnaire from an XLSForm, or (with questionnaire_pk) a new version of one."""
    require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    questionnaire = _questionnaire(request, questionnaire_pk) if questionnaire_pk else None
    return run_service_form(
        request,
        UploadForm(request.POST or None, request.FILES or None),
        lambda data: services.upload_questionnaire(
            by=request.user,
            data=data["file"].read(),
            file_name=data["file"].name or "",
            title=data["title"],
            questionnaire=questionnaire,
        ),
        success=lambda version: (
            _("Version %(n)s of “%(title)s” saved.")
            % {"n": version.number, "title": version.questionnaire.title}
        ),
        redirect_to=lambda version: redirect(
            "assessments:questionnaire", questionnaire_pk=version.questionnaire_id
        ),
        template="assessments/upload.html",
        context={"questionnaire": questionnaire},
    )


@login_required
@require_http_methods(["POST"])
def new_questionnaire(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    form = NewQuestionnaireForm(request.POST)
    if form.is_valid():
        try:
            questionnaire = services.create_questionnaire(
                by=request.user,
                title=form.cleaned_data["title"],
            )
        except CaseworkError as error:
            messages.error(request, str(error.message))
        else:
            return redirect("assessments:questionnaire", questionnaire_pk=questionnaire.pk)
    else:
        messages.error(request, _("Give the questionnaire a title."))
    return redirect("assessments:questionnaires")


@login_required
@require_http_methods(["GET", "POST"])
def questionnaire_detail(request: AuthenticatedHttpRequest, questionnaire_pk: int) -> HttpResponse:
    """The questionnaire's versions, its current questions, and the editor (add a question)."""
    questionnaire = _questionnaire(request, questionnaire_pk)
    form = QuestionForm(request.POST or None)
    versions = list(
        questionnaire.versions.defer("source_file").select_related("created_by").order_by("-number")
    )
    current = versions[0] if versions else None
    return run_service_form(
        request,
        form,
        lambda data: services.add_question(
            questionnaire, by=request.user, question=form.question()
        ),
        success=lambda version: _("Question added: this is version %(n)s.") % {"n": version.number},
        redirect_to=then_redirect("assessments:questionnaire", questionnaire_pk=questionnaire.pk),
        template="assessments/questionnaire.html",
        context={
            "questionnaire": questionnaire,
            "versions": versions,
            "current": current,
            "questions": [
                {
                    "question": question,
                    "label": questionnaires.label_for(question["label"]),
                    "choices": [
                        questionnaires.label_for(choice["label"]) or choice["name"]
                        for choice in question["choices"]
                    ],
                }
                for question in (current.questions if current else [])
            ],
        },
    )


@login_required
@require_http_methods(["POST"])
def set_active(request: AuthenticatedHttpRequest, questionnaire_pk: int) -> HttpResponse:
    questionnaire = _questionnaire(request, questionnaire_pk)
    active = request.POST.get("active") == "1"
    services.set_questionnaire_active(
        questionnaire,
        by=request.user,
        active=active,
    )
    messages.success(
        request,
        _("The questionnaire is asked in new assessments.")
        if active
        else _("The questionnaire is no longer asked; earlier answers are kept."),
    )
    return redirect("assessments:questionnaire", questionnaire_pk=questionnaire.pk)


@login_required
def version_file(
    request: AuthenticatedHttpRequest, questionnaire_pk: int, number: int
) -> HttpResponse:
    """The workbook as it was uploaded for this version."""
    questionnaire = _questionnaire(request, questionnaire_pk)
    version = QuestionnaireVersion.objects.filter(
        questionnaire=questionnaire, number=number
    ).first()
    if version is None or not version.source_file:
        raise Http404(_("No uploaded file for this version."))
    response = HttpResponse(
        bytes(version.source_file),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"{questionnaire.code}-v{version.number}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- risk policy --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def risk_policy(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    windows = windows_for(request.user.agency_id)
    form = RiskPolicyForm(request.POST or None, windows=windows)
    return run_service_form(
        request,
        form,
        lambda data: services.set_risk_policy(by=request.user, windows=form.windows()),
        success=_("Follow-up times saved. New deadlines use them."),
        redirect_to=then_redirect("assessments:risk_policy"),
        template="assessments/risk_policy.html",
    )
