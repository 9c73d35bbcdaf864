"""Periodic jobs of the core, enqueued by the worker's scheduler: the refresh of SQLite's planner
statistics, forgetting old rate-limit counters, and the encrypted backup of the database."""

from __future__ import annotations

import datetime

from django.conf import settings
from django_tasks import task

from casework.core.backup import back_up
from casework.core.ratelimits import forget_old_counters
from casework.core.schedule import every
from casework.core.statistics import refresh_statistics


@task()
def refresh_statistics_daily() -> bool:
    return refresh_statistics()


every(datetime.timedelta(days=1), refresh_statistics_daily)


@task()
def forget_old_rate_counters_daily() -> int:
    """Rate-limit counters whose window ended more than a day ago (casework/core/ratelimits.py)."""
    return forget_old_counters()


every(datetime.timedelta(days=1), forget_old_rate_counters_daily)


@task()
def back_up_database() -> str:
    """The recovery point: a backup every CASEWORK_BACKUP_INTERVAL_SECONDS, the oldest beyond
    CASEWORK_BACKUP_KEEP deleted (casework/core/backup.py). The file's name, never its content."""
    return back_up().path.name


if settings.CASEWORK_BACKUP_INTERVAL_SECONDS:
    every(datetime.timedelta(seconds=settings.CASEWORK_BACKUP_INTERVAL_SECONDS), back_up_database)
