"""Importing the interchange format: `import_cases()`, the one service behind the command, the
upload screen and the API.

An import is one transaction: every row is checked first (validation.py), and nothing is written
when any row has an error, unless the user asked for the valid rows only. Measuring, reading and
checking the files run outside any transaction (a large or hostile file holds no lock while it
is read); only the write, or the record of a check, is one. Rows are written in
bulk (a few statements per thousand rows, whatever the database), as the same rows a case
entered by hand gets: the person, the case, its Transition history (identified and registered on
registered_on, assessed, planned, closed), its consent to services, its plan (version 1) and its
surveys, so timelines and indicators work on imported cases unchanged.

Re-importing a file updates the cases it names (case_ref is the key within an agency) and adds
only the history rows they lack: importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import base64
import datetime
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.core.errors import NotAllowed
from casework.interchange.models import ColumnMapping, ImportRun
from casework.interchange.readers import read_files
from casework.interchange.validation import DEFAULT_DATE_FORMAT, Checked, Checker
from casework.interchange.writer import Writer


@dataclass
class ImportResult:
    """What an import found and did. Only counts, codes, column names and line numbers."""

    checked: Checked
    dry_run: bool
    written: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    run: ImportRun | None = None

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [error.as_dict() for error in self.checked.errors]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [warning.as_dict() for warning in self.checked.warnings]

    def summary(self) -> dict[str, Any]:
        checked = self.checked
        return {
            "dry_run": self.dry_run,
            "written": self.written,
            "counts": {
                "case_rows": checked.case_rows,
                "survey_rows": checked.survey_rows,
                "valid_case_rows": len(checked.cases),
                "valid_survey_rows": len(checked.surveys),
                "errors": len(checked.errors),
                "rows_with_errors": len({(e.file, e.line) for e in checked.errors}),
                "warnings": len(checked.warnings),
                **self.counts,
            },
            "created": {
                "agencies": checked.new_agencies,
                "caseworkers": sorted(checked.new_caseworkers),
                "locations": checked.new_locations,
            },
            "extra_columns": {
                "cases": checked.extra_case_columns,
                "surveys": checked.extra_survey_columns,
            },
        }


def import_cases(
    *,
    cases: bytes,
    surveys: bytes | None = None,
    by: User | None,
    agency_code: str | None = None,
    mapping: ColumnMapping | None = None,
    dry_run: bool = False,
    valid_only: bool = False,
    own_agency_only: bool = False,
    run: ImportRun | None = None,
) -> ImportResult:
    """Check the files and, unless it is a dry run or rows have errors, write them.

    `by` is the importing user (None: the operator at the command line). `own_agency_only`
    (screens and API) limits every row to the user's own agency and creates no agency.
    Raises FileError for a file that cannot be read at all, UploadTooLarge for one over the
    upload limits (casework/core/uploads.py), NotAllowed without the permission.
    """
    if by is not None and not by.has_casework_perm(Perm.IMPORT_CASES):
        raise NotAllowed(_("Your role does not allow importing cases."))
    if own_agency_only:
        if by is None or by.agency is None:
            raise NotAllowed(_("Your account is not in an agency."))
        agency_code = by.agency.code
    case_table, survey_table = read_files(cases, surveys, mapping=mapping)
    checker = Checker(
        forced_agency=agency_code,
        date_format=mapping.date_format if mapping else DEFAULT_DATE_FORMAT,
        allow_new_agencies=not own_agency_only,
    )
    checked = checker.check(case_table, survey_table)
    result = ImportResult(checked=checked, dry_run=dry_run)
    lookups = checked.lookups
    result.counts = {
        "cases_created": sum(1 for row in checked.cases if row.key not in lookups.cases),
        "cases_updated": sum(1 for row in checked.cases if row.key in lookups.cases),
    }
    refused = bool(checked.errors) and not valid_only
    if dry_run or refused:
        agency = _agency_of(checked, agency_code, by)
        with transaction.atomic():
            run = _save_run(
                run,
                result,
                by=by,
                agency=agency,
                mapping=mapping,
                valid_only=valid_only,
                status=ImportRun.Status.CHECKED if dry_run else ImportRun.Status.REJECTED,
            )
            record(
                "interchange.import.checked" if dry_run else "interchange.import.rejected",
                by=by,
                target=run,
                agency_id=agency.pk if agency else None,
                data=_audit_counts(result),
                outcome="ok" if dry_run else "denied",
            )
        result.run = run
        return result
    with transaction.atomic():
        writer = Writer(checked, by=by)
        result.counts = writer.write()
        result.written = True
        agency = _agency_of(checked, agency_code, by)
        run = _save_run(
            run,
            result,
            by=by,
            agency=agency,
            mapping=mapping,
            valid_only=valid_only,
            status=ImportRun.Status.IMPORTED,
        )
        record(
            "interchange.import.completed",
            by=by,
            target=run,
            agency_id=agency.pk if agency else None,
            data=_audit_counts(result),
        )
    result.run = run
    return result


def _agency_of(checked: Checked, agency_code: str | None, by: User | None) -> Agency | None:
    """The agency an import is recorded under: the one asked for, else the rows' only one."""
    agencies = checked.lookups.agencies
    if agency_code:
        return agencies.get(agency_code.strip().upper())
    codes = {row.agency_code for row in checked.cases}
    if len(codes) == 1:
        return agencies.get(codes.pop())
    return by.agency if by is not None else None


