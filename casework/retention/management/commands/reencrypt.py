"""`casework reencrypt --to-agency-keys`: put data written before agencies had their own keys
under those keys (casework/retention/rekeying.py). Resumable: run it again after a stop."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.retention.rekeying import BATCH_SIZE, move_to_agency_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every value with its agency's key and rebuild the name index with the "
        "agencies' index keys, in batches, while the application runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to-agency-keys",
            action="store_true",
            help="Move data still under the instance's keys to its agency's keys.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Rows per transaction (default {BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["to_agency_keys"]:
            raise CommandError("Say what to do: --to-agency-keys.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be 1 or more.")
        report = move_to_agency_keys(batch_size=options["batch_size"])
        for label, count in sorted(report.values.rewritten.items()):
            self.stdout.write(f"  {label}: {count} values re-encrypted")
        for label, count in sorted(report.values.unreadable.items()):
            self.stdout.write(
                self.style.WARNING(f"  {label}: {count} values unreadable, left as they were")
            )
        if report.values.skipped_changed:
            self.stdout.write(
                f"  {report.values.skipped_changed} rows changed meanwhile: they were written "
                "with their agency's key already"
            )
        self.stdout.write(f"Name index rebuilt for {report.people_indexed} people.")
        if report.instance_index_key_deleted:
            self.stdout.write("The instance's old name-index key was deleted.")
        self.stdout.write(self.style.SUCCESS("Every agency's data is under its own keys."))
