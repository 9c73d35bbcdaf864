"""/api/v1/indicators: the same report as the page and the command, through the same service.

GET /api/v1/indicators?period=2026-Q3&by=sex,age_group,sex+age_group&format=json|csv|xlsx|hxl|dhis2
answers the contract's JSON shape (or the file); `min_cell` below the agency's threshold needs
the permission to see unsuppressed figures (403 otherwise) and is audited. Persons who refuse
anonymised reporting on the period's last day are in no figure; an indicator that left any out
says how many in `left_out` (null and `"suppressed": true` when small; absent when none). Beside
the contract's keys: `settings_in_force`, and `verification` (the period's spot checks of plans:
sampled, checked, rate, and how often the check disagreed with the computed INDIVIDUAL_PLAN flag).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from casework.accounts.access import agency_of, require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.indicators import dhis2, exports, selectors, services
from casework.indicators.dimensions import parse_by
from casework.indicators.models import Dhis2Mapping
from casework.indicators.periods import parse_period
from casework.indicators.selectors import load_specs

router = Router(tags=["indicators"])


class DefinitionOut(Schema):
    code: str
    name: str
    kind: str
    period_semantics: str
    population: dict[str, Any]
    numerator: dict[str, Any] | None
    measures: list[str]
    disaggregations: list[str]


@router.get("", summary="The agency's indicators for a period (contract JSON or a file)")
def indicators(
    request: AuthenticatedHttpRequest,
    period: str,
    by: str = "",
    output_format: str = Query("json", alias="format"),
    min_cell: int | None = None,
) -> Any:
    if output_format not in exports.FORMATS:
        raise exports.ExportError(
            _("Choose the format: %(formats)s.") % {"formats": ", ".join(exports.FORMATS)},
            field="format",
        )
    report = services.report_for(
        request.user,
        period=parse_period(period),
        by=parse_by(by, request.user.agency_id),
        min_cell=min_cell,
    )
    if output_format == "json":
        # The contract's report, and the agency settings it was counted under.
        agency_id = request.user.agency_id or 0
        in_force = selectors.settings_in_force(agency_id, report.period)
        # Beside the report (not in it): the period's spot checks of plans against the
        # computed INDIVIDUAL_PLAN flag.
        return {
            **report.as_json(),
            "settings_in_force": {r.setting.key: r.value for r in in_force},
            "verification": selectors.verification(agency_id, report.period).as_json(),
        }
    mappings = (
        list(Dhis2Mapping.objects.filter(agency__code=report.agency_code))
        if output_format == "dhis2"
        else None
    )
    # Nothing mapped: a 422 that names what is missing (dhis2.py), not an empty list.
    unmapped = dhis2.check_exportable(report, mappings) if mappings is not None else 0
    response = HttpResponse(
        exports.render(report, output_format, dhis2_mappings=mappings),
        content_type=exports.FORMATS[output_format][0],
    )
    if mappings is not None:
        response["X-Casework-Unmapped-Figures"] = str(unmapped)
    name = exports.filename(report, output_format)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get("/trends", summary="Trends over months or quarters, suppressed like the report")
def trends(
    request: AuthenticatedHttpRequest,
    start: str,
    end: str,
    step: str = "month",
    min_cell: int | None = None,
    slice: str = "",  # noqa: A002 (the query parameter's name)
) -> Any:
    """`slice`: also every trend by this dimension (sex, age_group, disability, nationality,
    mobility_status, protection_concern, risk_level, adm1, programme)."""
    result = services.trends_for(
        request.user,
        start=parse_period(start),
        end=parse_period(end),
        step=step,
        min_cell=min_cell,
        slice_by=slice,
    )
    return result.as_json()


@router.get("/definitions", response=list[DefinitionOut], summary="The indicators reported")
def definitions(request: AuthenticatedHttpRequest) -> list[dict[str, Any]]:
    user = request.user
    require_perm(user, Perm.VIEW_INDICATORS)
    return [
        {
            "code": spec.code,
            "name": spec.name,
            "kind": spec.kind,
            "period_semantics": spec.period_semantics,
            "population": spec.population,
            "numerator": spec.numerator,
            "measures": list(spec.measures),
            "disaggregations": list(spec.disaggregations),
        }
        for spec in load_specs(agency_of(user))
    ]
