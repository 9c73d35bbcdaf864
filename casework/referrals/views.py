"""Screens of the service directory, of referrals on a case, and of a partner's inbox.

Case-side screens live under /cases/<id>/referrals/ and load the case through the access gate;
the partner's screens live under /referrals/ and load referrals through the referral gate, so a
partner never touches a case URL and staff never use the partner's. Each view validates a form,
calls one service, then redirects (or re-renders the form with its errors).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.models import User
from casework.accounts.roles import Perm, Sensitive
from casework.audit.log import record
from casework.cases import access as case_access
from casework.cases.models import Case
from casework.core.errors import CaseworkError
from casework.core.http import is_htmx
from casework.core.views import render_form, run_service_form, then_redirect
from casework.referrals import access as referral_access
from casework.referrals import imports, selectors, services
from casework.referrals.forms import (
    DirectorySearchForm,
    DirectoryServiceForm,
    ImportForm,
    MoveForm,
    NoReferralNeededForm,
    OrganisationForm,
    ReferralForm,
    ResolveUnmetNeedForm,
    UnmetNeedForm,
)
from casework.referrals.models import (
    Organisation,
    Referral,
    ReferralEvent,
    Service,
    UnmetNeed,
)

# --- the case page's panel ----------------------------------------------------------------------


# --- directory ----------------------------------------------------------------------------------


@login_required
def directory(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    referral_access.require_directory(user)
    form = DirectorySearchForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    found = services.search_services(
        sector=data.get("sector") or "",
        location=data.get("location"),
        text=data.get("q") or "",
        age=data.get("age"),
    ).prefetch_related("locations")
    page = Paginator(found, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "query": _without_page(request),
        "can_manage": user.has_casework_perm(Perm.MANAGE_CONFIGURATION),
    }
    template = (
        "referrals/_directory_results.html" if is_htmx(request) else "referrals/directory.html"
    )
    return render(request, template, context)


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _organisation_or_404(pk: int) -> Organisation:
    organisation = Organisation.objects.select_related("agency").filter(pk=pk).first()
    if organisation is None:
        raise Http404(_("No such organisation."))
    return organisation


@login_required
def organisation(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    referral_access.require_directory(user)
    found = _organisation_or_404(pk)
    listed = found.services.order_by("name").prefetch_related("locations")
    return render(
        request,
        "referrals/organisation.html",
        {
            "organisation": found,
            "services": listed,
            "can_manage": user.has_casework_perm(Perm.MANAGE_CONFIGURATION),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_form(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    instance = _organisation_or_404(pk) if pk is not None else None
    form = OrganisationForm(request.POST or None, instance=instance)
    return run_service_form(
        request,
        form,
        lambda data: services.save_organisation(
            by=user, details=form.details(), organisation=instance
        ),
        success=_("Organisation saved."),
        redirect_to=lambda saved: redirect("referrals:organisation", pk=saved.pk),
        template="referrals/organisation_form.html",
        context={"organisation": instance},
    )


@login_required
@require_http_methods(["GET", "POST"])
def service_form(
    request: AuthenticatedHttpRequest, organisation_pk: int, pk: int | None = None
) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    owner = _organisation_or_404(organisation_pk)
    instance = None
    if pk is not None:
        instance = Service.objects.filter(organisation=owner, pk=pk).first()
        if instance is None:
            raise Http404(_("No such service."))
    form = DirectoryServiceForm(request.POST or None, instance=instance)
    return run_service_form(
        request,
        form,
        lambda data: services.save_service(
            owner, by=user, details=form.details(), service=instance
        ),
        success=_("Service saved."),
        redirect_to=then_redirect("referrals:organisation", pk=owner.pk),
        template="referrals/service_form.html",
        context={"organisation": owner, "service": instance},
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_directory(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = imports.import_directory(
                upload.read(),
                filename=upload.name,
                by=user,
                dry_run=form.cleaned_data["dry_run"],
            )
        except CaseworkError as error:
            form.add_error("file", str(error.message))
        else:
            if report.applied:
                messages.success(request, _("The directory was updated from the file."))
    return render_form(
        request,
        "referrals/import.html",
        {"form": form, "report": report, "columns": imports.COLUMNS},
        invalid=bool(form.errors or (report and report.problems)),
    )


@login_required
def import_template(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    response = HttpResponse(imports.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="service-directory-template.csv"'
    return response


# --- referrals on a case ------------------------------------------------------------------------


def _case_referral(case: Case, pk: int) -> Referral:
    referral = (
        Referral.objects.filter(case=case, pk=pk)
        .select_related("service", "organisation", "consent", "sent_by")
        .first()
    )
    if referral is None:
        raise Http404(_("No such referral."))
    referral.case = case
    return referral


@login_required
@require_http_methods(["GET", "POST"])
def create(request: AuthenticatedHttpRequest, case_pk: int) -> HttpResponse:
    user = request.user
    case = case_access.get_case_for_user(user, case_pk, write=True)
    need_code = (request.POST.get("need_code") or request.GET.get("need") or "").strip()
    show_all = request.GET.get("all") == "1"
    # Offer the services for this need where the client lives; accept any active one on POST (the
    # need may have been changed on the form after the list was drawn).
    matching = services.search_services(
        need="" if show_all else need_code,
        location=None if show_all else case.location,
    )
    if request.method == "POST":
        matching = services.search_services()
    form = ReferralForm(
        request.POST or None,
        case=case,
        user=user,
        need_code=need_code,
        service_queryset=matching,
        initial={"service": request.GET.get("service")} if request.GET.get("service") else None,
    )
    return run_service_form(
        request,
        form,
        lambda data: services.send_referral(case, by=user, details=form.details()),
        success=_("Referral sent."),
        redirect_to=lambda referral: redirect("referrals:detail", case_pk=case.pk, pk=referral.pk),
        template="referrals/referral_form.html",
        context={
            "case": case,
            "need_code": need_code,
            "show_all": show_all,
            "no_match": not show_all and not matching.exists(),
            "is_child": services.is_child(case),
        },
    )


@login_required
def detail(request: AuthenticatedHttpRequest, case_pk: int, pk: int) -> HttpResponse:
    user = request.user
    case = case_access.get_case_for_user(user, case_pk)
    referral = _case_referral(case, pk)
    can_write = case_access.may_write(user, case)
    return render(
        request,
        "referrals/detail.html",
        {
            "case": case,
            "referral": referral,
            "events": referral.events.select_related("by", "by__agency"),
            "show_notes": user.sees(Sensitive.NOTES),
            "show_shared": user.sees(Sensitive.NAMES),
            "move_form": (
                MoveForm(statuses=referral.next_statuses)
                if can_write and referral.next_statuses
                else None
            ),
            # A declined referral may leave the need without a service: a gap to record.
            "can_record_gap": can_write
            and case.is_open
            and referral.status == Referral.Status.DECLINED,
        },
    )


def _apply_move(
    request: HttpRequest, referral: Referral, *, by: User, success: str, invalid: str
) -> None:
    """Record a status change posted from the sender's or the partner's referral page."""
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, invalid)
        return
    try:
        services.move_referral(
            referral, to=form.cleaned_data["status"], by=by, comment=form.cleaned_data["comment"]
        )
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, success)


@login_required
@require_http_methods(["POST"])
def move(request: AuthenticatedHttpRequest, case_pk: int, pk: int) -> HttpResponse:
    user = request.user
    case = case_access.get_case_for_user(user, case_pk, write=True)
    referral = _case_referral(case, pk)
    _apply_move(
        request,
        referral,
        by=user,
        success=_("Referral updated."),
        invalid=_("Choose what happened to the referral."),
    )
    return redirect("referrals:detail", case_pk=case.pk, pk=referral.pk)


@login_required
@require_http_methods(["GET", "POST"])
def not_needed(request: AuthenticatedHttpRequest, case_pk: int) -> HttpResponse:
    user = request.user
    case = case_access.get_case_for_user(user, case_pk, write=True)
    need_code = (request.GET.get("need") or "").strip()
    return run_service_form(
        request,
        NoReferralNeededForm(request.POST or None, need_code=need_code),
        lambda data: services.record_no_referral_needed(
            case, by=user, need_code=data["need_code"], reason=data["reason"], note=data["note"]
        ),
        success=lambda recorded: (
            _("Recorded as an unmet need: no service available locally.")
            if isinstance(recorded, UnmetNeed)
            else _("Recorded: no referral needed.")
        ),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="referrals/not_needed_form.html",
        context={"case": case},
    )


# --- unmet needs (service gaps) of a case -------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def unmet_need_add(request: AuthenticatedHttpRequest, case_pk: int) -> HttpResponse:
    """One "record an unmet need" screen, linked from the assessment, the plan, a referral that
    was declined, and the case page's referrals section (each says its step and need)."""
    user = request.user
    case = case_access.get_case_for_user(user, case_pk, write=True)
    referral = None
    referral_pk = request.GET.get("referral", "")
    if referral_pk.isdigit():
        referral = Referral.objects.filter(case=case, pk=int(referral_pk)).first()
    form = UnmetNeedForm(
        request.POST or None,
        need_code=(request.GET.get("need") or "").strip(),
        step=request.GET.get("step", ""),
        reason=request.GET.get("reason", ""),
    )
    return run_service_form(
        request,
        form,
        lambda data: services.record_unmet_need(
            case,
            by=user,
            need_code=data["need_code"],
            reason=data["reason"],
            step=data["step"],
            note=data["note"],
            referral=referral,
        ),
        success=_("Unmet need recorded."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="referrals/unmet_need_form.html",
        context={"case": case},
    )


@login_required
@require_http_methods(["GET", "POST"])
def unmet_need_resolve(request: AuthenticatedHttpRequest, case_pk: int, pk: int) -> HttpResponse:
    user = request.user
    case = case_access.get_case_for_user(user, case_pk, write=True)
    unmet = UnmetNeed.objects.filter(case=case, pk=pk).first()
    if unmet is None:
        raise Http404(_("No such unmet need."))
    unmet.case = case
    form = ResolveUnmetNeedForm(request.POST or None, initial={"resolved_on": timezone.localdate()})
    return run_service_form(
        request,
        form,
        lambda data: services.resolve_unmet_need(unmet, by=user, on=data["resolved_on"]),
        success=_("Unmet need marked as resolved."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="referrals/unmet_need_resolve.html",
        context={"case": case, "unmet": unmet},
    )


# --- the partner's inbox ------------------------------------------------------------------------


def _events_for_partner(referral: Referral, user: User) -> list[ReferralEvent]:
    """Statuses with their dates; comments only those written by the partner's own side."""
    events = list(referral.events.select_related("by"))
    for event in events:
        if event.by.agency_id != user.agency_id:
            event.comment = ""
    return events


@login_required
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.ANSWER_REFERRALS)
    status = request.GET.get("status", "")
    if status in Referral.Status.values:
        received = selectors.received_by(user, status=status)
    elif status == "all":
        received = selectors.received_by(user)
    else:
        status = ""
        received = selectors.waiting_for(user)
    page = Paginator(received, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    # The list shows no personal data, but which referrals a partner looked at is still logged.
    record(
        "referrals.inbox.viewed",
        by=user,
        data={"referrals": [referral.pk for referral in page]},
    )
    return render(
        request,
        "referrals/inbox.html",
        {
            "page": page,
            "status": status,
            "statuses": Referral.Status.choices,
            "now": timezone.now(),
        },
    )


@login_required
def received(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.ANSWER_REFERRALS)
    referral = referral_access.get_referral_for_user(user, pk)
    statuses = [s for s in referral.next_statuses if s in Referral.ANSWERS]
    return render(
        request,
        "referrals/received.html",
        {
            "referral": referral,
            "events": _events_for_partner(referral, user),
            "answer_form": MoveForm(statuses=statuses) if statuses else None,
        },
    )


@login_required
@require_http_methods(["POST"])
def answer(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.ANSWER_REFERRALS)
    referral = referral_access.get_referral_for_user(user, pk, write=True)
    _apply_move(
        request,
        referral,
        by=user,
        success=_("Your answer was recorded."),
        invalid=_("Choose your answer."),
    )
    return redirect("referrals:received", pk=referral.pk)
