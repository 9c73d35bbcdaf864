"""`casework serve`: the development server plus a background worker, stopped together."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve on --addr with a background task worker (for `make run`; not for production)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true")

    def handle(self, *args: Any, addr: str, no_worker: bool, **options: Any) -> None:
        worker = None
        if not no_worker:
            worker = subprocess.Popen(  # noqa: S603 - our own interpreter and command
                [sys.executable, "-m", "casework.cli", "worker"]
            )
        try:
            call_command("runserver", addr, use_reloader=False)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)
