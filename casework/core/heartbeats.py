"""A task whose worker died is run again.

django-tasks-db marks a task RUNNING when a worker claims it and finished when that worker
records the outcome; a worker killed in between (`kill -9`, the kernel's out-of-memory killer, a
lost machine) used to leave the task RUNNING for ever. So every task loop of `casework worker`
claims under an id of its own, `<lineage>:<process>:<run>`, and a thread beside it refreshes the
loop's `WorkerHeartbeat` row every few seconds. A running task goes back to the queue (READY, to be
claimed again):

- at once, when a task loop of the same lineage starts (`reclaim_from_lineage`): a supervisor
  runs one child at a time and a child one loop at a time, so an earlier loop of its lineage is
  certainly gone — the usual case, a child killed and started again;
- once its loop's heartbeat is older than CASEWORK_WORKER_HEARTBEAT_TIMEOUT (`reclaim_stale`;
  another supervisor's worker died, on this machine or another). The scheduler of each worker
  looks every tick, but only after it has itself been beating for a whole timeout, so an outage
  of the database, which stops every heartbeat at once, does not make live workers look dead.

A task claimed CASEWORK_TASK_MAX_ATTEMPTS times without finishing is marked failed with
`WorkerLost` (no traceback: nothing from the task's data), so a task that kills its worker each
time cannot keep every worker busy dying. A task can therefore run more than once, and every
task must be safe to run again (ARCHITECTURE.md lists the periodic ones and why they are).
"""

from __future__ import annotations

import datetime
import logging
import os
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from casework.core.models import WorkerHeartbeat

logger = logging.getLogger("casework.worker")


class WorkerLost(Exception):
    """The outcome of a task whose worker died CASEWORK_TASK_MAX_ATTEMPTS times running it."""


def worker_id(lineage: str, run: int) -> str:
    return f"{lineage}:{os.getpid()}:{run}"


class Heartbeat:
    """The sign of life of this process's current task loop (`worker_id`, set by the loop)."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = float(timeout or settings.CASEWORK_WORKER_HEARTBEAT_TIMEOUT)
        self.every = max(1.0, self.timeout / 6)
        self.worker_id = ""
        self._healthy_since: float | None = None

    def beat(self) -> None:
        if not self.worker_id:
            return
        try:
            WorkerHeartbeat.objects.update_or_create(
                worker_id=self.worker_id, defaults={"beat_at": timezone.now()}
            )
        except Exception:
            self._healthy_since = None
            raise
        if self._healthy_since is None:
            self._healthy_since = time.monotonic()

    def may_judge_others(self) -> bool:
        """Whether this process has beaten without a gap for a whole timeout: only then is
        another loop's old heartbeat a sign that the loop died, not that the database was out."""
        healthy_since = self._healthy_since
        return healthy_since is not None and time.monotonic() - healthy_since >= self.timeout

    def run(self, stop: threading.Event) -> None:
        while True:
            try:
                close_old_connections()
                self.beat()
            except Exception as error:  # the database is out; the next beat tries again
                logger.warning("Heartbeat not written (%s)", type(error).__name__)
            finally:
                close_old_connections()
            if stop.wait(self.every):
                return


def _last_worker(task: DBTaskResult) -> str:
    return str(task.worker_ids[-1]) if task.worker_ids else ""


def _running() -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).only(
            "id", "worker_ids", "started_at", "task_path"
        )
    )


def put_back(task: DBTaskResult) -> bool:
    """Queue a task whose worker died again, or fail it after too many claims; False when
    someone else (another worker's reclaim, the task's own end) changed it first."""
    claims = len(task.worker_ids)
    # This claim, and no later one: its start identifies it.
    this_claim = DBTaskResult.objects.filter(
        pk=task.pk, status=TaskResultStatus.RUNNING, started_at=task.started_at
    )
    if claims >= settings.CASEWORK_TASK_MAX_ATTEMPTS:
        changed = this_claim.update(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            return_value=None,
            exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
            traceback="",
        )
        if changed:
            logger.error(
                "Task %s (%s) lost its worker %d times; marked failed (WorkerLost).",
                task.pk,
                task.task_path,
                claims,
            )
        return bool(changed)
    changed = this_claim.update(status=TaskResultStatus.READY)
    if changed:
        logger.warning(
            "Task %s (%s) lost its worker; queued again (claim %d of %d).",
            task.pk,
            task.task_path,
            claims,
            settings.CASEWORK_TASK_MAX_ATTEMPTS,
        )
    return bool(changed)


def reclaim_from_lineage(lineage: str, current: str) -> int:
    """Put back the running tasks of earlier task loops of `lineage` (all gone: a lineage runs
    one loop at a time); returns how many."""
    prefix = f"{lineage}:"
    gone = [
        task
        for task in _running()
        if _last_worker(task).startswith(prefix) and _last_worker(task) != current
    ]
    return sum(put_back(task) for task in gone)


def reclaim_stale(*, timeout: float | None = None, now: datetime.datetime | None = None) -> int:
    """Put back the running tasks whose loop has not beaten for `timeout` seconds; returns how
    many. Heartbeats older than a day are forgotten."""
    now = now or timezone.now()
    since = now - datetime.timedelta(seconds=timeout or settings.CASEWORK_WORKER_HEARTBEAT_TIMEOUT)
    alive = set(
        WorkerHeartbeat.objects.filter(beat_at__gte=since).values_list("worker_id", flat=True)
    )
    stale = [
        task
        for task in _running()
        if task.started_at is not None
        and task.started_at < since
        and _last_worker(task) not in alive
    ]
    WorkerHeartbeat.objects.filter(beat_at__lt=now - datetime.timedelta(days=1)).delete()
    return sum(put_back(task) for task in stale)
