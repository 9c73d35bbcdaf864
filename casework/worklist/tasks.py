"""The 15-minute worklist check, enqueued by the worker's scheduler (casework/core/schedule.py)."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django_tasks import task

from casework.core.schedule import every
from casework.worklist.services import sweep

logger = logging.getLogger(__name__)


@task()
def sweep_worklist() -> dict[str, Any]:
    """Mark overdue tasks and notify (once), flag cases with no contact for 30 days, cancel the
    tasks of closed cases, and close no-contact reviews where contact resumed."""
    counts = sweep()
    logger.info("Worklist sweep: %s", counts)
    return counts


every(datetime.timedelta(minutes=15), sweep_worklist)
