"""The daily refresh of SQLite's planner statistics, enqueued by the worker's scheduler."""

from __future__ import annotations

import datetime

from django_tasks import task

from casework.core.schedule import every
from casework.core.statistics import refresh_statistics


@task()
def refresh_statistics_daily() -> bool:
    return refresh_statistics()


every(datetime.timedelta(days=1), refresh_statistics_daily)