def _audit_counts(result: ImportResult) -> dict[str, Any]:
    summary = result.summary()
    data: dict[str, Any] = {
        key: value for key, value in summary["counts"].items() if isinstance(value, int)
    }
    data["agencies_created"] = len(summary["created"]["agencies"])
    data["caseworkers_created"] = len(summary["created"]["caseworkers"])
    data["locations_created"] = len(summary["created"]["locations"])
    data["extra_columns"] = len(summary["extra_columns"]["cases"]) + len(
        summary["extra_columns"]["surveys"]
    )
    return data


def _save_run(
    run: ImportRun | None,
    result: ImportResult,
    *,
    by: User | None,
    agency: Agency | None,
    mapping: ColumnMapping | None,
    valid_only: bool,
    status: str,
) -> ImportRun:
    if run is None:
        run = ImportRun(created_by=by)
    run.agency = agency
    run.mapping = mapping
    run.valid_only = valid_only
    run.status = status
    run.summary = result.summary()
    run.errors = result.errors
    if status != ImportRun.Status.CHECKED:
        run.payload = ""  # the files are not kept once the import is done
    run.save()
    return run


# --- the upload screen: check first, import on confirmation -------------------------------------

STASH_HOURS = 24


def check_upload(
    *, by: User, cases: bytes, surveys: bytes | None, mapping: ColumnMapping | None
) -> ImportResult:
    """The dry run of an upload. The files wait, encrypted, in the ImportRun until the user
    imports or discards them (or for a day at most)."""
    if mapping is not None and mapping.agency_id != by.agency_id:
        raise NotAllowed(_("This mapping belongs to another agency."))
    payload = json.dumps(
        {
            "cases": base64.b64encode(cases).decode("ascii"),
            "surveys": base64.b64encode(surveys).decode("ascii") if surveys is not None else None,
        }
    )
    run = ImportRun(created_by=by, payload=payload)
    result = import_cases(
        cases=cases,
        surveys=surveys,
        by=by,
        mapping=mapping,
        dry_run=True,
        own_agency_only=True,
        run=run,
    )
    # After the check, so that a refused file (too large, unreadable) changes nothing at all.
    _forget_stale_uploads()
    return result


def import_upload(run: ImportRun, *, by: User, valid_only: bool) -> ImportResult:
    """Import the files of a checked upload (checked again: the cases may have changed since)."""
    if run.created_by_id != by.pk or run.status != ImportRun.Status.CHECKED or not run.payload:
        raise NotAllowed(_("This import is no longer waiting for confirmation."))
    stash = json.loads(run.payload)
    return import_cases(
        cases=base64.b64decode(stash["cases"]),
        surveys=base64.b64decode(stash["surveys"]) if stash.get("surveys") else None,
        by=by,
        mapping=run.mapping,
        valid_only=valid_only,
        own_agency_only=True,
        run=run,
    )


@transaction.atomic
def discard_upload(run: ImportRun, *, by: User) -> None:
    if run.created_by_id != by.pk or run.status != ImportRun.Status.CHECKED:
        raise NotAllowed(_("This import is no longer waiting for confirmation."))
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.DISCARDED, payload="", updated_at=timezone.now()
    )
    record("interchange.import.discarded", by=by, target=run)


def _forget_stale_uploads() -> None:
    """Uploads nobody confirmed within a day are erased (the record of the check stays)."""
    ImportRun.objects.filter(
        status=ImportRun.Status.CHECKED,
        updated_at__lt=timezone.now() - datetime.timedelta(hours=STASH_HOURS),
    ).update(status=ImportRun.Status.DISCARDED, payload="")
