"""Periodic jobs, run by `casework worker` (Django tasks have no scheduler of their own).

Apps register a task with `every(...)` in their `tasks.py`; the worker's scheduler thread
enqueues each one when due. The claim is a conditional UPDATE, in the same transaction as the
enqueuing, so running several workers (on several machines) still enqueues each job once per
period, and a crash between the two loses nothing. A job has at most one run in flight and moves
on to its next period only when that run succeeded; a failed run is tried again after a pause,
and a run whose worker died is queued again (casework/core/heartbeats.py) and waited for.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks.exceptions import TaskResultDoesNotExist

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    task: Any  # a django_tasks Task
    interval: datetime.timedelta


REGISTRY: dict[str, Periodic] = {}
# The pause before a failed run is tried again; it doubles with each failure in a row, up to the
# job's own interval.
RETRY_FIRST = datetime.timedelta(minutes=1)


def every(interval: datetime.timedelta, task: Any) -> Any:
    name = f"{task.module_path}"
    REGISTRY[name] = Periodic(name=name, task=task, interval=interval)
    return task


def load_registry() -> dict[str, Periodic]:
    from django.apps import apps
    from django.utils.module_loading import module_has_submodule

    for config in apps.get_app_configs():
        if config.name.startswith("casework.") and module_has_submodule(config.module, "tasks"):
            __import__(f"{config.name}.tasks")
    return REGISTRY


def enqueue_due(now: datetime.datetime | None = None) -> list[str]:
    """Settle each periodic job's finished run and enqueue every job whose time has come;
    return the names enqueued."""
    from casework.core.models import ScheduledJob

    now = now or timezone.now()
    enqueued = []
    for job in load_registry().values():
        ScheduledJob.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
        settle(job, now)
        if claim(job, now):
            enqueued.append(job.name)
    return enqueued


def claim(job: Periodic, now: datetime.datetime) -> bool:
    """Claim a due job that has no run in flight and enqueue its task, in one transaction: a
    crash between the two undoes the claim instead of losing the run."""
    from casework.core.models import ScheduledJob

    with transaction.atomic():
        claimed = ScheduledJob.objects.filter(
            name=job.name, next_run_at__lte=now, running_task_id=""
        ).update(last_run_at=now, next_run_at=now + job.interval)
        if not claimed:
            return False
        result = job.task.enqueue()
        if result.is_finished:  # a backend that runs the task at once (the tests')
            _finish(job, now, succeeded=result.status == TaskResultStatus.SUCCESSFUL)
        else:
            ScheduledJob.objects.filter(name=job.name).update(running_task_id=str(result.id))
    return True


def settle(job: Periodic, now: datetime.datetime) -> None:
    """Once the job's run in flight has finished, move the job on: to its next period after a
    success, or, after a failure (or a run the queue no longer knows), to a retry after a pause
    that doubles from a minute up to its interval. A run whose worker died is still RUNNING,
    then READY again (casework/core/heartbeats.py), and is waited for."""
    from casework.core.models import ScheduledJob

    running = (
        ScheduledJob.objects.filter(name=job.name).values_list("running_task_id", flat=True).first()
    )
    if not running:
        return
    try:
        status = job.task.get_result(running).status
    except TaskResultDoesNotExist:
        status = TaskResultStatus.FAILED
    if status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED):
        _finish(job, now, succeeded=status == TaskResultStatus.SUCCESSFUL, running=running)


def _finish(job: Periodic, now: datetime.datetime, *, succeeded: bool, running: str = "") -> None:
    from casework.core.models import ScheduledJob

    with transaction.atomic():
        row = (
            ScheduledJob.objects.select_for_update()
            .filter(name=job.name, running_task_id=running)
            .first()
        )
        if row is None:  # another worker settled it first
            return
        row.running_task_id = ""
        if succeeded:
            row.failures = 0
            row.last_succeeded_at = now
            # The period counts from the claim, so a daily job stays at its hour.
            row.next_run_at = (row.last_run_at or now) + job.interval
        else:
            row.failures += 1
            pause = min(job.interval, RETRY_FIRST * 2 ** min(row.failures - 1, 20))
            row.next_run_at = now + pause
            logger.warning(
                "Periodic job %s failed or lost its run (%d in a row); due again in %.0f s.",
                job.name,
                row.failures,
                pause.total_seconds(),
            )
        row.save(update_fields=["running_task_id", "failures", "last_succeeded_at", "next_run_at"])
