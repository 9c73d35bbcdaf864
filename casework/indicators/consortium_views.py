"""Screens of the consortium report (the lead's M&E officers and programme managers) and of the
agreements to share with a lead (each agency's administrators). Gate: consortium_access.py."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.models import Agency
from casework.core.errors import CaseworkError
from casework.core.forms import ServiceForm
from casework.core.views import run_service_form
from casework.indicators import consortium, exports
from casework.indicators.consortium_access import (
    agreements_for,
    get_own_agreement,
    get_received_agreement,
    lead_for,
)
from casework.indicators.forms import ReportForm
from casework.indicators.labels import Labels
from casework.indicators.presenting import (
    MEASURE_LABELS,
    attached,
    report_file,
    row_text,
    tables_of,
)


def download(result: consortium.ConsortiumReport, output_format: str) -> HttpResponse:
    report = result.report
    if output_format != "json":
        return report_file(report, output_format, mapping_agency_id=result.lead.agency_id)
    # The consortium's JSON says more than the report's: members, persons counted once.
    content = (json.dumps(result.as_json(), indent=1, ensure_ascii=False) + "\n").encode()
    response = HttpResponse(content, content_type=exports.FORMATS["json"][0])
    return attached(response, exports.filename(report, output_format))


@login_required
@require_GET
def consortium_report(request: AuthenticatedHttpRequest) -> HttpResponse:
    lead = lead_for(request.user)
    form = ReportForm(request.GET or None)
    if not form.is_bound:
        form = ReportForm(
            {"period": form.fields["period"].initial, "by": form.fields["by"].initial}
        )
    result: consortium.ConsortiumReport | None = None
    status = 200
    if form.is_valid():
        result = consortium.build_consortium_report(
            lead=lead, period=form.cleaned_data["period"], by=form.disaggregations()
        )
        if form.cleaned_data.get("download"):
            try:
                return download(result, form.cleaned_data["download"])
            except CaseworkError as error:
                form.add_error(None, str(error.message))
                status = error.status
    else:
        status = 400
    labels = Labels()
    indicators = [
        {
            "report": indicator,
            "headline": row_text(indicator.total),
            "measures": [
                (MEASURE_LABELS.get(name, name), value)
                for name, value in indicator.measures.items()
            ],
            "tables": tables_of(indicator, labels),
            "linked": result.linked.get(indicator.code) if result else None,
        }
        for indicator in (result.report.indicators if result else [])
    ]
    query = request.GET.copy()
    query.pop("download", None)
    return render(
        request,
        "indicators/consortium.html",
        {
            "form": form,
            "result": result,
            "indicators": indicators,
            "query": query.urlencode(),
            "formats": list(exports.FORMATS),
            "remaining_overlap": consortium.REMAINING_OVERLAP,
        },
        status=status,
    )


class AgreementForm(ServiceForm):
    lead = forms.ModelChoiceField(
        label=gettext_lazy("Lead agency"),
        queryset=Agency.objects.none(),
        to_field_name="code",
        help_text=gettext_lazy("The agency that adds up the consortium's figures."),
    )
    starts_on = forms.DateField(
        label=gettext_lazy("Share periods from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=gettext_lazy("Share periods until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Empty: until revoked."),
    )

    def __init__(self, *args: Any, agency_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["lead"])
        field.queryset = Agency.objects.filter(
            ~Q(pk=agency_id), kind=Agency.Kind.CASE_MANAGEMENT
        ).order_by("name")


@login_required
@require_http_methods(["GET", "POST"])
def agreements(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    rows = list(agreements_for(user))
    agency_id = user.agency_id or 0
    form = AgreementForm(request.POST or None, agency_id=agency_id)
    return run_service_form(
        request,
        form,
        lambda data: consortium.agree(
            by=user, lead=data["lead"], starts_on=data["starts_on"], ends_on=data["ends_on"]
        ),
        success=_(
            "The agreement is proposed: the lead agency's report adds up your figures once its "
            "administrator accepts."
        ),
        redirect_to=lambda _agreement: redirect("indicators:consortium_agreements"),
        template="indicators/consortium_agreements.html",
        context={
            "as_member": [row for row in rows if row.member_id == agency_id],
            "as_lead": [row for row in rows if row.lead_id == agency_id],
        },
    )


@login_required
@require_POST
def revoke_agreement(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    from django.contrib import messages

    agreement = get_own_agreement(request.user, pk)
    try:
        consortium.revoke(agreement, by=request.user)
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The agreement is revoked: your figures are no longer shared."))
    return redirect("indicators:consortium_agreements")


def _answer(request: AuthenticatedHttpRequest, pk: int, *, accept: bool) -> HttpResponse:
    from django.contrib import messages

    agreement = get_received_agreement(request.user, pk)
    try:
        consortium.answer(agreement, by=request.user, accept=accept)
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("The agreement is accepted: your consortium report adds up its figures.")
            if accept
            else _("The agreement is refused: it counts in no report."),
        )
    return redirect("indicators:consortium_agreements")


@login_required
@require_POST
def accept_agreement(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The lead agency's administrator accepts a member's proposal (gate: the lead's side)."""
    return _answer(request, pk, accept=True)


@login_required
@require_POST
def refuse_agreement(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The lead agency's administrator refuses a member's proposal."""
    return _answer(request, pk, accept=False)
