"""`casework import cases.csv [--surveys surveys.csv] [--agency CODE] [--dry-run] [--valid-only]
[--mapping NAME] [--user USERNAME]`: import the interchange format (CSV or XLSX).

(Django finds commands by file name through importlib, so a command may be called `import` even
though the word is reserved in Python source.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.accounts.models import User
from casework.core.errors import CaseworkError
from casework.interchange.importer import ImportResult, import_cases
from casework.interchange.models import ColumnMapping


class Command(BaseCommand):
    help = "Import cases (and participation surveys) in the case interchange format."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cases", help="cases.csv, or an XLSX workbook with a cases sheet")
        parser.add_argument(
            "--surveys", help="surveys.csv (an XLSX cases workbook's own surveys sheet is read too)"
        )
        parser.add_argument(
            "--agency", help="Agency code for rows that name none (rows naming another are errors)"
        )
        parser.add_argument("--dry-run", action="store_true", help="Check every row; write nothing")
        parser.add_argument(
            "--valid-only",
            action="store_true",
            help="Import the valid rows and skip the rows with errors (default: all or nothing)",
        )
        parser.add_argument(
            "--mapping",
            help="Name of a saved column mapping (for an organisation's own spreadsheet)",
        )
        parser.add_argument(
            "--user",
            help="Import as this user (needs the import permission); default: the operator",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the summary and errors as JSON"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        cases = self._read(options["cases"])
        surveys = self._read(options["surveys"]) if options["surveys"] else None
        by = None
        if options["user"]:
            by = User.objects.filter(username=options["user"], is_active=True).first()
            if by is None:
                raise CommandError(f"No active user {options['user']!r}.")
        mapping = None
        if options["mapping"]:
            mappings = ColumnMapping.objects.filter(name=options["mapping"])
            if options["agency"]:
                mappings = mappings.filter(agency__code=options["agency"].upper())
            found = list(mappings[:2])
            if len(found) != 1:
                raise CommandError(
                    f"No single mapping named {options['mapping']!r}; give --agency to choose."
                )
            mapping = found[0]
        try:
            result = import_cases(
                cases=cases,
                surveys=surveys,
                by=by,
                agency_code=options["agency"],
                mapping=mapping,
                dry_run=options["dry_run"],
                valid_only=options["valid_only"],
            )
        except CaseworkError as error:
            raise CommandError(str(error.message)) from error
        if options["json"]:
            payload = {**result.summary(), "errors": result.errors, "warnings": result.warnings}
            self.stdout.write(json.dumps(payload, indent=1, ensure_ascii=False))
        else:
            self._report(result)
        if result.checked.errors and not options["valid_only"]:
            raise CommandError(
                f"{len(result.checked.errors)} error(s): nothing was written. "
                "Fix the rows, or use --valid-only to import the others."
            )

    def _read(self, name: str) -> bytes:
        path = Path(name)
        if not path.is_file():
            raise CommandError(f"No file {name}.")
        return path.read_bytes()

    def _report(self, result: ImportResult) -> None:
        summary = result.summary()
        counts = summary["counts"]
        for error in result.errors:
            self.stderr.write(
                f"{error['file']} line {error['line']}, {error['column']}: {error['message']}"
            )
        for warning in result.warnings:
            self.stdout.write(
                f"warning: {warning['file']} line {warning['line']}, {warning['column']}: "
                f"{warning['message']}"
            )
        self.stdout.write(
            f"{counts['case_rows']} case rows ({counts['valid_case_rows']} valid), "
            f"{counts['survey_rows']} survey rows ({counts['valid_survey_rows']} valid), "
            f"{counts['errors']} error(s) on {counts['rows_with_errors']} row(s)."
        )
        for kind, codes in summary["created"].items():
            if codes:
                self.stdout.write(f"New {kind}: {', '.join(codes)}")
        for kind, columns in summary["extra_columns"].items():
            if columns:
                self.stdout.write(f"Extra {kind} columns kept: {', '.join(columns)}")
        if result.dry_run:
            self.stdout.write(
                f"Dry run: would create {counts['cases_created']} and update "
                f"{counts['cases_updated']} case(s). Nothing was written."
            )
        elif result.written:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Imported: {counts['cases_created']} case(s) created, "
                    f"{counts['cases_updated']} updated, {counts.get('cases_unchanged', 0)} "
                    f"unchanged; {counts.get('surveys_created', 0)} survey(s) created, "
                    f"{counts.get('surveys_updated', 0)} updated."
                )
            )
