"""`casework serve`: the development server plus a background worker, stopped together.

The worker runs as a supervised child process: when it ends unexpectedly it is started again
after a growing pause (casework/core/management/commands/worker.py).
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from casework.core.management.commands.worker import Supervisor, worker_command


class Command(BaseCommand):
    help = "Serve on --addr with a background task worker (for `make run`; not for production)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true")

    def handle(self, *args: Any, addr: str, no_worker: bool, **options: Any) -> None:
        supervisor = None
        if not no_worker:
            supervisor = Supervisor(
                worker_command(
                    max_memory=int(getattr(settings, "CASEWORK_WORKER_MAX_MEMORY_MB", 0))
                )
            )
            threading.Thread(target=supervisor.run, name="worker supervisor", daemon=True).start()
        try:
            call_command("runserver", addr, use_reloader=False)
        finally:
            if supervisor is not None:
                supervisor.stop()
                supervisor.wait_stopped()
