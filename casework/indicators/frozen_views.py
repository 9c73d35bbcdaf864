"""Screens of reports as submitted: freeze a period's report, list the frozen ones, see one
beside today's figures, and download its files again, byte for byte.

Seen by everyone who sees the agency's indicators (supervisors, programme managers, M&E
officers); frozen by M&E officers and programme managers (Perm.FREEZE_REPORTS). Anyone else, and
any other agency, gets the same 404 as for a report that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.core.views import run_service_form
from casework.indicators import frozen
from casework.indicators.access import frozen_reports_for, get_frozen_report_for_user
from casework.indicators.dimensions import DIMENSIONS, PAIR_SEPARATOR
from casework.indicators.forms import FreezeForm
from casework.indicators.labels import Labels
from casework.indicators.models import FrozenExport, FrozenReport
from casework.indicators.periods import last_complete_quarter
from casework.indicators.report import Report

PER_PAGE = 50
FIGURE_LABELS = {
    "value": gettext_lazy("value"),
    "numerator": gettext_lazy("numerator"),
    "denominator": gettext_lazy("denominator"),
    "open": gettext_lazy("still open at the period end"),
    "closed": gettext_lazy("all their cases closed by the period end"),
    "also_mhpss": gettext_lazy("also have a case in MHPSS during the period"),
    "surveyed": gettext_lazy("answered a participation survey in the period"),
    "left_out": gettext_lazy("left out: refuse anonymised reporting"),
}


@dataclass
class IndicatorFigures:
    code: str
    pairs: list[frozen.FigurePair] = field(default_factory=list)
    changed: int = 0


def _grouped(pairs: list[frozen.FigurePair]) -> list[IndicatorFigures]:
    groups: dict[str, IndicatorFigures] = {}
    for pair in pairs:
        group = groups.setdefault(pair.indicator, IndicatorFigures(pair.indicator))
        group.pairs.append(pair)
        group.changed += pair.changed
    return list(groups.values())


def figure_label(pair: frozen.FigurePair, labels: Labels) -> str:
    """ "Sex: female — value", "Total — numerator" …: where a figure sits in the report."""
    figure = str(FIGURE_LABELS.get(pair.figure, pair.figure))
    if not pair.disaggregation:
        return f"{_('Total')} — {figure}"
    dimensions = pair.disaggregation.split(PAIR_SEPARATOR)
    keys = pair.key.split(PAIR_SEPARATOR)
    where = " × ".join(
        f"{DIMENSIONS[name].label if name in DIMENSIONS else name}: {labels.key(name, key)}"
        for name, key in zip(dimensions, keys, strict=False)
    )
    return f"{where} — {figure}"


def comparison_context(comparison: frozen.Comparison) -> dict[str, Any]:
    """What the report page and the frozen report's page show of frozen vs today."""
    labels = Labels()
    groups = _grouped(comparison.pairs)
    return {
        "comparison": comparison,
        "frozen_report": comparison.frozen,
        "groups": [
            {
                "code": group.code,
                "changed": group.changed,
                "rows": [(figure_label(pair, labels), pair) for pair in group.pairs],
            }
            for group in groups
        ],
        "changed_count": len(comparison.changed),
    }


def report_page_context(user: User, result: Report | None) -> dict[str, Any]:
    """For the indicators page: whether the user may freeze, and the latest frozen version of
    the report shown beside the figures just counted (when there is one)."""
    beside = frozen.beside_report(user, result) if result is not None else None
    return {
        "can_freeze": user.has_casework_perm(Perm.FREEZE_REPORTS),
        **(comparison_context(beside) if beside is not None else {}),
    }


@login_required
@require_GET
def frozen_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    reports = frozen_reports_for(user)
    page = Paginator(reports, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "indicators/frozen_list.html",
        {"page": page, "can_freeze": user.has_casework_perm(Perm.FREEZE_REPORTS)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def freeze(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = require_perm(request.user, Perm.FREEZE_REPORTS)
    initial = {
        "period": request.GET.get("period") or str(last_complete_quarter(timezone.localdate())),
        "by": request.GET.getlist("by") or ["sex", "age_group"],
        "pair": request.GET.get("pair", ""),
    }
    form = FreezeForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        agency_id=user.agency_id,
    )

    def call(data: dict[str, Any]) -> FrozenReport:
        return frozen.freeze_report(
            by=user,
            period=data["period"],
            disaggregations=data["disaggregations"],
            recipient=data["recipient"],
            reason=data["reason"],
        )

    return run_service_form(
        request,
        form,
        call,
        success=lambda found: (
            _("Frozen: version %(version)s of %(period)s.")
            % {"version": found.version, "period": found.period_label}
        ),
        redirect_to=lambda found: redirect("indicators:frozen_detail", pk=found.pk),
        template="indicators/frozen_new.html",
    )


@login_required
@require_GET
def frozen_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    found = get_frozen_report_for_user(request.user, pk)
    context = comparison_context(frozen.comparison(found))
    context["files"] = list(
        FrozenExport.objects.filter(frozen_report=found)
        .only("file_format", "name", "frozen_report_id")
        .order_by("file_format")
    )
    context["versions"] = list(
        frozen_reports_for(request.user)
        .filter(
            period_start=found.period_start,
            period_end=found.period_end,
            disaggregations=found.disaggregations,
        )
        .order_by("-version")
    )
    return render(request, "indicators/frozen_detail.html", context)


@login_required
@require_GET
def frozen_download(request: AuthenticatedHttpRequest, pk: int, file_format: str) -> HttpResponse:
    found = get_frozen_report_for_user(request.user, pk)
    try:
        file = frozen.file_as_frozen(found, file_format)
    except frozen.SignatureMismatch as error:
        return HttpResponse(
            str(error.message), status=409, content_type="text/plain; charset=utf-8"
        )
    return file_response(file)


def file_response(file: FrozenExport) -> HttpResponse:
    """The frozen file with the type and name it had when frozen."""
    response = HttpResponse(bytes(file.content), content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.name}"'
    return response
