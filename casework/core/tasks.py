"""Daily jobs of the core, enqueued by the worker's scheduler: the refresh of SQLite's planner
statistics, and forgetting old rate-limit counters."""

from __future__ import annotations

import datetime

from django_tasks import task

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
