"""The query planner's statistics on SQLite.

PostgreSQL keeps its own (autovacuum analyses tables as they change). SQLite has none until
ANALYZE runs, and without them it picks indexes by their shape alone: at 1,000,000 cases it read
a supervisor's team caseload through the agency's index (1.8 s) instead of the team's. The
worker refreshes them daily (casework/core/tasks.py), sampling each index
(`analysis_limit`) so that the refresh takes seconds whatever the size.
"""

from __future__ import annotations

from django.db import connection

# Rows SQLite samples per index: enough to tell a team's index from an agency's.
ANALYSIS_LIMIT = 2000


def refresh_statistics() -> bool:
    """ANALYZE on SQLite (True); nothing to do on PostgreSQL (False)."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit = {int(ANALYSIS_LIMIT)}")
        cursor.execute("ANALYZE")
    return True
