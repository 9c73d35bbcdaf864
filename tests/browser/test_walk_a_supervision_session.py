"""A supervision session walked in a real browser (Debian's chromium, driven by Playwright):
the supervisor records an individual session with amina, adds her high-risk case with the
decisions taken and an agreed action; the action is on amina's tasks, the case page shows her
the last supervision, the team page no longer flags the case, and the programme manager, who
reads the case, sees nothing of the session.

Screenshots of every step are kept under test-artifacts/supervision/.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from .conftest import Walk

pytestmark = [
    pytest.mark.browser,
    pytest.mark.commits,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DECISIONS = "Mariam stays at the shelter; ask her sister about a room."
ACTION = "Call the shelter about a longer stay"


def test_a_supervisor_records_a_session_and_the_caseworker_finds_its_action(
    live_server: Any, browser: Any, register: Any, amina: Any, sam: Any, paul: Any
) -> None:
    from casework.supervision.models import SupervisionSession
    from casework.worklist.models import Task

    case = register(amina, given_name="Mariam", family_name="Coulibaly", risk_level="high")
    walk = Walk(browser, live_server.url, "supervision")
    supervisor = walk.sign_in("sam")

    # The team page flags the high-risk case: never discussed in supervision.
    supervisor.goto(live_server.url + "/cases/team/")
    assert "not discussed in supervision" in supervisor.content()
    assert case.reference in supervisor.content()
    walk.shot(supervisor, "team-page-flags-the-case")

    # 1. The session: individual, today, with amina.
    supervisor.goto(live_server.url + "/supervision/")
    supervisor.get_by_role("link", name="Record a session").click()
    supervisor.wait_for_load_state()
    supervisor.locator("#id_kind").select_option("individual")
    supervisor.locator(f"input[name=caseworkers][value='{amina.pk}']").check()
    walk.shot(supervisor, "session-form")
    walk.save(supervisor)
    session = SupervisionSession.objects.get()
    assert supervisor.url.endswith(f"/supervision/{session.pk}/")

    # 2. The case discussed, with the decisions taken.
    supervisor.get_by_role("link", name="Add a case discussed").click()
    supervisor.wait_for_load_state()
    supervisor.locator("#id_case").select_option(str(case.pk))
    supervisor.locator("#id_decisions").fill(DECISIONS)
    walk.save(supervisor)

    # 3. An action agreed with amina, due in three days.
    supervisor.get_by_role("link", name="Add an agreed action").click()
    supervisor.wait_for_load_state()
    supervisor.locator("#id_case").select_option(str(case.pk))
    supervisor.locator("#id_text").fill(ACTION)
    supervisor.locator("#id_assignee").select_option(str(amina.pk))
    due = timezone.localdate() + datetime.timedelta(days=3)
    supervisor.locator("#id_due_on").fill(due.isoformat())
    walk.save(supervisor)
    assert DECISIONS in supervisor.content() and ACTION in supervisor.content()
    walk.shot(supervisor, "session-recorded")
    task = Task.objects.get(kind=Task.Kind.SUPERVISION_ACTION)
    assert task.assignee_id == amina.pk and task.case_id == case.pk

    # The team page no longer flags the case.
    supervisor.goto(live_server.url + "/cases/team/")
    assert "Every high-risk case discussed in supervision" in supervisor.content()

    # 4. amina finds the action on her tasks, and the session on her case's page.
    caseworker = walk.sign_in("amina")
    caseworker.goto(live_server.url + "/tasks/")
    assert "Action agreed in supervision" in caseworker.content()
    walk.shot(caseworker, "caseworker-tasks")
    caseworker.goto(live_server.url + f"/cases/{case.pk}/")
    assert DECISIONS in caseworker.content()
    walk.shot(caseworker, "case-page-last-supervision")

    # 5. The programme manager reads the case, not the supervision.
    manager = walk.sign_in("paul")
    manager.goto(live_server.url + f"/cases/{case.pk}/")
    assert DECISIONS not in manager.content()
    assert manager.goto(live_server.url + f"/supervision/{session.pk}/").status == 404
