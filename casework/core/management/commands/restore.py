"""`casework restore FILE`: load an encrypted backup into an empty database (or replace this
one with --force), then record the restore in the audit trail; `--check` only reads the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from casework.core.backup import BackupError, pending_migrations, read_backup, restore


class Command(BaseCommand):
    help = "Restore the database from an encrypted backup (stop the server and the worker first)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="A backup written by `casework backup`.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace a database that is not empty (everything in it is lost).",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only decrypt and check the file, and show what it holds.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            if options["check"]:
                manifest = read_backup(path)
            else:
                restored = restore(path, force=options["force"])
                manifest = restored.manifest
        except BackupError as error:
            raise CommandError(str(error.message)) from None
        self.stdout.write(
            _(
                "Backup taken at %(taken)s of a %(engine)s database, audit #%(seq)s, %(size)s "
                "bytes, SHA-256 %(sha256)s: intact."
            )
            % {
                "taken": manifest.taken_at,
                "engine": manifest.engine,
                "seq": manifest.audit_seq,
                "size": manifest.size,
                "sha256": manifest.sha256,
            }
        )
        if options["check"]:
            return
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Restored. The audit trail records it as entry #%(event)s (restored at "
                    "#%(seq)s); `casework audit verify` reports the entries after #%(seq)s that "
                    "the backup did not hold as a known gap."
                )
                % {"event": restored.marked.event_seq, "seq": restored.marked.seq}
            )
        )
        if pending_migrations():
            self.stdout.write(
                _("This Casework is newer than the backup: run `casework migrate` next.")
            )
        self.stdout.write(
            _(
                "The key files were not in the backup: this server needs the master, audit and "
                "backup keys of the installation that made it (restored separately)."
            )
        )
