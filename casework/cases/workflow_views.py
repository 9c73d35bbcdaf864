"""Screens for follow-up, reassignment, transfer, closure and the supervisor's team view.

Same shape as views.py: load through the gate, validate a form, call one service, redirect (or
show the form again with each error next to its field).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.access import agency_of, require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.cases import access, caseload, panels, screening, workflow
from casework.cases.forms import (
    ClosureForm,
    DecisionForm,
    FollowUpForm,
    ReassignForm,
    TransferDecisionForm,
    TransferForm,
)
from casework.cases.models import Case, CasePolicy, ClosureRequest, TransferRequest
from casework.core.views import run_service_form, then_redirect


@login_required
@require_http_methods(["GET", "POST"])
def follow_up(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk, write=True)
    return run_service_form(
        request,
        FollowUpForm(request.POST or None),
        lambda data: workflow.record_follow_up(case, by=request.user, **data),
        success=_("Follow-up recorded."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/step_form.html",
        context={"case": case, "title": _("Record a follow-up")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def reassign(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.REASSIGN_IN_TEAM)
    case = access.get_case_for_user(user, pk, write=True)
    form = ReassignForm(request.POST or None, team_id=case.team_id, agency_id=case.agency_id)
    return run_service_form(
        request,
        form,
        lambda data: workflow.reassign_case(
            case,
            to=data["caseworker"],
            by=user,
            reason=data["reason"],
        ),
        success=_("Case reassigned."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/step_form.html",
        context={"case": case, "title": _("Reassign the case")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def transfer(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    case = access.get_case_for_user(user, pk, write=True)
    form = TransferForm(request.POST or None, agency_id=case.agency_id)
    return run_service_form(
        request,
        form,
        lambda data: workflow.request_transfer(case, by=user, **data),
        success=_("Transfer requested. The case stays with you until the agency answers."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/step_form.html",
        context={"case": case, "title": _("Transfer to another agency")},
    )


@login_required
def transfers(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Transfers offered to the user's agency. Shows the request's summary, never the case file."""
    require_perm(request.user, Perm.REASSIGN_IN_TEAM)
    pending = workflow.transfers_for(request.user).order_by("created_at")
    return render(request, "cases/transfers.html", {"transfers": pending})


@login_required
@require_http_methods(["GET", "POST"])
def decide_transfer(request: AuthenticatedHttpRequest, transfer_pk: int) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.REASSIGN_IN_TEAM)
    offer = workflow.transfers_for(user).filter(pk=transfer_pk).first()
    if offer is None:
        raise Http404(_("No such transfer."))
    form = TransferDecisionForm(request.POST or None, user=user)
    return run_service_form(
        request,
        form,
        lambda data: workflow.decide_transfer(
            offer,
            by=user,
            accept=data["decision"] == "accept",
            caseworker=data["caseworker"],
            comment=data["comment"],
        ),
        success=_("Transfer answered."),
        redirect_to=lambda _result: redirect("cases:transfers"),
        template="cases/transfer_decision.html",
        context={"transfer": offer},
    )


@login_required
@require_http_methods(["GET", "POST"])
def close(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk, write=True)
    return run_service_form(
        request,
        ClosureForm(request.POST or None),
        lambda data: workflow.request_closure(case, by=request.user, **data),
        success=_("Closure recorded."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/step_form.html",
        context={
            "case": case,
            "title": _("Close the case"),
            "intro": _(
                "Closing needs a final review with the client. Where the agency requires it, "
                "the supervisor approves before the case closes."
            ),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def decide_closure(request: AuthenticatedHttpRequest, pk: int, closure_pk: int) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.APPROVE_CLOSURES)
    case = access.get_case_for_user(user, pk, write=True)
    closure = ClosureRequest.objects.filter(case=case, pk=closure_pk).first()
    if closure is None:
        raise Http404(_("No such closure."))
    return run_service_form(
        request,
        DecisionForm(request.POST or None),
        lambda data: workflow.decide_closure(
            closure,
            by=user,
            approve=data["decision"] == "approve",
            comment=data["comment"],
        ),
        success=_("Decision recorded."),
        redirect_to=then_redirect("cases:detail", pk=case.pk),
        template="cases/closure_decision.html",
        context={"case": case, "closure": closure},
    )


@login_required
def team(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The supervisor's view: caseloads by risk against the threshold, overdue, approvals."""
    user = request.user
    require_perm(user, Perm.REASSIGN_IN_TEAM)
    rows = caseload.team_caseload(user)
    closures = workflow.pending_closures_for(user)
    context = {
        "rows": rows,
        # Seed 004, standard 9: who carries more than a reasonable caseload.
        "over_caseload": [row for row in rows if row.over_threshold],
        "threshold": CasePolicy.for_agency(user.agency_id).caseload_threshold
        if user.agency_id
        else None,
        "closures": closures,
        "lines": panels.team_lines(user),
        "funnel": screening.funnel(
            agency_of(user), since=timezone.localdate().replace(day=1), until=timezone.localdate()
        ),
        "transfers": workflow.transfers_for(user).count(),
    }
    return render(request, "cases/team.html", context)


def transfer_status(case: Case) -> TransferRequest | None:
    return case.transfer_requests.filter(status=TransferRequest.Status.PENDING).first()
