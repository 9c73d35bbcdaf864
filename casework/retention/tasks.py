"""The daily retention run, and the finishing of emergency purges, enqueued by the worker's
scheduler (casework/core/schedule.py)."""

from __future__ import annotations

import datetime
import logging

from django_tasks import task

from casework.core.schedule import every
from casework.retention.purge import finish_purges
from casework.retention.services import apply_retention

logger = logging.getLogger(__name__)


@task()
def apply_retention_daily() -> int:
    """Anonymise everyone past their agency's retention period; return how many."""
    report = apply_retention()
    logger.info("Retention anonymised %d people", report.total)
    return report.total


every(datetime.timedelta(days=1), apply_retention_daily)
# A purge confirmed on the screen is swept by the worker; one interrupted is finished here.
every(datetime.timedelta(minutes=10), finish_purges)
