"""`casework services import FILE [--dry-run]`: load the service directory from a spreadsheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.accounts.models import User
from casework.core.errors import CaseworkError
from casework.referrals import imports


class Command(BaseCommand):
    help = "Manage the service directory."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        load = commands.add_parser(
            "import",
            help="Import organisations and services from a CSV or XLSX file (all or nothing).",
        )
        load.add_argument("file", help="The spreadsheet: one row per service.")
        load.add_argument(
            "--dry-run", action="store_true", help="Check the file and report; write nothing."
        )
        load.add_argument(
            "--as",
            dest="username",
            default="",
            help="Record the import in the audit trail under this user.",
        )
        commands.add_parser("template", help="Print an example CSV with every column.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "template":
            self.stdout.write(imports.template_csv(), ending="")
            return
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from error
        by = None
        if options["username"]:
            by = User.objects.filter(username=options["username"], is_active=True).first()
            if by is None:
                raise CommandError(f"No active user {options['username']!r}.")
        try:
            report = imports.import_directory(
                data, filename=path.name, by=by, dry_run=options["dry_run"]
            )
        except CaseworkError as error:
            raise CommandError(str(error.message)) from error
        for problem in report.problems:
            self.stderr.write(f"line {problem.line}, column {problem.column}: {problem.message}")
        summary = (
            f"{report.rows} rows; organisations {report.organisations_created} new, "
            f"{report.organisations_updated} updated; services {report.services_created} new, "
            f"{report.services_updated} updated"
        )
        if report.problems:
            raise CommandError(f"{len(report.problems)} problems; nothing imported ({summary}).")
        if report.dry_run:
            self.stdout.write(f"Dry run, nothing written: {summary}.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported: {summary}."))
