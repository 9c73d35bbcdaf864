"""The data-protection officer's desk: the audit log (filter, export, who read how many case
files, alerts), the settings, clients' requests and the access packages they compile.

Thin: each view loads through the gate (casework/privacy/access.py) and calls one service or
selector. The log names cases by id and users by name; it shows no case content. A package's
content is shown only to a handler of its open request or to its reviewer, each read audited.
"""

from __future__ import annotations

import io
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.access import agency_of, refusal, require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.core.csvfiles import SafeWriter
from casework.core.errors import CaseworkError
from casework.core.http import as_id
from casework.core.views import run_service_form, then_redirect
from casework.privacy import access, selectors, services
from casework.privacy import package as packaging
from casework.privacy.forms import (
    CloseForm,
    CorrectionsForm,
    EraseForm,
    HandlerForm,
    LogFilterForm,
    RequestForm,
    ReviewForm,
    SettingsForm,
)
from casework.privacy.models import AccessPackage, DataRequest, PrivacySettings, ReadAlert

# --- the audit log -------------------------------------------------------------------------------


def _log_form(request: AuthenticatedHttpRequest) -> LogFilterForm:
    form = LogFilterForm(request.GET or None, users=selectors.agency_users(request.user))
    form.is_valid()
    return form


def _query(form: LogFilterForm, **extra: Any) -> str:
    """The filter as a query string (for the export and the next page)."""
    values = {
        name: form.data.get(name, "")
        for name in ("user", "case", "case_id", "action", "outcome", "since", "until")
    }
    return urlencode({k: v for k, v in {**values, **extra}.items() if v not in ("", None)})


@login_required
def audit_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.VIEW_AUDIT_LOG)
    form = _log_form(request)
    filters = form.filters()
    found = selectors.filtered_log(user, filters)
    before = form.cleaned_data.get("before") if form.is_bound else None
    page = selectors.log_page(found.entries, before=before)
    services.record_log_read(by=user, filters=filters, case_id=found.case_id)
    alerts = list(
        ReadAlert.objects.filter(agency_id=agency_of(user), acknowledged_at=None)
        .select_related("reader")
        .order_by("-raised_at")[:20]
    )
    context = {
        "form": form,
        "page": page,
        "case_id": found.case_id,
        "case_missing": found.case_missing,
        "query": _query(form),
        "next_query": _query(form, before=page.next_before) if page.next_before else "",
        "alerts": alerts,
        "export_limit": selectors.EXPORT_LIMIT,
    }
    return render(request, "privacy/audit_log.html", context)


AUDIT_COLUMNS = [
    "id",
    "seq",
    "at",
    "user",
    "role",
    "ip",
    "action",
    "outcome",
    "object_type",
    "object_id",
    "case_id",
    "data",
]


