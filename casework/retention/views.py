"""The agency administrators' purge screen (casework/retention/purge.py): one administrator
requests, a second confirms within ten minutes. Administrators only; a request of another
agency is the same 404 as one that does not exist."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from casework.accounts.access import agency_of, require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.core.forms import ServiceForm
from casework.core.views import run_service_form, then_redirect
from casework.retention import purge
from casework.retention.forms import AgencyCodeForm
from casework.retention.models import CONFIRM_WITHIN, AgencyPurge, PurgeRequest
from casework.vault import keys

TEMPLATE = "retention/purge.html"
HISTORY = 10


def _context(request: AuthenticatedHttpRequest) -> dict[str, object]:
    user = request.user
    agency_id = agency_of(user)
    waiting = purge.open_request(agency_id)
    return {
        "agency": user.agency,
        "waiting": waiting,
        "may_confirm": waiting is not None and waiting.requested_by_id != user.pk,
        "administrators": len(purge.administrators(agency_id)),
        "minutes": int(CONFIRM_WITHIN.total_seconds() // 60),
        "master_in_environment": keys.master_keys_from_environment(),
        "purges": AgencyPurge.objects.filter(agency_id=agency_id).order_by("-started_at")[:HISTORY],
        "now": timezone.now(),
    }


@login_required
@require_http_methods(["GET"])
def purge_screen(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    form = AgencyCodeForm(second_factor=request.user.must_use_mfa)
    return render(request, TEMPLATE, {**_context(request), "form": form})


@login_required
@require_POST
def request_purge(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    form = AgencyCodeForm(request.POST, second_factor=user.must_use_mfa)
    return run_service_form(
        request,
        form,
        lambda data: purge.request_purge(
            by=user,
            agency_code=data["agency_code"],
            second_factor=data.get("second_factor", ""),
        ),
        success=_("Purge requested: another administrator must now confirm it."),
        redirect_to=then_redirect("retention:purge"),
        template=TEMPLATE,
        context=_context(request),
    )


def _request_or_404(request: AuthenticatedHttpRequest, pk: int) -> PurgeRequest:
    found = PurgeRequest.objects.filter(pk=pk, agency_id=agency_of(request.user)).first()
    if found is None:
        raise Http404(_("Not found."))
    return found


@login_required
@require_POST
def confirm_purge(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    waiting = _request_or_404(request, pk)
    form = AgencyCodeForm(request.POST, second_factor=user.must_use_mfa)
    return run_service_form(
        request,
        form,
        lambda data: purge.confirm_purge(
            waiting,
            by=user,
            agency_code=data["agency_code"],
            second_factor=data.get("second_factor", ""),
        ),
        success=_("The agency's keys are destroyed: its personal data can no longer be read."),
        redirect_to=then_redirect("retention:purge"),
        template=TEMPLATE,
        context={**_context(request), "confirm_form": form},
    )


@login_required
@require_POST
def cancel_purge(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    waiting = _request_or_404(request, pk)
    return run_service_form(
        request,
        ServiceForm(request.POST),  # a button: nothing to type
        lambda _data: purge.cancel_purge_request(waiting, by=user),
        success=_("The purge request was cancelled."),
        redirect_to=then_redirect("retention:purge"),
        template=TEMPLATE,
        context=_context(request),
    )
