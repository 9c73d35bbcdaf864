"""`casework indicators --period 2026-Q3 [--by sex,age_group] [--min-cell K] [--format …]`.

The contract's command (../shared/contracts/case-interchange.md, "Command line"). It runs with
shell access to the database, so it may lower the threshold; that is audited like on the page.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.accounts.models import Agency
from casework.core.errors import CaseworkError
from casework.indicators import exports, services
from casework.indicators.dimensions import parse_by
from casework.indicators.models import Dhis2Mapping
from casework.indicators.periods import parse_period


class Command(BaseCommand):
    help = "Compute the indicators of an agency for a period (aggregates only, suppressed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="2026-07, 2026-Q3, 2026 or a..b")
        parser.add_argument("--by", default="", help="e.g. sex,age_group,sex+age_group")
        parser.add_argument(
            "--min-cell", type=int, default=None, help="Smallest count published (1: all)."
        )
        parser.add_argument("--format", default="json", choices=sorted(exports.FORMATS))
        parser.add_argument("--agency", default="", help="Agency code (needed if several).")
        parser.add_argument("-o", "--output", default="", help="Write to this file.")

    def handle(self, *args: Any, **options: Any) -> None:
        agency = self._agency(options["agency"])
        try:
            report = services.report_for_command(
                agency,
                period=parse_period(options["period"]),
                by=parse_by(options["by"]),
                min_cell=options["min_cell"],
            )
            mappings = (
                list(Dhis2Mapping.objects.filter(agency=agency))
                if options["format"] == "dhis2"
                else None
            )
            content = exports.render(report, options["format"], dhis2_mappings=mappings)
        except CaseworkError as error:
            raise CommandError(str(error.message)) from error
        if options["output"]:
            with open(options["output"], "wb") as output:
                output.write(content)
            return
        if options["format"] == "xlsx" and self.stdout.isatty():
            raise CommandError("XLSX is binary: write it to a file with -o.")
        stream = getattr(self.stdout, "_out", sys.stdout)
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            buffer.write(content)
            buffer.flush()
        else:
            stream.write(content.decode("utf-8", errors="replace"))

    def _agency(self, code: str) -> Agency:
        agencies = Agency.objects.filter(kind=Agency.Kind.CASE_MANAGEMENT, is_active=True)
        if code:
            agency = agencies.filter(code=code).first()
            if agency is None:
                raise CommandError(f"No active case-management agency with code {code!r}.")
            return agency
        found = list(agencies[:2])
        if len(found) != 1:
            raise CommandError("Several agencies (or none): name one with --agency.")
        return found[0]
