"""The case page's last supervision, and a case's sessions over the API: shown to those who may
see the case and led or took part in the session; 404 (API) or nothing (page) for the rest."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from casework.supervision import services
from casework.supervision.models import SupervisionSession
from casework.supervision.tests.conftest import DECISIONS


def test_the_case_page_shows_the_last_supervision_to_those_concerned(
    login: Any, case: Any, session: SupervisionSession, amina: Any, sam: Any, paul: Any, sue: Any
) -> None:
    earlier = services.record_session(
        by=sam,
        details=services.SessionDetails(
            kind="individual",
            held_on=timezone.localdate() - datetime.timedelta(days=20),
            caseworkers=[amina],
            discussed=[services.DiscussionDetails(case, "An older decision.")],
        ),
    )
    for user in (amina, sam):
        page = login(user).get(f"/cases/{case.pk}/").content.decode()
        assert DECISIONS in page and "An older decision." not in page
        assert f"/supervision/{session.pk}/" in page
        sessions = login(user).get(f"/api/v1/supervision/cases/{case.pk}/sessions").json()
        assert [item["session_id"] for item in sessions] == [session.pk, earlier.pk]
    # The programme manager reads the case, but takes no part in supervision.
    page = login(paul).get(f"/cases/{case.pk}/")
    assert page.status_code == 200 and DECISIONS not in page.content.decode()
    assert login(paul).get(f"/api/v1/supervision/cases/{case.pk}/sessions").status_code == 404
    # Another supervisor of the team sees the case, not a session she was not in.
    page = login(sue).get(f"/cases/{case.pk}/").content.decode()
    assert DECISIONS not in page and "No supervision of this case that you led" in page
    assert login(sue).get(f"/api/v1/supervision/cases/{case.pk}/sessions").json() == []


def test_those_who_may_not_see_the_case_get_404(
    login: Any, case: Any, session: SupervisionSession, everyone: dict[str, Any]
) -> None:
    for name in ("omar", "olga", "mei", "priya", "xena", "adam", "dana"):
        response = login(everyone[name]).get(f"/api/v1/supervision/cases/{case.pk}/sessions")
        assert response.status_code == 404, name
