"""A supervision session walked in a real browser (Debian's chromium, driven by Playwright):
the supervisor records an individual session with amina, adds her high-risk case with the
decisions taken and an agreed action; the action is on amina's tasks, the case page shows her
the last supervision, the team page no longer flags the case, and the programme manager, who
reads the case, sees nothing of the session.

Screenshots of every step are kept under test-artifacts/supervision/.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

pytestmark = [
    pytest.mark.browser,
    pytest.mark.commits,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "supervision"
PASSWORD = "correct horse battery staple 2026"
DECISIONS = "Mariam stays at the shelter; ask her sister about a room."
ACTION = "Call the shelter about a longer stay"

if not Path(CHROMIUM).exists():
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def browser() -> Iterator[Any]:
    # Playwright's sync API runs an event loop; Django must allow ORM calls from this thread.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


class Walk:
    def __init__(self, browser: Any, base: str) -> None:
        self.browser = browser
        self.base = base
        self.step = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def sign_in(self, username: str) -> Any:
        page = self.browser.new_context(locale="en").new_page()
        page.goto(self.base + "/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return page

    def shot(self, page: Any, name: str) -> None:
        self.step += 1
        page.screenshot(path=str(ARTIFACTS / f"{self.step:02d}-{name}.png"), full_page=True)

    def save(self, page: Any) -> None:
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state()
        assert page.locator(".form-errors").count() == 0, page.locator(".form-errors").inner_text()


def test_a_supervisor_records_a_session_and_the_caseworker_finds_its_action(
    live_server: Any, browser: Any, register: Any, amina: Any, sam: Any, paul: Any
) -> None:
    from casework.supervision.models import SupervisionSession
    from casework.worklist.models import Task

    case = register(amina, given_name="Mariam", family_name="Coulibaly", risk_level="high")
    walk = Walk(browser, live_server.url)
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
