"""`casework audit verify`: check the whole audit chain (and its end against the latest signed
checkpoint); non-zero exit status on any break. A restore from a backup is reported as a known
gap (the entries it left behind), not as a break. `casework audit seal`: seal waiting entries now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.audit.chain import StoredChain
from casework.audit.sealing import seal


class Command(BaseCommand):
    help = "Audit trail tools."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True)
        commands.add_parser(
            "seal", help="Seal the entries waiting for the chain now (the worker does it too)."
        )
        verify = commands.add_parser(
            "verify", help="Check every entry's hash and the links between them."
        )
        verify.add_argument(
            "--batch-size", type=int, default=5000, help="Entries read per query (default 5000)."
        )
        verify.add_argument(
            "--show",
            type=int,
            default=100,
            help="Print at most this many problems (all are counted; default 100).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "seal":
            sealed = seal(checkpoint=True)
            self.stdout.write(f"Sealed {sealed.count} entries; head #{sealed.head_seq}.")
            return
        batch_size: int = options["batch_size"]
        show: int = options["show"]
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        chain = StoredChain(batch_size=batch_size)
        found = 0
        for problem in chain.problems():
            found += 1
            if found <= show:
                self.stdout.write(f"#{problem.seq} {problem.kind}: {problem.detail}")
        for restore in chain.restores:
            restored = (
                f"restored at {restore.at} from the backup taken at {restore.backup_taken_at}, "
                f"kept #{restore.seq}, restore entry #{restore.event_seq}"
            )
            if restore.abandoned_to:
                self.stdout.write(
                    f"Known gap, not tampering: entries {restore.seq + 1}..{restore.abandoned_to} "
                    f"are not in this database ({restored})."
                )
            else:
                self.stdout.write(f"Restore: {restored}; no sealed entry was left behind.")
        if found:
            if found > show:
                self.stdout.write(f"… and {found - show} more.")
            raise CommandError(
                f"The audit chain is broken: {found} problems in {chain.checked} entries."
            )
        # Printing the head lets an operator keep it elsewhere: a later run showing an earlier
        # head than one written down means entries were cut off the end along with the head.
        self.stdout.write(
            self.style.SUCCESS(
                f"OK: {chain.checked} entries, head #{chain.head_seq} {chain.head_hash}"
            )
        )
