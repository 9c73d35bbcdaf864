"""`casework backup`: an encrypted copy of the database, now (the worker makes one every
CASEWORK_BACKUP_INTERVAL_SECONDS). The key files are not in it: copy them separately, offline."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from casework.core.backup import BackupError, back_up


class Command(BaseCommand):
    help = "Write an encrypted backup of the database to CASEWORK_BACKUP_DIR."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            help="Keep this many backups, the newest (default CASEWORK_BACKUP_KEEP).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keep: int | None = options["keep"]
        if keep is not None and keep < 1:
            raise CommandError(_("--keep must be 1 or more."))
        try:
            made = back_up(keep=keep)
        except BackupError as error:
            raise CommandError(str(error.message)) from None
        manifest = made.manifest
        self.stdout.write(
            _("Backup written: %(path)s (%(engine)s, audit #%(seq)s, %(size)s bytes).")
            % {
                "path": made.path,
                "engine": manifest.engine,
                "seq": manifest.audit_seq,
                "size": manifest.size,
            }
        )
        for path in made.removed:
            self.stdout.write(_("Deleted the older backup %(path)s.") % {"path": path})
        self.stdout.write(
            self.style.WARNING(
                _(
                    "The key files are not in the backup: copy %(keys)s separately, offline "
                    "(without the backup key it cannot be decrypted, without the master key its "
                    "personal data cannot be read)."
                )
                % {"keys": settings.CASEWORK_KEY_DIR}
            )
        )