@login_required
def audit_export(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The filtered log as CSV (formula-safe), newest first, at most EXPORT_LIMIT entries; the
    export is audited with its filter and its number of rows."""
    user = request.user
    require_perm(user, Perm.VIEW_AUDIT_LOG)
    form = _log_form(request)
    filters = form.filters()
    found = selectors.filtered_log(user, filters)
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(AUDIT_COLUMNS)
    rows = 0
    for entry in selectors.export_rows(found.entries):
        actor = entry.actor
        writer.writerow(
            [
                entry.pk,
                entry.seq or "",
                timezone.localtime(entry.at).isoformat(),
                actor.username if actor else "",
                actor.role if actor else "",
                entry.ip,
                entry.action,
                entry.outcome,
                entry.object_type,
                entry.object_id,
                entry.case_id or "",
                json.dumps(entry.data, sort_keys=True) if entry.data else "",
            ]
        )
        rows += 1
    services.record_log_read(by=user, filters=filters, case_id=found.case_id, exported=rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def readers(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Per user: the case files read in the last 30 days."""
    user = request.user
    require_perm(user, Perm.VIEW_AUDIT_LOG)
    lines = selectors.readers(user)
    services.record_readers_read(by=user, days=selectors.READERS_DAYS)
    return render(request, "privacy/readers.html", {"lines": lines, "days": selectors.READERS_DAYS})


@login_required
@require_http_methods(["POST"])
def acknowledge(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    alert = access.get_alert_for_user(user, pk)
    try:
        services.acknowledge_alert(alert, by=user)
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Alert acknowledged."))
    return redirect("privacy:audit_log")


@login_required
def privacy_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.VIEW_AUDIT_LOG)
    agency_id = agency_of(user)
    current = PrivacySettings.current(agency_id)
    initial = {
        "response_days": current.response_days,
        "unusual_reads": current.unusual_reads,
        "unusual_reads_hours": current.unusual_reads_hours,
    }
    history = list(
        PrivacySettings.objects.filter(agency_id=agency_id)
        .select_related("set_by")
        .order_by("-set_at", "-id")[:20]
    )
    return run_service_form(
        request,
        SettingsForm(request.POST or None, initial=initial),
        lambda data: services.change_settings(by=user, **data),
        success=_("Settings saved."),
        redirect_to=then_redirect("privacy:settings"),
        template="privacy/settings.html",
        context={"history": history},
    )


# --- requests ------------------------------------------------------------------------------------


@login_required
def request_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    access.require_handler(user)
    show = request.GET.get("show", "open")
    if show not in selectors.REQUEST_FILTERS:
        show = "open"
    rows = selectors.request_queue(user, show)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    today = timezone.localdate()
    context = {
        "page": page,
        "show": show,
        "today": today,
        "overdue": access.requests_for(user).overdue(today).count(),
    }
    return render(request, "privacy/requests.html", context)


@login_required
def request_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    access.require_handler(user)
    handlers = selectors.handlers_in(agency_of(user))
    form = RequestForm(
        request.POST or None,
        handlers=handlers,
        initial={"received_on": timezone.localdate(), "handler": user.pk},
    )
    return run_service_form(
        request,
        form,
        lambda data: services.receive_request(by=user, **data),
        success=_("Request recorded."),
        redirect_to=lambda made: redirect("privacy:request", pk=made.pk),
        template="privacy/request_form.html",
    )


@login_required
def request_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    found = access.get_request_for_user(user, pk)
    context: dict[str, Any] = {
        "item": found,
        "cases": selectors.cases_of(found),
        "packages": selectors.packages_of(found),
        "today": timezone.localdate(),
        # Another officer checks the identity (services.confirm_identity).
        "recorded_by_me": found.created_by_id == user.pk,
    }
    if found.kind == DataRequest.Kind.RECTIFICATION:
        context["corrections"] = selectors.corrections_for(found)
        context["linked_person"] = set(found.person_revisions.values_list("pk", flat=True))
        context["linked_case"] = set(found.case_revisions.values_list("pk", flat=True))
    if found.kind == DataRequest.Kind.ERASURE and found.person is not None:
        context["blockers"] = services.erasure_blockers(found.person)
    return render(request, "privacy/request_detail.html", context)


def _act(request: AuthenticatedHttpRequest, pk: int, call: Any, success: str) -> HttpResponse:
    """A button on the request's page: call the service, say how it went, go back."""
    found = access.get_request_for_user(request.user, pk)
    try:
        call(found)
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, success)
    return redirect("privacy:request", pk=found.pk)


@login_required
@require_http_methods(["POST"])
def confirm_identity(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda found: services.confirm_identity(found, by=request.user),
        _("Identity checked."),
    )


@login_required
@require_http_methods(["POST"])
def compile_package(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda found: services.compile_package(found, by=request.user),
        _("Package compiled: it now waits for a review."),
    )


def _request_form_page(
    request: AuthenticatedHttpRequest,
    pk: int,
    form_class: Any,
    call: Any,
    *,
    title: str,
    button: str,
    success: str,
    **form_options: Any,
) -> HttpResponse:
    found = access.get_request_for_user(request.user, pk)
    return run_service_form(
        request,
        form_class(request.POST or None, **form_options),
        lambda data: call(found, data),
        success=success,
        redirect_to=then_redirect("privacy:request", pk=found.pk),
        template="privacy/request_action.html",
        context={"item": found, "title": title, "button": button},
    )


