"""`casework worker`: runs queued tasks (django-tasks-db) and enqueues periodic jobs when due."""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from casework.audit.sealing import run_sealer
from casework.core.schedule import enqueue_due

logger = logging.getLogger("casework.worker")


class Command(BaseCommand):
    help = "Run background tasks and the periodic-job scheduler (one or more per installation)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tick", type=float, default=30.0, help="Scheduler interval, seconds.")
        parser.add_argument("--no-scheduler", action="store_true")

    def handle(self, *args: Any, tick: float, no_scheduler: bool, **options: Any) -> None:
        stop = threading.Event()
        # Seal the audit trail every few seconds (several workers may run this: the sealer is
        # serialised on the chain head, so they take turns).
        sealer = threading.Thread(
            target=run_sealer, args=(stop, settings.CASEWORK_AUDIT_SEAL_EVERY), daemon=True
        )
        sealer.start()
        if not no_scheduler:
            thread = threading.Thread(target=self._schedule, args=(stop, tick), daemon=True)
            thread.start()
        try:
            call_command("db_worker", queue_name="*", reload=False)
        finally:
            stop.set()

    def _schedule(self, stop: threading.Event, tick: float) -> None:
        while not stop.is_set():
            try:
                close_old_connections()
                for name in enqueue_due():
                    logger.info("Enqueued periodic job %s", name)
            except Exception:  # keep scheduling after a transient database error
                logger.exception("Scheduler tick failed")
            finally:
                close_old_connections()
            stop.wait(tick)
