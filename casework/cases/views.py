"""Case screens: caseload, registration, the case page, notes, consent and lifecycle moves.

Each view loads through the access gate, validates a form, calls one service, then redirects
(or re-renders the form with its errors next to the fields).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm, Sensitive
from casework.audit.log import case_access_log
from casework.cases import (
    access,
    corrections,
    panels,
    relationships,
    screening,
    selectors,
    services,
)
from casework.cases.forms import (
    SEARCH_FIELDS,
    CaseloadFilterForm,
    ConsentForm,
    CorrectionForm,
    LinkForm,
    NoteForm,
    RegistrationForm,
    RelativeForm,
    ScreeningForm,
    TransitionForm,
    WithdrawConsentForm,
    consent_details_from,
)
from casework.cases.models import Case, CaseNote, Consent, Screening, Status
from casework.cases.timeline import case_timeline
from casework.core.errors import CaseworkError, FieldErrors
from casework.core.http import is_htmx
from casework.core.views import render_form, run_service_form, then_redirect
from casework.people.models import Person
from casework.people.services import search_cases


@login_required
@require_http_methods(["GET", "POST"])
def caseload(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    selectors.require_caseload(user)
    form = CaseloadFilterForm(request.POST if request.method == "POST" else request.GET)
    form.is_valid()
    status = form.cleaned_data.get("status", "")
    risk = form.cleaned_data.get("risk", "")
    cases = selectors.caseload(user, status=status, risk=risk)
    query = (form.cleaned_data.get("q") or "").strip() if request.method == "POST" else ""
    searching = bool(query)
    if searching:
        # Names are searched by blind index and only over POST: a name never appears in a URL.
        cases = search_cases(cases, query, by_name=user.sees(Sensitive.NAMES))
    page = Paginator(cases, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "searching": searching,
        "show_names": user.sees(Sensitive.NAMES),
        "status": status,
        "risk": risk,
    }
    template = "cases/_caseload_table.html" if is_htmx(request) else "cases/caseload.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def register(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Registration, in three steps on one address, names only ever in POST bodies:
    1. screening and the search (`step=search`): not eligible or referred elsewhere is recorded
       and ends there; otherwise the persons already registered that may be this one are shown;
    2. "a different person" (`step=details`): the full form, with what was typed;
    3. the full form itself (no step): the person, the case and the consent are written.
    A case for a person already registered is opened from their page instead.
    """
    user = request.user
    require_perm(user, Perm.REGISTER_CASES)
    step = request.POST.get("step", "") if request.method == "POST" else "start"
    if step in ("start", "search"):
        return _screen(request)
    if step == "details":
        typed = {name: request.POST.get(name, "") for name in SEARCH_FIELDS}
        initial = {**typed, "screening": request.POST.get("screening") or None}
        form = RegistrationForm(initial=initial, user=user)
        return render(request, "cases/register.html", {"form": form})
    form = RegistrationForm(request.POST, user=user)

    @transaction.atomic
    def register(data: dict[str, Any]) -> Case:
        person, details, consent, caregiver = form.details()
        case = services.register_case(
            by=user, person=person, details=details, consent=consent, caregiver=caregiver
        )
        screening.settle_screening(
            data.get("screening"), by=user, case=case, choice=Screening.Choice.NEW_PERSON
        )
        return case

    return run_service_form(
        request,
        form,
        register,
        success=lambda case: _("Case %(ref)s registered.") % {"ref": case.reference},
        redirect_to=lambda case: redirect("cases:detail", pk=case.pk),
        template="cases/register.html",
    )


