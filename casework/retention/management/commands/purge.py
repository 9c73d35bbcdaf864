"""`casework purge --agency CODE`: the server-side break-glass purge of one agency's personal
data (casework/retention/purge.py). Running it again finishes a purge that was interrupted."""

from __future__ import annotations

import getpass
import re
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.accounts.models import Agency
from casework.retention.purge import BATCH_SIZE, purge_agency
from casework.vault import keys

_NOT_CODE = re.compile(r"[^A-Za-z0-9_.:@-]")


def as_code(text: str) -> str:
    """`text` fit for audit data (codes only): other characters replaced, 64 at most."""
    return _NOT_CODE.sub("-", text)[:64] or "-"


def operator() -> dict[str, str]:
    """Who runs the command, for the audit trail: the OS account and the host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a container)
        user = "unknown"
    return {"os_user": as_code(user), "host": as_code(socket.gethostname())}


class Command(BaseCommand):
    help = (
        "Make every personal field of an agency unreadable by destroying its keys, replace the "
        "master key, and sweep what remains. Audited. Cannot be undone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agency", required=True, help="The agency's code.")
        parser.add_argument(
            "--confirm",
            help="The agency's code again, to run without being asked (scripts, drills).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Rows per transaction in the sweep (default {BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["agency"]
        agency = Agency.objects.filter(code=code).first()
        if agency is None:
            raise CommandError(f"No agency with the code {code!r}.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be 1 or more.")
        confirmation = options["confirm"]
        if confirmation is None:
            self.stdout.write(
                self.style.WARNING(
                    f"This destroys every personal field of {agency.code} ({agency.name}) for "
                    "good, in this database and in every backup of it."
                )
            )
            confirmation = input(f"Type {agency.code} to go on: ")
        if confirmation.strip() != agency.code:
            raise CommandError("Not confirmed: nothing was done.")

        outcome = purge_agency(agency, batch_size=options["batch_size"], operator=operator())
        purge = outcome.purge
        self.stdout.write(
            f"{agency.code}: {purge.keys_destroyed} keys destroyed at "
            f"{purge.keys_destroyed_at:%Y-%m-%d %H:%M:%S %Z}; its personal fields are unreadable."
        )
        self.stdout.write(
            f"Swept: {purge.index_rows_deleted} name-index rows deleted, "
            f"{purge.values_blanked} values still readable blanked."
        )
        if outcome.master_left_to_operator:
            self.stdout.write(
                self.style.ERROR(
                    "The master key comes from CASEWORK_MASTER_KEYS, which this command cannot "
                    "replace: until you do, a backup taken before the purge can still be read for "
                    f"{agency.code}. Now: add a new key as primary to CASEWORK_MASTER_KEYS on "
                    "every server, restart them, run `casework keys rotate --master`, then remove "
                    "the old key from CASEWORK_MASTER_KEYS and from everywhere it is kept."
                )
            )
        else:
            self.stdout.write(
                f"Master key {purge.master_key_id} now wraps every other agency's keys; the old "
                f"one was overwritten in {keys.key_dir() / keys.MASTER_FILE}."
            )
            self.stdout.write(
                self.style.WARNING(
                    "Copy the new key file to every app server that does not share this key "
                    "directory, and destroy every copy of the old one (including backups of the "
                    "key directory): the old master key still opens backups taken before."
                )
            )
        self.stdout.write(self.style.SUCCESS(f"Purge of {agency.code} finished."))
