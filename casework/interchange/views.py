"""Import and export screens.

Import: upload → dry run listing every bad row (line, column, reason) → import (all rows, or the
valid rows only) or discard. Export: a form that answers with the de-identified file, or keeps an
export with names for its maker to download until it expires. All 404 for a user without the
right (a page's existence is not confirmed either), as everywhere else.
"""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.core.csvfiles import SafeWriter
from casework.core.errors import CaseworkError
from casework.core.uploads import limits
from casework.core.views import render_form, run_service_form
from casework.interchange import importer, services
from casework.interchange.access import export_files_of, get_export_file_for_user
from casework.interchange.exporter import (
    ConsentMissing,
    export_cases,
    may_export,
    require_exporter,
)
from casework.interchange.forms import ConfirmForm, ExportForm, MappingForm, UploadForm
from casework.interchange.models import ColumnMapping, ImportRun

ERRORS_SHOWN = 1000
EXPORTS_SHOWN = 50


class InMemoryUpload(MemoryFileUploadHandler):
    """Uploads up to the configured size stay in memory: a case file never lands on disk in
    clear (Django would spill anything over 2.5 MB into a temporary file)."""

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],  # noqa: N803 (Django's name)
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        self.activated = content_length <= limits().max_bytes + 1024 * 1024


def _agency_id(request: HttpRequest) -> int:
    return int(getattr(request.user, "agency_id", None) or 0)


def _own_run(request: HttpRequest, pk: int) -> ImportRun:
    require_perm(request.user, Perm.IMPORT_CASES)
    return get_object_or_404(ImportRun, pk=pk, created_by_id=request.user.pk)


# --- import -------------------------------------------------------------------------------------


@csrf_exempt  # upload handlers must be set before the body is read; CSRF is checked just below
@login_required
def upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    request.upload_handlers = [InMemoryUpload(request)]
    return _upload(request)


@csrf_protect
@require_http_methods(["GET", "POST"])
def _upload(request: HttpRequest) -> HttpResponse:
    user = require_perm(request.user, Perm.IMPORT_CASES)
    form = UploadForm(
        request.POST or None,
        request.FILES or None,
        agency_id=user.agency_id or 0,
    )

    def check(data: dict[str, Any]) -> ImportRun:
        surveys = data.get("surveys")
        result = importer.check_upload(
            by=user,
            cases=data["cases"].read(),
            surveys=surveys.read() if surveys is not None else None,
            mapping=data.get("mapping"),
        )
        if result.run is None:  # never: check_upload records the run it checked
            raise CaseworkError(_("The file was not checked."))
        return result.run

    return run_service_form(
        request,
        form,
        check,
        success=None,  # the run's page says what the check found
        redirect_to=lambda run: redirect("interchange:run", pk=run.pk),
        template="interchange/upload.html",
        context={
            "recent": ImportRun.objects.filter(created_by_id=user.pk).order_by("-created_at")[:10],
            "may_export": may_export(user),
        },
    )


@login_required
def run_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    run = _own_run(request, pk)
    errors = run.errors or []
    counts = (run.summary or {}).get("counts", {})
    return render(
        request,
        "interchange/run.html",
        {
            "run": run,
            "summary": run.summary or {},
            "counts": counts,
            "errors": errors[:ERRORS_SHOWN],
            "more_errors": max(0, len(errors) - ERRORS_SHOWN),
            "waiting": run.status == ImportRun.Status.CHECKED and bool(run.payload),
        },
    )


