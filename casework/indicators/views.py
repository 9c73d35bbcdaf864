"""The indicators report and the trends page. Aggregates only: no name, no case reference.

M&E officers, supervisors and programme managers (Perm.VIEW_INDICATORS) see their agency's
figures; anyone else gets the same 404 as for a page that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.core.errors import CaseworkError
from casework.indicators import charts, exports, frozen_views, presenting, selectors, services
from casework.indicators.forms import ReportForm, TrendsForm
from casework.indicators.labels import Labels
from casework.indicators.models import ConsortiumAgreement
from casework.indicators.report import Report
from casework.indicators.trends import Trends, share


@login_required
@require_GET
def report(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.VIEW_INDICATORS)
    can_unsuppress = user.has_casework_perm(Perm.VIEW_UNSUPPRESSED)
    form = ReportForm(request.GET or None, can_unsuppress=can_unsuppress, agency_id=user.agency_id)
    result: Report | None = None
    status = 200
    if not form.is_bound:
        form = ReportForm(
            {"period": form.fields["period"].initial, "by": form.fields["by"].initial},
            can_unsuppress=can_unsuppress,
            agency_id=user.agency_id,
        )
    if form.is_valid():
        try:
            result = services.report_for(
                user,
                period=form.cleaned_data["period"],
                by=form.disaggregations(),
                min_cell=form.cleaned_data.get("min_cell"),
            )
        except CaseworkError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.message))
            status = error.status
    else:
        status = 400
    if result is not None and form.cleaned_data.get("download"):
        try:
            return presenting.report_file(result, form.cleaned_data["download"])
        except CaseworkError as error:
            form.add_error(None, str(error.message))
            status = error.status
    labels = Labels(result.dimensions if result is not None else None)
    indicators = [
        {
            "report": indicator,
            "headline": presenting.row_text(indicator.total),
            "measures": [
                (presenting.MEASURE_LABELS.get(name, name), value)
                for name, value in indicator.measures.items()
            ],
            "tables": presenting.tables_of(indicator, labels),
            "left_out": indicator.left_out,
        }
        for indicator in (result.indicators if result else [])
    ]
    query = request.GET.copy()
    query.pop("download", None)
    return render(
        request,
        "indicators/report.html",
        {
            "form": form,
            "result": result,
            "indicators": indicators,
            "query": query.urlencode(),
            "formats": list(exports.FORMATS),
            "settings": (
                selectors.settings_in_force(user.agency_id, result.period)
                if result is not None and user.agency_id
                else []
            ),
            # The consortium report, for an agency that leads one (consortium_access.py).
            "leads_consortium": user.has_casework_perm(Perm.FREEZE_REPORTS)
            and ConsortiumAgreement.objects.filter(
                lead_id=user.agency_id, accepted_at__isnull=False
            ).exists(),
            # Reports as submitted: the frozen figures of this report beside today's.
            **frozen_views.report_page_context(user, result),
            "verification": (
                selectors.verification(user.agency_id, result.period)
                if result is not None and user.agency_id
                else None
            ),
        },
        status=status,
    )


def _trend_context(trends: Trends, labels: Labels) -> dict[str, Any]:
    bucket_labels = [str(period) for period in trends.tables[0].buckets] if trends.tables else []
    tables = []
    for table in trends.tables:
        dimension = table.dimension
        rows = []
        for category in table.categories:
            values = [table.cells.get((label, category)) for label in bucket_labels]
            rows.append(
                {
                    "label": labels.key(dimension, category)
                    if dimension
                    else table.label(category),
                    "values": values,
                    "total": table.category_totals.get(category),
                    "share": share(table.category_totals.get(category), table.total),
                    "sparkline": charts.sparkline(values, title=category),
                }
            )
        tables.append(
            {
                "table": table,
                "rows": rows,
                "totals": [table.bucket_totals.get(label) for label in bucket_labels],
            }
        )
    series = []
    for item in trends.series:
        lines = {
            (labels.key(item.dimension, name) if item.dimension else item.label(name)): [
                item.values.get((name, label)) for label in bucket_labels
            ]
            for name in item.names
        }
        series.append(
            {
                "series": item,
                "lines": lines,
                "rows": [
                    (label, [values[number] for values in lines.values()])
                    for number, label in enumerate(bucket_labels)
                ],
                "chart": charts.line_chart(lines, labels=bucket_labels, title=str(item.title)),
            }
        )
    return {"buckets": bucket_labels, "tables": tables, "series": series}


@login_required
@require_GET
def trends(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.VIEW_INDICATORS)
    form = TrendsForm(request.GET or None, agency_id=user.agency_id)
    if not form.is_bound:
        form = TrendsForm(
            {
                "start": form.fields["start"].initial,
                "end": form.fields["end"].initial,
                "step": "month",
            },
            agency_id=user.agency_id,
        )
    context: dict[str, Any] = {"form": form, "trends": None}
    status = 200
    if form.is_valid():
        try:
            result = services.trends_for(
                user,
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
                step=form.cleaned_data["step"],
                slice_by=form.cleaned_data.get("slice") or "",
            )
            context["trends"] = result
            sliced = {result.sliced.code: result.sliced} if result.sliced else None
            context.update(_trend_context(result, Labels(sliced)))
        except CaseworkError as error:
            form.add_error(None, str(error.message))
            status = error.status
    else:
        status = 400
    return render(request, "indicators/trends.html", context, status=status)
