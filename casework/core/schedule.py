"""Periodic jobs, run by `casework worker` (Django tasks have no scheduler of their own).

Apps register a task with `every(...)` in their `tasks.py`; the worker's scheduler thread
enqueues each one when due. The claim is a conditional UPDATE, so running several workers (on
several machines) still enqueues each job once per period.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    task: Any  # a django_tasks Task
    interval: datetime.timedelta


REGISTRY: dict[str, Periodic] = {}


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
    """Enqueue every periodic job whose time has come; return the names enqueued."""
    from casework.core.models import ScheduledJob

    now = now or timezone.now()
    enqueued = []
    for job in load_registry().values():
        ScheduledJob.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
        claimed = ScheduledJob.objects.filter(name=job.name, next_run_at__lte=now).update(
            next_run_at=now + job.interval, last_run_at=now
        )
        if claimed:
            job.task.enqueue()
            enqueued.append(job.name)
    return enqueued