def _screen(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    form = ScreeningForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["outcome"] != Screening.Outcome.ELIGIBLE:
                screening.record_screening(
                    by=user,
                    outcome=data["outcome"],
                    reason=data["reason"],
                    referred_to=data["referred_to"],
                )
                messages.success(request, _("Screening recorded. No case was opened."))
                return redirect("cases:caseload")
            matches = screening.find_matches(user, form.query())
            screened = screening.record_screening(
                by=user, outcome=Screening.Outcome.ELIGIBLE, matches=matches
            )
        except CaseworkError as error:
            form.add_refusal(error)
        else:
            context = {
                "matches": matches,
                "screening": screened,
                "typed": {name: request.POST.get(name, "") for name in SEARCH_FIELDS},
                "show_birth_date": user.sees(Sensitive.BIRTH_DATE),
            }
            return render(request, "cases/register_matches.html", context)
    return render_form(request, "cases/register_start.html", {"form": form})


@login_required
def detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    case = access.get_case_for_user(user, pk)
    can_write = access.may_write(user, case)
    context = {
        "case": case,
        "events": case_timeline(case),
        "can_write": can_write,
        "show_names": user.sees(Sensitive.NAMES),
        "show_contact": user.sees(Sensitive.CONTACT),
        "show_birth_date": user.sees(Sensitive.BIRTH_DATE),
        "show_notes": user.sees(Sensitive.NOTES),
        "note_form": NoteForm() if can_write else None,
        "transition_form": (
            TransitionForm(initial={"version": case.version}, moves=services.available_moves(case))
            if can_write
            else None
        ),
        "panels": panels.render_context(case, user, can_write),
        "relatives": relationships.relatives_of(case, user),
        "follow_ups": case.follow_ups.select_related("by").order_by("-occurred_on", "-id")[:20],
        "closures": case.closure_requests.select_related("requested_by", "decided_by").order_by(
            "-created_at"
        )[:10],
        "pending_transfer": case.transfer_requests.filter(status="pending")
        .select_related("to_agency")
        .first(),
        "may_approve_closure": user.has_casework_perm(Perm.APPROVE_CLOSURES)
        and user.team_id == case.team_id,
        "may_reassign": user.has_casework_perm(Perm.REASSIGN_IN_TEAM)
        and user.team_id == case.team_id,
        "access_log": (
            case_access_log(case.pk) if user.has_casework_perm(Perm.VIEW_ACCESS_LOG) else None
        ),
    }
    return render(request, "cases/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def add_note(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk, write=True)
    return run_service_form(
        request,
        NoteForm(request.POST or None),
        lambda data: services.add_note(
            case,
            by=request.user,
            text=data["text"],
            contact_type=data["contact_type"],
            contact_on=data["contact_on"],
        ),
        success=_("Note added."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/note_form.html",
        context={"case": case},
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit_note(request: AuthenticatedHttpRequest, pk: int, note_pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk, write=True)
    note = CaseNote.objects.filter(case=case, pk=note_pk).first()
    if note is not None:
        note.case = case
    if note is None or not services.can_edit_note(note, request.user):
        raise Http404(_("No such note."))
    initial = {
        "text": note.text,
        "contact_type": note.contact_type,
        "contact_on": note.contact_on,
        "version": note.version,
    }
    return run_service_form(
        request,
        NoteForm(request.POST or None, initial=initial),
        lambda data: services.edit_note(
            note,
            by=request.user,
            text=data["text"],
            contact_type=data["contact_type"],
            contact_on=data["contact_on"],
            expected_version=data["version"] or 0,
        ),
        success=_("Note updated; the earlier text is kept in its history."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/note_form.html",
        context={
            "case": case,
            "note": note,
            "revisions": note.revisions.select_related("edited_by"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def correct(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Correct the person's details and the case's registration facts (the old values are kept)."""
    case = access.get_case_for_user(request.user, pk, write=True, shown=request.method == "GET")
    form = CorrectionForm(request.POST or None, case=case)
    return run_service_form(
        request,
        form,
        lambda data: corrections.correct_record(
            case,
            by=request.user,
            person=form.person_details(),
            facts=form.facts(),
            reason=data["reason"],
            case_version=data["case_version"],
            person_version=data["person_version"],
        ),
        success=_("Corrected. What the details said before is kept in the history."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/correct.html",
        context={"case": case},
    )


@login_required
@require_http_methods(["POST"])
def transition(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk, write=True)
    form = TransitionForm(request.POST)
    if form.is_valid() and form.cleaned_data["to"] == Status.CLOSED:
        messages.error(request, _("Close a case with the closure form (checklist and approval)."))
        return redirect("cases:close", pk=case.pk)
    if form.is_valid():
        try:
            services.transition_case(
                case,
                to=form.cleaned_data["to"],
                by=request.user,
                reason=form.cleaned_data["reason"],
                closure_reason=form.cleaned_data["closure_reason"],
                expected_version=form.cleaned_data["version"],
            )
        except CaseworkError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Case moved."))
    else:
        messages.error(request, _("Choose where to move the case."))
    return redirect("cases:detail", pk=case.pk)


@login_required
@require_http_methods(["GET", "POST"])
def add_consent(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk, write=True)
    form = ConsentForm(request.POST or None)
    return run_service_form(
        request,
        form,
        lambda data: services.record_consent(
            case, by=request.user, details=consent_details_from(data), caregiver=form.caregiver()
        ),
        success=_("Consent recorded."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/consent_form.html",
        context={"case": case},
    )


@login_required
@require_http_methods(["GET", "POST"])
def withdraw_consent(request: AuthenticatedHttpRequest, pk: int, consent_pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk, write=True)
    consent = Consent.objects.filter(case=case, pk=consent_pk).first()
    if consent is None:
        raise Http404(_("No such consent."))
    return run_service_form(
        request,
        WithdrawConsentForm(request.POST or None),
        lambda data: services.withdraw_consent(
            consent, by=request.user, on=data["withdrawn_on"], reason=data["reason"]
        ),
        success=_("Withdrawal recorded."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/withdraw_consent.html",
        context={"case": case, "consent": consent},
    )


# --- family and household -----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def add_relative(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk, write=True)
    return run_service_form(
        request,
        RelativeForm(request.POST or None),
        lambda data: relationships.add_relative(
            case,
            by=request.user,
            details=relationships.RelativeDetails(
                given_name=data["given_name"],
                family_name=data["family_name"],
                kind=data["kind"],
                sex=data["sex"],
                estimated_age=data["estimated_age"],
                phone=data["phone"],
                is_caregiver=data["is_caregiver"],
            ),
        ),
        success=_("Relative recorded."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/relative_form.html",
        context={"case": case, "link_form": LinkForm()},
    )


@login_required
@require_http_methods(["POST"])
def link_person(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Link the client to a person already registered, whom the user may see."""
    user = request.user
    case = access.get_case_for_user(user, pk, write=True)
    form = LinkForm(request.POST)

    def link(data: dict[str, Any]) -> Any:
        found = Person.objects.filter(
            agency_id=case.agency_id, reference=data["reference"].strip()
        ).first()
        try:
            relative = access.get_person_for_user(user, found.pk if found else 0)
        except Http404:
            raise FieldErrors(
                {"reference": [_("No person you may see has this number.")]}
            ) from None
        return relationships.link_to_person(
            case, relative, by=user, kind=data["kind"], is_caregiver=data["is_caregiver"]
        )

    return run_service_form(
        request,
        form,
        link,
        success=_("Linked."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/relative_form.html",
        context={"case": case, "form": RelativeForm(), "link_form": form},
    )


@login_required
@require_http_methods(["POST"])
def unlink_person(request: AuthenticatedHttpRequest, pk: int, person_pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk, write=True)
    relative = Person.objects.filter(
        pk=person_pk, relationships__relative_id=case.person_id
    ).first()
    if relative is None:
        raise Http404(_("No such relative."))
    try:
        relationships.unlink(case, relative, by=request.user)
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Link removed."))
    return redirect("cases:detail", pk=case.pk)
