"""Fixtures for supervision: a second North caseworker and supervisor, and a session sam held
with amina about her case."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from casework.supervision import services
from casework.supervision.models import SupervisionSession

DECISIONS = "Fatima stays at the shelter until her sister can take her in."
ACTION = "Call the shelter about a longer stay for Fatima"


@pytest.fixture
def bea(make_user: Any, agency: Any, north: Any) -> Any:
    """Another caseworker of North."""
    return make_user("bea", agency=agency, team=north, role="caseworker")


@pytest.fixture
def sue(make_user: Any, agency: Any, north: Any) -> Any:
    """A second supervisor of North, who sees the team's cases but was in no session."""
    return make_user("sue", agency=agency, team=north, role="supervisor")


@pytest.fixture
def session(case: Any, amina: Any, sam: Any) -> SupervisionSession:
    today = timezone.localdate()
    return services.record_session(
        by=sam,
        details=services.SessionDetails(
            kind="individual",
            held_on=today,
            caseworkers=[amina],
            discussed=[services.DiscussionDetails(case, DECISIONS)],
            actions=[
                services.ActionDetails(
                    case=case,
                    text=ACTION,
                    assignee=amina,
                    due_on=today + datetime.timedelta(days=7),
                )
            ],
        ),
    )
