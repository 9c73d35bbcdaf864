"""The hourly erasure of expired exports with names, enqueued by the worker's scheduler
(casework/core/schedule.py)."""

from __future__ import annotations

import datetime
import logging

from django_tasks import task

from casework.core.schedule import every
from casework.interchange.services import purge_expired_exports

logger = logging.getLogger(__name__)


@task()
def purge_exports() -> dict[str, int]:
    """Erase the files of exports past their expiry; the rows stay as history."""
    counts = purge_expired_exports()
    logger.info("Expired exports erased: %d", counts["purged"])
    return counts


every(datetime.timedelta(hours=1), purge_exports)
