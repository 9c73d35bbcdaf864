"""`casework retention run [--dry-run]`: anonymise people past their agency's retention period."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.accounts.models import Agency
from casework.retention.services import BATCH_SIZE, apply_retention


class Command(BaseCommand):
    help = "Data retention."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        run = commands.add_parser(
            "run", help="Anonymise people whose cases all closed longer ago than retention allows."
        )
        run.add_argument(
            "--dry-run", action="store_true", help="Count who would be anonymised; change nothing."
        )
        run.add_argument("--agency", help="Only this agency (its code).")
        run.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"People per transaction (default {BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be 1 or more.")
        agencies = None
        if options["agency"]:
            agencies = list(Agency.objects.filter(code=options["agency"]))
            if not agencies:
                raise CommandError(f"No agency with the code {options['agency']!r}.")
        report = apply_retention(
            agencies=agencies, dry_run=options["dry_run"], batch_size=options["batch_size"]
        )
        verb = "would be anonymised" if report.dry_run else "anonymised"
        for code, count in report.people.items():
            self.stdout.write(f"{code}: {count} people {verb}")
        self.stdout.write(f"Total: {report.total} people {verb}.")