@login_required
def assign(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    return _request_form_page(
        request,
        pk,
        HandlerForm,
        lambda found, data: services.assign_request(found, by=user, handler=data["handler"]),
        title=_("Hand the request to another officer"),
        button=_("Hand over"),
        success=_("Request handed over."),
        handlers=selectors.handlers_in(agency_of(user)),
    )


@login_required
def close(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    return _request_form_page(
        request,
        pk,
        CloseForm,
        lambda found, data: services.close_request(found, by=user, outcome=data["outcome"]),
        title=_("Close the request"),
        button=_("Close"),
        success=_("Request closed."),
    )


@login_required
def erase(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    return _request_form_page(
        request,
        pk,
        EraseForm,
        lambda found, _data: services.erase_person(found, by=user),
        title=_("Erase the person's data"),
        button=_("Erase"),
        success=_("The person's data was erased."),
    )


@login_required
def link_corrections(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    found = access.get_request_for_user(user, pk)
    lines = selectors.corrections_for(found)
    choices = [
        (
            f"{line.kind}:{line.revision.pk}",
            f"{timezone.localtime(line.revision.corrected_at):%Y-%m-%d %H:%M} · "
            f"{line.case_reference or _('person')} · {', '.join(line.revision.fields)}",
        )
        for line in lines
    ]
    return _request_form_page(
        request,
        pk,
        CorrectionsForm,
        lambda req, data: services.link_corrections(
            req,
            by=user,
            person_revisions=form_revisions(data, "person"),
            case_revisions=form_revisions(data, "case"),
        ),
        title=_("Corrections that answered the request"),
        button=_("Link"),
        success=_("Corrections linked."),
        choices=choices,
    )


def form_revisions(data: dict[str, Any], kind: str) -> list[int]:
    return [
        as_id(value.split(":", 1)[1])
        for value in data.get("corrections", [])
        if value.startswith(f"{kind}:")
    ]


# --- packages ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def package(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The package, for its handler and its reviewer (each read audited); the review form for
    the reviewer."""
    user = request.user
    found = access.get_package_for_user(user, pk)
    content = json.loads(found.content) if found.content else {}
    reviewing = access.may_review(user, found)
    form = ReviewForm(request.POST or None, item_keys=packaging.item_keys(content))
    context = {
        "package": found,
        "item": found.request,
        "content": content,
        "sections": packaging.for_display(content),
        "reviewing": reviewing,
        "may_release": found.status == AccessPackage.Status.APPROVED
        and user.has_casework_perm(Perm.HANDLE_DATA_REQUESTS)
        and found.request.is_open,
        "withheld": set(found.withheld),
        "checked": set(request.POST.getlist("withheld")),
    }
    if request.method == "GET":
        access.record_package_read(found, by=user, action="privacy.package.viewed")
        return render(request, "privacy/package.html", {**context, "form": form})
    if not reviewing:
        raise refusal("privacy.package.denied", by=user, data={"package": found.pk})
    response = run_service_form(
        request,
        form,
        lambda data: services.review_package(
            found,
            by=user,
            approve=data["decision"] == "approve",
            withheld=data["withheld"],
            withheld_reason=data["withheld_reason"],
            return_reason=data["return_reason"],
            include_fields=data["include_fields"],
        ),
        success=_("Review recorded."),
        redirect_to=lambda _done: HttpResponseRedirect(reverse("privacy:reviews")),
        template="privacy/package.html",
        context=context,
    )
    if response.status_code != 302:  # the form came back with the package on it: a read too
        access.record_package_read(found, by=user, action="privacy.package.viewed")
    return response


@login_required
@require_http_methods(["POST"])
def release(request: AuthenticatedHttpRequest, pk: int, file_format: str) -> HttpResponse:
    """Download the approved package, as released to the requester (JSON or PDF)."""
    user = request.user
    access.require_handler(user)
    found = access.get_package_for_user(user, pk)
    try:
        content = services.release_package(found, by=user, file_format=file_format)
    except CaseworkError as error:
        messages.error(request, str(error.message))
        return redirect("privacy:request", pk=found.request_id)
    name = f"access-package-{found.request_id}-{found.pk}"
    if file_format == "pdf":
        response = HttpResponse(
            packaging.as_pdf(content, digest=found.digest), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    else:
        body = json.dumps(content, ensure_ascii=False, sort_keys=True, indent=1)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.json"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def reviews(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The packages waiting for this user's review (officers and supervisors)."""
    user = request.user
    access.require_reviewer(user)
    waiting = (
        selectors.reviewable_packages(user)
        .select_related("request", "compiled_by")
        .order_by("request__due_on", "pk")[: selectors.REVIEWS_SHOWN]
    )
    # The exact rule, per package: at most REVIEWS_SHOWN checks (one query each for a supervisor).
    shown = [found for found in waiting if access.may_review(user, found)]
    return render(
        request, "privacy/reviews.html", {"packages": shown, "today": timezone.localdate()}
    )
