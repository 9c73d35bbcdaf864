"""/api/v1/interchange: the same imports and exports as the screens, through the same services.

POST /imports            multipart: cases (file), surveys (file, optional), dry_run, valid_only,
                         mapping (name). Answers the summary and every error (line, column,
                         reason), and whether anything was written.
GET  /imports/{id}       an import of the caller's.
POST /exports            JSON: period, file_format, with_names, recipient_name, password,
                         override_reason, leave_out_refused. Answers the file (a .cwx container
                         with names; a ZIP of two CSVs or an XLSX without).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.accounts.tokens import EXPORT_AUTH
from casework.core.api import ErrorOut
from casework.core.errors import CaseworkError
from casework.core.uploads import check_size
from casework.interchange.exporter import export_cases, require_exporter
from casework.interchange.importer import ImportResult, import_cases
from casework.interchange.models import ColumnMapping, ImportRun
from casework.interchange.periods import parse_period

router = Router(tags=["interchange"])


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


@router.post("/exports", url_name="interchange_export", auth=EXPORT_AUTH)
def create_export(request: AuthenticatedHttpRequest, payload: ExportIn) -> HttpResponse:
    user = request.user
    require_exporter(user)
    result = export_cases(
        by=user,
        period=parse_period(payload.period) if payload.period.strip() else None,
        file_format=payload.file_format,
        with_names=payload.with_names,
        recipient_name=payload.recipient_name,
        password=payload.password,
        override_reason=payload.override_reason,
        leave_out_refused=payload.leave_out_refused,
    )
    name, content, content_type = result.download()
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
