"""/api/v1/indicators/frozen: reports as submitted, through the same service as the screens.

POST /                          freeze a period's report (period, by, recipient, reason): 201
GET  /                          the agency's frozen reports, newest first
GET  /{frozen_id}               one, with its figures, settings in force and signature check
GET  /{frozen_id}/file?format=  a file exactly as at freezing (same bytes, type and name)
GET  /{frozen_id}/comparison    the frozen figures beside today's, figure by figure

Freezing needs Perm.FREEZE_REPORTS (M&E officers, programme managers); reading
Perm.VIEW_INDICATORS. Anyone else, and any other agency, gets 404.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema, Status

from casework.accounts.http import AuthenticatedHttpRequest
from casework.core.api import ErrorOut, answers
from casework.indicators import exports, frozen
from casework.indicators.access import frozen_reports_for, get_frozen_report_for_user
from casework.indicators.dimensions import parse_by
from casework.indicators.models import FrozenReport
from casework.indicators.periods import parse_period

router = Router(tags=["indicators"])
LISTED = 100


class FreezeIn(Schema):
    period: str
    by: str = ""
    recipient: str
    reason: str = ""


class FrozenOut(Schema):
    id: int
    version: int
    period: str
    period_start: datetime.date
    period_end: datetime.date
    disaggregations: str
    min_cell: int
    recipient: str
    reason: str
    frozen_by: str
    frozen_at: datetime.datetime
    definitions_hash: str
    files: dict[str, str]


class FrozenDetailOut(FrozenOut):
    signature_ok: bool
    report: dict[str, Any]
    settings_in_force: dict[str, Any]


class FigureOut(Schema):
    indicator: str
    disaggregation: str
    key: str
    figure: str
    frozen: int | float | None
    today: int | float | None
    in_frozen: bool
    in_today: bool
    changed: bool


class ComparisonOut(Schema):
    frozen_report: int
    version: int
    signature_ok: bool
    definitions_changed: bool
    frozen: dict[str, Any]
    today: dict[str, Any]
    today_min_cell: int
    figures: list[FigureOut]
    changed: int


def _out(found: FrozenReport) -> dict[str, Any]:
    return {
        "id": found.pk,
        "version": found.version,
        "period": found.period_label,
        "period_start": found.period_start,
        "period_end": found.period_end,
        "disaggregations": found.disaggregations,
        "min_cell": found.min_cell,
        "recipient": found.recipient,
        "reason": found.reason,
        "frozen_by": found.frozen_by.username,
        "frozen_at": found.frozen_at,
        "definitions_hash": found.definitions_hash,
        "files": {
            file_format: reverse("api:indicators_frozen_file", kwargs={"frozen_id": found.pk})
            + f"?format={file_format}"
            for file_format in exports.FORMATS
        },
    }


@router.post("", response=answers(FrozenOut, 400, 403, 404, status=201))
def freeze(request: AuthenticatedHttpRequest, payload: FreezeIn) -> Status:
    """Freeze the agency's report of a period as it is sent to a donor or cluster. 400 when the
    period has not ended, `recipient` is empty, or the period was frozen before and no
    `reason` says why it is frozen again (the new freeze is then the next version)."""
    found = frozen.freeze_report(
        by=request.user,
        period=parse_period(payload.period),
        disaggregations=parse_by(payload.by, request.user.agency_id),
        recipient=payload.recipient,
        reason=payload.reason,
    )
    return Status(201, _out(found))


@router.get("", response={200: list[FrozenOut], 404: ErrorOut})
def frozen_reports(request: AuthenticatedHttpRequest) -> list[dict[str, Any]]:
    """The agency's frozen reports, newest first (the latest 100)."""
    return [_out(found) for found in frozen_reports_for(request.user)[:LISTED]]


@router.get("/{frozen_id}", response={200: FrozenDetailOut, 404: ErrorOut})
def frozen_report(request: AuthenticatedHttpRequest, frozen_id: int) -> dict[str, Any]:
    """One frozen report: its figures (the contract's shape), the settings in force when it
    was counted, and whether it still matches its signature (`signature_ok`)."""
    found = get_frozen_report_for_user(request.user, frozen_id)
    return {
        **_out(found),
        "signature_ok": frozen.verify(found),
        "report": found.report,
        "settings_in_force": {key: row.get("value") for key, row in found.settings.items()},
    }


FILE_ANSWER: dict[str, Any] = {
    "description": "The file exactly as it was when the report was frozen.",
    "content": {
        media: {"schema": {"type": "string", "format": "binary"}}
        for media in {content_type for content_type, _extension in exports.FORMATS.values()}
    },
}


@router.get(
    "/{frozen_id}/file",
    url_name="indicators_frozen_file",
    response={404: ErrorOut, 409: ErrorOut},
    openapi_extra={"responses": {200: FILE_ANSWER}},
)
def frozen_file(
    request: AuthenticatedHttpRequest,
    frozen_id: int,
    file_format: str = Query("json", alias="format"),
) -> HttpResponse:
    """A file of the frozen report (json, csv, hxl, xlsx, dhis2): the same bytes, type and name
    as when it was frozen; 409 when the report no longer matches its signature."""
    found = get_frozen_report_for_user(request.user, frozen_id)
    file = frozen.file_as_frozen(found, file_format)
    response = HttpResponse(bytes(file.content), content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.name}"'
    return response


@router.get("/{frozen_id}/comparison", response={200: ComparisonOut, 404: ErrorOut})
def frozen_comparison(request: AuthenticatedHttpRequest, frozen_id: int) -> dict[str, Any]:
    """The frozen figures beside what they would be today (same period and disaggregations),
    each with `changed`; `changed` at the top counts them."""
    found = get_frozen_report_for_user(request.user, frozen_id)
    return frozen.comparison(found).as_json()
