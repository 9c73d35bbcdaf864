"""The service-gap report page (seed 004, advocacy). Aggregates only: no name, no case reference.

The indicators' audience (Perm.VIEW_INDICATORS: supervisors, programme managers, M&E officers)
sees their agency's figures, suppressed like the indicators; anyone else gets the same 404 as
for a page that does not exist.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.core.errors import CaseworkError
from casework.indicators import gap_exports, gaps
from casework.indicators.forms import PERIOD_HELP
from casework.indicators.periods import Period, PeriodError, last_complete_quarter, parse_period


class GapReportForm(forms.Form):
    period = forms.CharField(label=_("Period"), max_length=40, help_text=PERIOD_HELP)
    level = forms.TypedChoiceField(
        label=_("Areas at"),
        coerce=int,
        choices=[
            (1, _("Admin level 1")),
            (2, _("Admin level 2")),
            (3, _("Admin level 3")),
        ],
        initial=1,
    )
    min_cell = forms.IntegerField(
        label=_("Smallest count shown"),
        required=False,
        min_value=1,
        max_value=100,
        help_text=_("1 shows every figure: for internal checking only, never for publication."),
    )
    download = forms.ChoiceField(
        required=False, choices=[("", "—"), *[(name, name) for name in gap_exports.FORMATS]]
    )

    def __init__(self, *args: Any, can_unsuppress: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].initial = str(last_complete_quarter(timezone.localdate()))
        if not can_unsuppress:
            del self.fields["min_cell"]

    def clean_period(self) -> Period:
        try:
            return parse_period(self.cleaned_data["period"])
        except PeriodError as error:
            raise forms.ValidationError(str(error.message)) from error


def _download(report: gaps.GapReport, output_format: str) -> HttpResponse:
    response = HttpResponse(
        gap_exports.render(report, output_format),
        content_type=gap_exports.FORMATS[output_format][0],
    )
    name = gap_exports.filename(report, output_format)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _tables(report: gaps.GapReport) -> dict[str, Any]:
    """The report's figures in the order the page's columns show them."""
    return {
        "need_rows": [
            {
                "row": need,
                "areas": [need.by_area[code] for code, _label in report.areas],
                "reasons": [need.by_reason[code] for code, _label in report.reasons],
            }
            for need in report.needs
        ],
        "area_totals": [report.area_totals[code] for code, _label in report.areas],
        "reason_totals": [report.reason_totals[code] for code, _label in report.reasons],
        "outcome_labels": [gaps.OUTCOME_LABELS[name] for name in gaps.OUTCOMES],
        "outcome_rows": [
            {"row": row, "counts": [row.counts[name] for name in gaps.OUTCOMES]}
            for row in [*report.outcomes, report.outcome_total]
        ],
    }


@login_required
@require_GET
def service_gaps(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.VIEW_INDICATORS)
    can_unsuppress = user.has_casework_perm(Perm.VIEW_UNSUPPRESSED)
    form = GapReportForm(request.GET or None, can_unsuppress=can_unsuppress)
    if not form.is_bound:
        form = GapReportForm(
            {"period": form.fields["period"].initial, "level": 1}, can_unsuppress=can_unsuppress
        )
    result: gaps.GapReport | None = None
    status = 200
    if form.is_valid():
        try:
            result = gaps.gap_report_for(
                user,
                period=form.cleaned_data["period"],
                level=form.cleaned_data["level"],
                min_cell=form.cleaned_data.get("min_cell"),
            )
        except CaseworkError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.message))
            status = error.status
    else:
        status = 400
    if result is not None and form.cleaned_data.get("download"):
        return _download(result, form.cleaned_data["download"])
    query = request.GET.copy()
    query.pop("download", None)
    return render(
        request,
        "indicators/service_gaps.html",
        {
            "form": form,
            "result": result,
            **(_tables(result) if result is not None else {}),
            "query": query.urlencode(),
            "formats": list(gap_exports.FORMATS),
        },
        status=status,
    )