@login_required
def run_errors(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Every error of an import as CSV (file, line, column, reason): no values from the file."""
    run = _own_run(request, pk)
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["file", "line", "column", "code", "reason"])
    for error in run.errors or []:
        writer.writerow(
            [error["file"], error["line"], error["column"], error["code"], error["message"]]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-errors.csv"'
    return response


@login_required
@require_POST
def run_confirm(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    run = _own_run(request, pk)
    form = ConfirmForm(request.POST)
    form.is_valid()
    try:
        result = importer.import_upload(
            run,
            by=request.user,
            valid_only=form.cleaned_data.get("valid_only", False),
        )
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        if result.written:
            messages.success(request, _("Imported."))
        else:
            messages.error(request, _("Nothing was written: the files have errors."))
    return redirect("interchange:run", pk=run.pk)


@login_required
@require_POST
def run_discard(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    run = _own_run(request, pk)
    try:
        importer.discard_upload(run, by=request.user)
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Discarded: the uploaded files are erased."))
    return redirect("interchange:upload")


# --- column mappings ----------------------------------------------------------------------------


@login_required
def mappings(request: AuthenticatedHttpRequest) -> HttpResponse:
    require_perm(request.user, Perm.IMPORT_CASES)
    items = ColumnMapping.objects.filter(agency_id=_agency_id(request))
    return render(request, "interchange/mappings.html", {"mappings": items})


@login_required
@require_http_methods(["GET", "POST"])
def mapping_edit(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    user = request.user
    require_perm(user, Perm.IMPORT_CASES)
    instance = (
        get_object_or_404(ColumnMapping, pk=pk, agency_id=_agency_id(request))
        if pk is not None
        else ColumnMapping(agency_id=_agency_id(request), created_by_id=user.pk)
    )
    form = MappingForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        mapping = form.save()
        record(
            "interchange.mapping.saved",
            by=user,
            target=mapping,
            data={"columns": len(mapping.columns), "value_maps": len(mapping.values)},
        )
        messages.success(request, _("Mapping saved."))
        return redirect("interchange:mappings")
    return render_form(
        request, "interchange/mapping_form.html", {"form": form, "mapping": instance}
    )


# --- export -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def export(request: AuthenticatedHttpRequest) -> HttpResponse:
    """De-identified: the file is the answer. With names: the sealed file is kept, and the page
    comes back with it at the top of the user's exports, to download until it expires."""
    user = request.user
    require_exporter(user)
    form = ExportForm(request.POST or None)
    refused: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["with_names"]:
                kept = services.export_with_names(
                    by=user,
                    period=data["period"],
                    file_format=data["file_format"],
                    recipient_name=data["recipient_name"],
                    password=data["password"],
                    override_reason=data["override_reason"],
                    leave_out_refused=data["leave_out_refused"],
                )
            else:
                result = export_cases(
                    by=user,
                    period=data["period"],
                    file_format=data["file_format"],
                    leave_out_refused=data["leave_out_refused"],
                )
        except ConsentMissing as error:
            refused = error.case_refs
            form.add_error(None, str(error.message))
        except CaseworkError as error:
            form.add_refusal(error)
        else:
            if data["with_names"]:
                messages.success(
                    request,
                    _(
                        "The export is ready: download it below. Only you can, until "
                        "%(expires)s; then it is erased."
                    )
                    % {
                        "expires": date_format(
                            timezone.localtime(kept.expires_at), "DATETIME_FORMAT"
                        )
                    },
                )
                return redirect("interchange:export")
            name, content, content_type = result.download()
            return _attachment(name, content, content_type)
    return render_form(
        request,
        "interchange/export.html",
        {
            "form": form,
            "refused": refused,
            "may_name": user.has_casework_perm(Perm.EXPORT_PERSONAL_DATA),
            "kept": export_files_of(user)[:EXPORTS_SHOWN],
            "now": timezone.now(),
            "export_days": services.export_days(),
        },
    )


@login_required
@require_GET
def export_download(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The maker's own export with names, until it expires (410 then); 404 for anyone else."""
    user = request.user
    found = get_export_file_for_user(user, pk)
    try:
        content = services.download_export(found, by=user)
    except services.ExportExpired as error:
        return render(
            request,
            "interchange/export_gone.html",
            {"message": error.message, "export_file": found},
            status=error.status,
        )
    return _attachment(found.name, content, "application/octet-stream")


def _attachment(name: str, content: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
