"""/api/v1/indicators/consortium: the lead agency's consortium report, through the same gate and
roll-up as the screen (consortium_access.py, consortium.py).

GET /api/v1/indicators/consortium?period=2026-Q3&by=sex,age_group&format=json|csv|xlsx|hxl|dhis2
answers the contract's JSON shape for the added-up figures, and `consortium`: the lead, the
members added up, the threshold applied after the roll-up, the persons counted once per
indicator, and the overlap that remains possible. A member's users, and any other agency, get 404.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Query, Router

from casework.accounts.http import AuthenticatedHttpRequest
from casework.indicators import consortium, exports
from casework.indicators.consortium_access import lead_for
from casework.indicators.consortium_views import download
from casework.indicators.dimensions import parse_by
from casework.indicators.periods import parse_period

router = Router(tags=["indicators"])


@router.get("", summary="The consortium's indicators for a period, added up and suppressed")
def consortium_report(
    request: AuthenticatedHttpRequest,
    period: str,
    by: str = "",
    output_format: str = Query("json", alias="format"),
) -> Any:
    lead = lead_for(request.user)
    if output_format not in exports.FORMATS:
        raise exports.ExportError(
            _("Choose the format: %(formats)s.") % {"formats": ", ".join(exports.FORMATS)},
            field="format",
        )
    result = consortium.build_consortium_report(
        lead=lead, period=parse_period(period), by=parse_by(by)
    )
    if output_format == "json":
        return result.as_json()
    return download(result, output_format)
