"""/api/v1/indicators/service-gaps: the service-gap report, through the same service as the page.

GET /api/v1/indicators/service-gaps?period=2026-Q3&level=1&format=json|csv|xlsx answers the
report's JSON (null is a suppressed figure) or the file; `min_cell` below the agency's threshold
needs the permission to see unsuppressed figures (403 otherwise) and is audited.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router

from casework.accounts.http import AuthenticatedHttpRequest
from casework.indicators import gap_exports, gaps
from casework.indicators.exports import ExportError
from casework.indicators.periods import parse_period

router = Router(tags=["indicators"])


@router.get("", summary="Unmet needs by need × area and referral outcomes by organisation")
def service_gaps(
    request: AuthenticatedHttpRequest,
    period: str,
    level: int = 1,
    output_format: str = Query("json", alias="format"),
    min_cell: int | None = None,
) -> Any:
    if output_format not in gap_exports.FORMATS:
        raise ExportError(
            _("Choose the format: %(formats)s.") % {"formats": ", ".join(gap_exports.FORMATS)},
            field="format",
        )
    report = gaps.gap_report_for(
        request.user, period=parse_period(period), level=level, min_cell=min_cell
    )
    if output_format == "json":
        return report.as_json()
    response = HttpResponse(
        gap_exports.render(report, output_format),
        content_type=gap_exports.FORMATS[output_format][0],
    )
    name = gap_exports.filename(report, output_format)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
