"""The hourly overdue-referral check, enqueued by the worker's scheduler (casework/core/schedule.py)."""

from __future__ import annotations

import datetime
import logging

from django_tasks import task

from casework.core.schedule import every
from casework.referrals.services import flag_overdue_referrals

logger = logging.getLogger(__name__)


@task()
def flag_overdue_referrals_hourly() -> int:
    """Put referrals unanswered past the service's agreed time on the caseworker's task list."""
    flagged = flag_overdue_referrals()
    logger.info("Flagged %d overdue referrals", flagged)
    return flagged


every(datetime.timedelta(hours=1), flag_overdue_referrals_hourly)
