"""A case walked end to end in a real browser (Debian's chromium, driven by Playwright):
register with consent, assess, plan, refer, the partner accepts and delivers, follow-up,
participation survey, close with the supervisor's approval, reopen.

Screenshots of every step are kept under test-artifacts/end-to-end/.
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


@pytest.fixture
def partner_service(partner_agency: Any, priya: Any) -> Any:
    from casework.referrals.models import Organisation, Service

    organisation = Organisation.objects.create(
        code="PRT", name="Partner Clinic", agency=partner_agency
    )
    return Service.objects.create(
        organisation=organisation,
        name="Medical care",
        sector="health",
        nationwide=True,
        answer_within_days=3,
    )


def test_a_case_goes_from_registration_to_reopening_in_the_browser(
    live_server: Any,
    browser: Any,
    amina: Any,
    sam: Any,
    priya: Any,
    partner_service: Any,
    programme: Any,
) -> None:
    from casework.cases.models import Case
    from casework.referrals.models import Referral

    walk = Walk(browser, live_server.url, "end-to-end")
    page = walk.sign_in("amina")
    walk.shot(page, "caseload")

    # 1. Register, with consent to services and to referral to the partner clinic.
    # First the screening and the search for someone registered already (there is none).
    page.goto(live_server.url + "/cases/register/")
    page.locator("#id_given_name").fill("Mariam")
    page.locator("#id_family_name").fill("Coulibaly")
    page.locator("#id_estimated_age").fill("27")
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    walk.shot(page, "register-no-match")
    with page.expect_navigation():
        page.get_by_role("button", name="Register this person").click()
    assert page.locator("#id_family_name").input_value() == "Coulibaly"  # carried, not retyped
    page.locator("#id_programme").select_option(str(programme.pk))
    page.locator("#id_risk_level").select_option("medium")
    page.locator("#id_consent_receive_services").check()
    page.locator("#id_consent_share_for_referral").check()
    page.locator("#id_consent_recipients").fill("Partner Clinic")
    page.locator("input[name=consent_information][value=case_summary]").check()
    walk.shot(page, "register-form")
    page.get_by_role("button", name="Register").click()
    page.wait_for_load_state()
    walk.ok(page)
    case = Case.objects.get()
    assert page.url.endswith(f"/cases/{case.pk}/")
    walk.shot(page, "registered")

    # 2. Assessment with a risk level.
    page.goto(live_server.url + f"/cases/{case.pk}/assessments/new/")
    page.locator("#id_health_level").select_option(index=3)
    page.locator("#id_risk_level").select_option("high")
    page.locator("#id_risk_rationale").fill("Threats from the employer.")
    walk.shot(page, "assessment-form")
    page.locator("form[method=post] button[type=submit]").last.click()
    page.wait_for_load_state()
    walk.ok(page)
    case.refresh_from_db()
    assert case.status == "assessed" and case.risk_level == "high"

    # 3. A plan made with the client.
    page.goto(live_server.url + f"/cases/{case.pk}/plans/new/")
    page.locator("#id_summary").fill("Mariam wants to see a doctor and find safe work.")
    goal = page.locator("textarea[name$='-text'], input[name$='-text']").first
    if goal.count():
        goal.fill("See a doctor about the injury within a week")
    walk.shot(page, "plan-form")
    page.locator("form[method=post] button[type=submit]").last.click()
    page.wait_for_load_state()
    walk.ok(page)
    case.refresh_from_db()
    assert case.status == "planned" and case.planned_on is not None

    # 4. Referral to the partner clinic, sharing only the case summary.
    page.goto(live_server.url + f"/cases/{case.pk}/referrals/new/")
    page.locator("#id_need_code").select_option("health")
    page.locator("#id_service").select_option(str(partner_service.pk))
    page.locator("#id_summary").fill("Needs a medical check-up.")
    walk.shot(page, "referral-form")
    page.locator("form[method=post] button[type=submit]").last.click()
    page.wait_for_load_state()
    walk.ok(page)
    referral = Referral.objects.get()
    assert referral.status == "sent"

    # 5. The partner accepts, then delivers — seeing only what was shared.
    partner = walk.sign_in("priya")
    partner.goto(live_server.url + "/referrals/inbox/")
    walk.shot(partner, "partner-inbox")
    assert "Coulibaly" not in partner.content()
    for status in ("accepted", "delivered"):
        partner.goto(live_server.url + f"/referrals/{referral.pk}/")
        partner.locator("#id_status").select_option(status)
        partner.locator("form[method=post] button[type=submit]").last.click()
        partner.wait_for_load_state()
        referral.refresh_from_db()
        assert referral.status == status
    walk.shot(partner, "partner-delivered")
    assert partner.goto(live_server.url + f"/cases/{case.pk}/").status == 404

    # 6. Follow-up and the participation survey.
    page.goto(live_server.url + f"/cases/{case.pk}/follow-ups/add/")
    page.locator("#id_service_received").select_option("yes")
    page.locator("#id_satisfied").select_option("yes")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    walk.ok(page)
    page.goto(live_server.url + f"/cases/{case.pk}/surveys/participation/")
    page.locator("#id_q1_aware_0").check()
    page.locator("#id_q2_involved_1").check()
    page.locator("input[name=q3_ways][value=set_goals]").check()
    walk.shot(page, "survey")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    walk.ok(page)
    case.refresh_from_db()
    assert case.status == "in_follow_up"

    # 7. Close with the checklist; the supervisor approves; then reopen.
    page.goto(live_server.url + f"/cases/{case.pk}/close/")
    page.locator("#id_reason").select_option("needs_met")
    for box in ("goals_reviewed", "closure_explained", "follow_up_arranged"):
        page.locator(f"#id_{box}").check()
    walk.shot(page, "closure-form")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    walk.ok(page)
    supervisor = walk.sign_in("sam")
    supervisor.goto(live_server.url + "/cases/team/")
    walk.shot(supervisor, "team-view")
    # The closure waiting for approval (the high-risk case is also named among those not
    # discussed in supervision lately).
    supervisor.locator("a[href*='/closures/']", has_text=case.reference).click()
    supervisor.locator("#id_decision").select_option("approve")
    supervisor.get_by_role("button", name="Record the decision").click()
    supervisor.wait_for_load_state()
    case.refresh_from_db()
    assert case.status == "closed" and case.closure_reason == "needs_met"
    walk.shot(supervisor, "closed")

    page.goto(live_server.url + f"/cases/{case.pk}/")
    page.locator("#id_to").select_option("reopened")
    page.locator("#id_reason").fill("Mariam asked for help again.")
    page.get_by_role("button", name="Move the case").click()
    page.wait_for_load_state()
    case.refresh_from_db()
    assert case.status == "reopened"
    walk.shot(page, "reopened")


def test_registering_someone_again_shows_the_person_already_registered(
    live_server: Any, browser: Any, amina: Any, register: Any
) -> None:
    """The duplicate is found before anything is created, and a new case opens for her."""
    from casework.cases.models import Case

    first = register(amina, given_name="Aminata", family_name="Traoré", age=14)
    walk = Walk(browser, live_server.url, "end-to-end")
    page = walk.sign_in("amina")
    page.goto(live_server.url + "/cases/register/")
    page.locator("#id_given_name").fill("Aminata")
    page.locator("#id_family_name").fill("Traore")  # typed without the accent
    page.locator("#id_sex").select_option("female")
    page.locator("#id_estimated_age").fill("14")
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    walk.shot(page, "duplicate-found")
    row = page.locator("table.matches tbody tr")
    assert row.count() == 1
    assert first.person.reference in row.inner_text() and "same name" in row.inner_text()
    assert "/aminata" not in page.url.lower() and "traor" not in page.url.lower()
    with page.expect_navigation():
        row.get_by_role("link", name="Open a new case for this person").click()
    page.locator("#id_programme").select_option(label="Mental health and psychosocial support")
    page.locator("#id_consent_given_by").select_option("caregiver")
    page.locator("#id_consent_child_assent").select_option("yes")
    page.locator("#id_consent_receive_services").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Open the case").click()
    walk.ok(page)
    assert Case.objects.values("person").distinct().count() == 1 and Case.objects.count() == 2
    second = Case.objects.exclude(pk=first.pk).get()
    assert second.person_id == first.person_id and second.screening.choice == "existing_person"
