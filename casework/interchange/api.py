"""/api/v1/interchange: the same imports and exports as the screens, through the same services.

POST /imports            multipart: cases (file), surveys (file, optional), dry_run, valid_only,
                         mapping (name). Answers the summary and every error (line, column,
                         reason), and whether anything was written.
GET  /imports/{id}       an import of the caller's.
POST /exports            JSON: period, file_format, with_names, recipient_name, password,
                         override_reason, leave_out_refused. Without names: 200 with the file (a
                         ZIP of two CSVs or an XLSX). With names: 201 with where to download the
                         kept .cwx container (`download`, `Location`) and when it expires.
GET  /exports            the caller's exports with names (expiry, downloads, when erased).
GET  /exports/{id}/file  one of them, by its maker only (404 for anyone else); 410 once expired.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.accounts.tokens import EXPORT_AUTH
from casework.core.api import ErrorOut, answers
from casework.core.errors import CaseworkError
from casework.core.uploads import check_size
from casework.interchange import services
from casework.interchange.access import export_files_of, get_export_file_for_user
from casework.interchange.exporter import export_cases, require_exporter
from casework.interchange.importer import ImportResult, import_cases
from casework.interchange.models import ColumnMapping, ExportFile, ImportRun
from casework.interchange.periods import parse_period

router = Router(tags=["interchange"])
EXPORTS_SHOWN = 50


class RowErrorOut(Schema):
    file: str
    line: int
    column: str
    code: str
    message: str


class ImportOut(Schema):
    id: int | None
    status: str
    written: bool
    dry_run: bool
    counts: dict[str, int]
    created: dict[str, list[str]]
    extra_columns: dict[str, list[str]]
    errors: list[RowErrorOut]
    warnings: list[RowErrorOut]


class ExportIn(Schema):
    period: str = ""
    file_format: str = "csv"
    with_names: bool = False
    recipient_name: str = ""
    password: str = ""
    override_reason: str = ""
    leave_out_refused: bool = False


class ExportFileOut(Schema):
    id: int
    name: str
    size: int
    recipient_name: str
    cases: int
    created_at: datetime.datetime
    expires_at: datetime.datetime
    downloads: int
    purged_at: datetime.datetime | None
    available: bool
    download: str | None


def _import_out(result: ImportResult) -> dict[str, Any]:
    summary = result.summary()
    run = result.run
    return {
        "id": run.pk if run else None,
        "status": run.status if run else "",
        "written": result.written,
        "dry_run": result.dry_run,
        "counts": summary["counts"],
        "created": summary["created"],
        "extra_columns": summary["extra_columns"],
        "errors": result.errors,
        "warnings": result.warnings,
    }


@router.post(
    "/imports",
    response={200: ImportOut, 400: ImportOut | ErrorOut, 413: ErrorOut},
    url_name="interchange_import",
)
def create_import(
    request: AuthenticatedHttpRequest,
    cases: File[UploadedFile],
    surveys: File[UploadedFile | None] = None,
    dry_run: Form[bool] = False,
    valid_only: Form[bool] = False,
    mapping: Form[str] = "",
) -> Status:
    """400 with every error when rows have errors and nothing was written (unless a dry run);
    413 for a file over the upload limits (its size, what it unpacks to, its rows)."""
    user = request.user
    require_perm(user, Perm.IMPORT_CASES)
    check_size(cases.size or 0, what=_("The cases file"), field="cases")
    if surveys is not None:
        check_size(surveys.size or 0, what=_("The surveys file"), field="surveys")
    chosen = None
    if mapping:
        agency_id = int(getattr(user, "agency_id", None) or 0)
        chosen = ColumnMapping.objects.filter(agency_id=agency_id, name=mapping).first()
        if chosen is None:
            raise CaseworkError(_("No mapping with this name."), field="mapping")
    result = import_cases(
        cases=cases.read(),
        surveys=surveys.read() if surveys is not None else None,
        by=user,
        mapping=chosen,
        dry_run=dry_run,
        valid_only=valid_only,
        own_agency_only=True,
    )
    refused = bool(result.errors) and not result.written and not result.dry_run
    return Status(400 if refused else 200, _import_out(result))


@router.get("/imports/{run_id}", response=ImportOut, url_name="interchange_import_detail")
def import_detail(request: AuthenticatedHttpRequest, run_id: int) -> dict[str, Any]:
    require_perm(request.user, Perm.IMPORT_CASES)
    run = ImportRun.objects.filter(pk=run_id, created_by_id=request.user.pk).first()
    if run is None:
        raise Http404
    summary = run.summary or {}
    return {
        "id": run.pk,
        "status": run.status,
        "written": bool(summary.get("written")),
        "dry_run": bool(summary.get("dry_run")),
        "counts": summary.get("counts", {}),
        "created": summary.get("created", {}),
        "extra_columns": summary.get("extra_columns", {}),
        "errors": run.errors or [],
        "warnings": [],
    }


# What the 200 of a de-identified export is: the file itself, not JSON.
FILE_ANSWER: dict[str, Any] = {
    "description": "The file (a ZIP of two CSVs, an XLSX, or a .cwx container).",
    "content": {
        media: {"schema": {"type": "string", "format": "binary"}}
        for media in (
            "application/zip",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/octet-stream",
        )
    },
}


SEALED_ANSWER: dict[str, Any] = {
    "description": "The .cwx container (opened with its password: casework decrypt-export).",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


def _export_file_out(found: ExportFile, now: datetime.datetime) -> dict[str, Any]:
    available = found.is_available(now)
    return {
        "id": found.pk,
        "name": found.name,
        "size": found.size,
        "recipient_name": found.run.recipient_name,
        "cases": found.run.cases,
        "created_at": found.created_at,
        "expires_at": found.expires_at,
        "downloads": found.downloads,
        "purged_at": found.purged_at,
        "available": available,
        "download": reverse("api:interchange_export_file", kwargs={"export_id": found.pk})
        if available
        else None,
    }


@router.post(
    "/exports",
    url_name="interchange_export",
    auth=EXPORT_AUTH,
    response=answers(ExportFileOut, 400, 403, 404, status=201),
    openapi_extra={"responses": {200: FILE_ANSWER}},
)
def create_export(
    request: AuthenticatedHttpRequest, payload: ExportIn, response: HttpResponse
) -> Any:
    """De-identified (`with_names` false): 200 with the file. With names: the sealed file is
    kept for the caller, and the answer is 201 with where to download it (`download`, also the
    `Location` header) and when it expires; 403 `consent_required` lists the cases whose
    consent does not cover the export."""
    user = request.user
    require_exporter(user)
    period = parse_period(payload.period) if payload.period.strip() else None
    if payload.with_names:
        kept = services.export_with_names(
            by=user,
            period=period,
            file_format=payload.file_format,
            recipient_name=payload.recipient_name,
            password=payload.password,
            override_reason=payload.override_reason,
            leave_out_refused=payload.leave_out_refused,
        )
        out = _export_file_out(kept, timezone.now())
        response["Location"] = out["download"]
        return Status(201, out)
    result = export_cases(
        by=user,
        period=period,
        file_format=payload.file_format,
        leave_out_refused=payload.leave_out_refused,
    )
    name, content, content_type = result.download()
    answer = HttpResponse(content, content_type=content_type)
    answer["Content-Disposition"] = f'attachment; filename="{name}"'
    answer["Cache-Control"] = "no-store"
    return answer


@router.get(
    "/exports",
    url_name="interchange_exports",
    auth=EXPORT_AUTH,
    response={200: list[ExportFileOut], 404: ErrorOut},
)
def list_exports(request: AuthenticatedHttpRequest) -> list[dict[str, Any]]:
    """The caller's exports with names, newest first (at most 50), erased ones included."""
    user = request.user
    require_exporter(user)
    now = timezone.now()
    return [_export_file_out(found, now) for found in export_files_of(user)[:EXPORTS_SHOWN]]


@router.get(
    "/exports/{export_id}/file",
    url_name="interchange_export_file",
    auth=EXPORT_AUTH,
    response={404: ErrorOut, 410: ErrorOut},
    openapi_extra={"responses": {200: SEALED_ANSWER}},
)
def download_export(request: AuthenticatedHttpRequest, export_id: int) -> HttpResponse:
    """The caller's own export with names (a .cwx container); 404 for anyone else, 410
    `export_expired` once it expired (its file is erased)."""
    user = request.user
    found = get_export_file_for_user(user, export_id)
    content = services.download_export(found, by=user)
    answer = HttpResponse(content, content_type="application/octet-stream")
    answer["Content-Disposition"] = f'attachment; filename="{found.name}"'
    answer["Cache-Control"] = "no-store"
    return answer
