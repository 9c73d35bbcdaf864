"""The check for unusual reading, enqueued by the worker's scheduler (casework/core/schedule.py)."""

from __future__ import annotations

import datetime
import logging

from django_tasks import task

from casework.core.schedule import every
from casework.privacy.services import raise_read_alerts

logger = logging.getLogger(__name__)


@task()
def check_unusual_reading() -> int:
    """Alert the officers to each user who read unusually many case files; return how many."""
    raised = raise_read_alerts()
    logger.info("Unusual reading: %d alerts raised", raised)
    return raised


every(datetime.timedelta(minutes=15), check_unusual_reading)
