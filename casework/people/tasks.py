"""Periodic work on persons (run by `casework worker`)."""

from __future__ import annotations

import datetime

from django_tasks import task

from casework.core.schedule import every
from casework.people import duplicates


@task()
def find_duplicates_nightly() -> dict[int, int]:
    """Possible duplicates in each agency, for supervisors to review."""
    return duplicates.by_agency()


every(datetime.timedelta(days=1), find_duplicates_nightly)
