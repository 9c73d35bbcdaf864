"""SQLite gets planner statistics from the daily job; PostgreSQL keeps its own."""

from __future__ import annotations

from typing import Any

from django.db import connection

from casework.core.schedule import load_registry
from casework.core.statistics import refresh_statistics


def test_the_daily_job_gives_sqlite_statistics_for_the_case_indexes(db: Any, case: Any) -> None:
    assert "casework.core.tasks.refresh_statistics_daily" in load_registry()
    done = refresh_statistics()
    if connection.vendor != "sqlite":
        assert done is False
        return
    assert done is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = 'cases_case'")
        indexes = {row[0] for row in cursor.fetchall()}
    assert {"case_team_caseload", "case_agency_caseload"} <= indexes
