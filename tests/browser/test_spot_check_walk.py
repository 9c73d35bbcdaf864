"""A spot check of plans walked in a real browser (Debian's chromium, driven by Playwright),
seed 001 verification 3: the supervisor draws a seeded sample of his team's plans for the
quarter, checks one plan with its caseworker (not individualised, the F.A.C.T.S. it meets, a
comment); the M&E officer then sees the verification rate and the disagreement in the indicator
report.

Screenshots of every step are kept under test-artifacts/spot-check/.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Walk

pytestmark = [
    pytest.mark.browser,
    pytest.mark.commits,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_supervisor_spot_checks_a_plan_and_the_report_shows_it_in_the_browser(
    live_server: Any, browser: Any, register: Any, amina: Any, sam: Any, mei: Any
) -> None:
    from django.utils import timezone

    from casework.core.periods import current_quarter
    from casework.plans import services
    from casework.plans.models import SpotCheck, SpotCheckSample
    from casework.plans.tests.conftest import assess, content

    for name in ("Aminata", "Bintou"):
        case = assess(register(amina, given_name=name, family_name="Sow"), amina)
        services.create_plan(
            case, by=amina, content=content(goals=[f"{name} finds work she chose"], actions=[])
        )
    quarter = str(current_quarter(timezone.localdate()))
    walk = Walk(browser, live_server.url, "spot-check")

    # 1. The supervisor draws a seeded sample of his team's plans for the quarter.
    page = walk.sign_in("sam")
    page.get_by_role("link", name="Spot checks").click()
    page.wait_for_load_state()
    page.locator("#id_period").fill(quarter)
    page.locator("#id_seed").fill("2026")
    walk.shot(page, "draw")
    page.get_by_role("button", name="Draw the sample").click()
    page.wait_for_load_state()
    walk.ok(page)
    sample = SpotCheckSample.objects.get()
    assert (sample.seed, sample.team_id) == (2026, sam.team_id)
    assert page.url.endswith(f"/spot-checks/{sample.pk}/")
    walk.shot(page, "sample")

    # 2. He checks the first plan with amina: not individualised; factual and timely; a comment.
    page.get_by_role("link", name="Check", exact=True).first.click()
    page.wait_for_load_state()
    assert "finds work she chose" in page.content()  # the supervisor reads his team's plan
    page.locator("#id_individualised_1").check()
    page.locator("input[name=criteria_met][value=factual]").check()
    page.locator("input[name=criteria_met][value=timely]").check()
    page.locator("#id_comment").fill("Goals copied from the team's template.")
    walk.shot(page, "check")
    page.get_by_role("button", name="Record the check").click()
    page.wait_for_load_state()
    walk.ok(page)
    check = SpotCheck.objects.exclude(checked_at=None).get()
    assert (check.individualised, check.criteria_met) == (False, ["factual", "timely"])
    walk.shot(page, "checked")

    # 3. The M&E officer sees the verification rate and the disagreement in the report.
    report = walk.sign_in("mei")
    report.goto(live_server.url + f"/indicators/?period={quarter}")
    section = report.locator("section", has=report.locator("#verification"))
    text = section.inner_text()
    walk.shot(report, "report")
    size = sample.checks.count()
    assert f"(1 of {size})" in text
    assert "1 plan found not individualised is counted as individualised" in text
