"""What every browser walk shares: Debian's chromium driven by Playwright (never `playwright
install`), and `Walk`, which signs a named user in, takes numbered screenshots under
test-artifacts/<folder>/ and checks a page shows no form errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple 2026"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop; Django must allow ORM calls from this thread.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


class Walk:
    def __init__(self, browser: Any, base: str, folder: str) -> None:
        self.browser = browser
        self.base = base
        self.step = 0
        self.folder = ARTIFACTS / folder
        self.folder.mkdir(parents=True, exist_ok=True)

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
        page.screenshot(path=str(self.folder / f"{self.step:02d}-{name}.png"), full_page=True)

    @staticmethod
    def ok(page: Any) -> None:
        assert page.locator(".form-errors").count() == 0, page.locator(".form-errors").inner_text()

    def save(self, page: Any) -> None:
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state()
        self.ok(page)
