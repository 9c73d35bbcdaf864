"""`casework demo`: fill an empty installation with invented data and print the demo logins."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.cases.models import Case
from casework.demo.generator import DEMO_USERS, caseworkers_for, ensure_setup, generate_cases

DEFAULT_PASSWORD = "casework-demo-2026"


class Command(BaseCommand):
    help = "Create a demo agency, teams, one user per role and invented cases."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, default=500, help="How many cases (default 500).")
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed (same seed, same data)."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if there are cases already."
        )
        parser.add_argument(
            "--no-notes", action="store_true", help="Skip case notes (faster for benchmarks)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["cases"]
        if count < 0:
            raise CommandError("--cases must be 0 or more.")
        password = os.environ.get("CASEWORK_DEMO_PASSWORD", DEFAULT_PASSWORD)
        if options["if_empty"] and Case.objects.exists():
            self.stdout.write("Demo data is already there.")
            self._print_logins(password)
            return
        setup = ensure_setup(password=password, caseworkers=caseworkers_for(count))
        for written in generate_cases(
            setup, count=count, seed=options["seed"], notes=not options["no_notes"]
        ):
            if count >= 10000 and written % 50000 < 2000:
                self.stdout.write(f"  {written:,} cases")
        self.stdout.write(self.style.SUCCESS(f"Created {count:,} demo cases."))
        self._print_logins(password)

    def _print_logins(self, password: str) -> None:
        self.stdout.write(f"Demo logins (password for all: {password}):")
        for spec in DEMO_USERS:
            role = "administrator" if spec.administrator else spec.role
            self.stdout.write(f"  {spec.username:<8} {role}")
        self.stdout.write("Demo data is invented. Never load real cases into a demo installation.")
