"""`casework export --agency CODE [--period 2026-Q3] [--user USERNAME]
[--with-names --recipient "Org name" --password …] -o out.csv|out.xlsx`

De-identified by default. Without --user, the operator exports the whole agency de-identified
(as an import from the shell may write it). An export with names must name the user who answers
for it (--user, with the permission to export personal data); it is checked against each
client's consent and written only as an encrypted .cwx file (open it with
`casework decrypt-export`). The password is asked for when not given, so it need not appear in
the shell history.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.accounts.models import Agency, User
from casework.core.errors import CaseworkError
from casework.interchange import container
from casework.interchange.exporter import ConsentMissing, export_cases
from casework.interchange.periods import parse_period


class Command(BaseCommand):
    help = "Export cases in the case interchange format (de-identified unless --with-names)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agency", help="Agency code (default: the user's agency)")
        parser.add_argument("--period", help="2026-07, 2026-Q3, 2026 or 2026-07-01..2026-09-30")
        parser.add_argument("--user", help="Export as this user (only the cases they may see)")
        parser.add_argument(
            "--with-names", action="store_true", help="Include names and dates of birth"
        )
        parser.add_argument(
            "--recipient", default="", help="The organisation an export with names is for"
        )
        parser.add_argument(
            "--password", default="", help="Password of the encrypted file (asked if not given)"
        )
        parser.add_argument(
            "--override-reason",
            default="",
            help="Release cases without consent (roles allowed to override only)",
        )
        parser.add_argument(
            "--leave-out-refused",
            action="store_true",
            help="Export the consented cases and list the others",
        )
        parser.add_argument(
            "-o", "--output", required=True, help="out.csv (with out-surveys.csv) or out.xlsx"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"])
        file_format = output.suffix.lower().lstrip(".")
        if file_format not in ("csv", "xlsx"):
            raise CommandError("The output must end in .csv or .xlsx.")
        by = None
        if options["user"]:
            by = User.objects.filter(username=options["user"], is_active=True).first()
            if by is None:
                raise CommandError(f"No active user {options['user']!r}.")
        agency = None
        if options["agency"]:
            agency = Agency.objects.filter(code=options["agency"].upper()).first()
            if agency is None:
                raise CommandError(f"No agency {options['agency']!r}.")
            if by is not None and by.agency_id != agency.pk:
                raise CommandError("The user is not in this agency.")
        if options["with_names"] and by is None:
            raise CommandError("An export with names must name who answers for it: --user.")
        password = options["password"]
        if options["with_names"] and not password:
            password = os.environ.get("CASEWORK_EXPORT_PASSWORD", "") or getpass.getpass(
                "Password for the encrypted export: "
            )
        try:
            export = export_cases(
                by=by,
                agency=agency,
                period=parse_period(options["period"]) if options["period"] else None,
                file_format=file_format,
                with_names=options["with_names"],
                recipient_name=options["recipient"],
                password=password,
                override_reason=options["override_reason"],
                leave_out_refused=options["leave_out_refused"],
            )
        except ConsentMissing as error:
            raise CommandError(
                f"{error.message}\nCases: {', '.join(error.case_refs)}\n"
                "Use --leave-out-refused to export the others."
            ) from error
        except CaseworkError as error:
            raise CommandError(str(error.message)) from error
        if export.sealed is not None:
            target = output.with_name(output.name + container.EXTENSION)
            target.write_bytes(export.sealed)
            written = [target]
        elif file_format == "xlsx":
            output.write_bytes(export.files["export.xlsx"])
            written = [output]
        else:
            surveys = output.with_name(f"{output.stem}-surveys.csv")
            output.write_bytes(export.files["cases.csv"])
            surveys.write_bytes(export.files["surveys.csv"])
            written = [output, surveys]
        if export.refused:
            self.stdout.write(f"Left out (no consent to this export): {', '.join(export.refused)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported {export.run.cases} case(s) and {export.run.surveys} survey(s) to "
                + ", ".join(str(path) for path in written)
            )
        )
