from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from casework.vault.keys import init_key_files, key_dir


class Command(BaseCommand):
    help = "Create the key files (master key, audit key, Django secret) if they are missing."

    def handle(self, *args: Any, **options: Any) -> None:
        written = init_key_files()
        if written:
            for path in written:
                self.stdout.write(f"Created {path} (mode 0600).")
            self.stdout.write(
                self.style.WARNING(
                    f"Back up {key_dir()} separately from the database: without the master key "
                    "the personal data cannot be read."
                )
            )
        else:
            self.stdout.write(f"Keys already present in {key_dir()}.")
