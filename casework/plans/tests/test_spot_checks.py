"""Spot checks of plans with staff (seed 001, verification 3): a reproducible random sample of a
period's plans, stratified by team with at least one plan per caseworker, stored as rows; each
check records individualised yes/no, the F.A.C.T.S. criteria met and a comment; the indicator
report sets the checks beside the computed INDIVIDUAL_PLAN flag."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.utils import timezone

from casework.accounts import agency_settings
from casework.audit.models import AuditEntry
from casework.cases.models import Case
from casework.core.errors import CaseworkError, Conflict
from casework.core.periods import current_quarter
from casework.plans import services, verification
from casework.plans.models import CasePlan, SpotCheckSample
from casework.plans.selectors import Candidate
from casework.plans.tests.conftest import assess, content

pytestmark = pytest.mark.django_db

API = "/api/v1/plans/spot-checks"
SECRET_GOAL = "Aminata learns to sew at the Kayes workshop"


@pytest.fixture
def period() -> Any:
    return current_quarter(timezone.localdate())


@pytest.fixture
def planned(register: Any, amina: Any, omar: Any) -> list[CasePlan]:
    """Three plans of amina's (North) and one of omar's (South), each its own."""
    plans = []
    for number, (by, name) in enumerate(
        [(amina, "Aminata"), (amina, "Bintou"), (amina, "Coumba"), (omar, "Djeneba")]
    ):
        case = assess(register(by, given_name=name, family_name="Sow"), by)
        goal = SECRET_GOAL if number == 0 else f"{name} finds work as a baker number {number}"
        plans.append(
            services.create_plan(
                case,
                by=by,
                content=content(goals=[goal], actions=[f"Visit {number} bakeries together"]),
            )
        )
    return plans


def _candidates(counts: dict[tuple[int, int], int]) -> list[Candidate]:
    """(team, caseworker) → how many plans."""
    found, case_id = [], 0
    for (team, caseworker), number in counts.items():
        for _ in range(number):
            case_id += 1
            found.append(Candidate(case_id * 10, case_id, team, caseworker))
    return found


def test_it_draws_the_same_sample_from_the_same_seed() -> None:
    candidates = _candidates({(1, 11): 40, (1, 12): 25, (2, 21): 30})
    first = verification.choose(candidates, seed=2026, percent=10)
    assert verification.choose(list(reversed(candidates)), seed=2026, percent=10) == first
    others = {tuple(verification.choose(candidates, seed=s, percent=10)) for s in range(10)}
    assert len(others) > 1  # another seed, another sample


def test_it_takes_the_share_of_each_team_and_one_plan_of_every_caseworker() -> None:
    # Team 1: a caseworker with 29 plans and one with a single plan; team 2: 5 plans.
    candidates = _candidates({(1, 11): 29, (1, 12): 1, (2, 21): 5})
    for seed in range(20):
        chosen = verification.choose(candidates, seed=seed, percent=10)
        team_one = [c for c in chosen if c.team_id == 1]
        assert len(team_one) >= math.ceil(30 * 10 / 100)
        assert {c.caseworker_id for c in team_one} == {11, 12}
        assert len([c for c in chosen if c.team_id == 2]) == 1
        assert len({c.case_id for c in chosen}) == len(chosen)


def test_a_sample_is_stored_with_its_seed_and_drawn_again_from_it(
    planned: list[CasePlan], mei: Any, period: Any
) -> None:
    first = verification.draw_sample(by=mei, period=period, seed=7)
    again = verification.draw_sample(by=mei, period=period, seed=7)
    assert (first.seed, first.percent, first.population, first.team_id) == (7, 10, 4, None)

    def drawn(sample: SpotCheckSample) -> list[int]:
        return list(sample.checks.order_by("case_id").values_list("case_id", flat=True))

    assert drawn(first) == drawn(again)
    # Stratified by team over the whole agency: each team, each caseworker has a plan drawn.
    teams = set(first.checks.values_list("team__name", flat=True))
    assert teams == {"North", "South"}
    assert AuditEntry.objects.filter(action="plans.spot_check.sample_drawn").count() == 2


def test_the_share_is_an_agency_setting(
    planned: list[CasePlan], adam: Any, sam: Any, period: Any
) -> None:
    agency_settings.change(by=adam, key="plans.verification_sample_percent", value=100)
    sample = verification.draw_sample(by=sam, period=period)
    # A supervisor's sample is his team's: all three of North's plans at 100 %.
    assert (sample.percent, sample.population, sample.checks.count()) == (100, 3, 3)
    assert set(sample.checks.values_list("team__name", flat=True)) == {"North"}


def test_a_period_without_plans_draws_nothing(planned: list[CasePlan], mei: Any) -> None:
    with pytest.raises(CaseworkError):
        verification.draw_sample(
            by=mei, period=current_quarter(timezone.localdate().replace(year=2020))
        )
    assert not SpotCheckSample.objects.exists()


def test_a_check_is_recorded_once(planned: list[CasePlan], sam: Any, mei: Any, period: Any) -> None:
    sample = verification.draw_sample(by=sam, period=period, seed=1)
    check = sample.checks.first()
    assert check is not None
    with pytest.raises(CaseworkError):
        verification.record_check(check, by=sam, individualised=True, criteria_met=["tidy"])
    verification.record_check(
        check, by=sam, individualised=False, criteria_met=["timely", "factual"], comment="Copied."
    )
    check.refresh_from_db()
    assert (check.individualised, check.criteria_met, check.comment) == (
        False,
        ["factual", "timely"],
        "Copied.",
    )
    assert check.checklist == ["factual", "accurate", "complete", "timely", "secure"]
    with pytest.raises(Conflict):
        verification.record_check(check, by=mei, individualised=True)


def test_mei_draws_and_checks_over_the_screens_without_seeing_the_plan(
    planned: list[CasePlan], mei: Any, login: Any, period: Any, django_assert_max_num_queries: Any
) -> None:
    client = login(mei)
    response = client.post("/spot-checks/", {"period": str(period), "seed": "42"})
    assert response.status_code == 302
    sample = SpotCheckSample.objects.get()
    assert response["Location"] == f"/spot-checks/{sample.pk}/"
    with django_assert_max_num_queries(12):
        listing = client.get("/spot-checks/").content.decode()
    assert "42" in listing
    page = client.get(f"/spot-checks/{sample.pk}/").content.decode()
    check = sample.checks.select_related("case").first()
    assert check is not None
    assert check.case.reference in page
    shown = client.get(f"/spot-checks/checks/{check.pk}/").content.decode()
    assert "Is the plan individualised?" in shown
    assert "Bakeries" not in shown and SECRET_GOAL not in shown
    assert "baker" not in shown  # no word of any plan
    answer = client.post(
        f"/spot-checks/checks/{check.pk}/",
        {
            "individualised": "no",
            "criteria_met": ["factual", "complete"],
            "comment": "Same as another file.",
        },
    )
    assert answer.status_code == 302
    check.refresh_from_db()
    assert (check.individualised, check.checked_by, check.criteria_met) == (
        False,
        mei,
        ["factual", "complete"],
    )
    # Recorded once: a second answer is refused on the form, and the first one stays.
    again = client.post(f"/spot-checks/checks/{check.pk}/", {"individualised": "yes"})
    assert again.status_code == 400
    assert "already been checked" in again.content.decode()
    check.refresh_from_db()
    assert check.individualised is False


def test_sam_sees_his_teams_plan_in_the_check(
    planned: list[CasePlan], sam: Any, login: Any, period: Any
) -> None:
    client = login(sam)
    assert client.post("/spot-checks/", {"period": str(period), "seed": "3"}).status_code == 302
    sample = SpotCheckSample.objects.get()
    assert sample.team == sam.team
    check = sample.checks.first()
    assert check is not None
    shown = client.get(f"/spot-checks/checks/{check.pk}/").content.decode()
    assert check.plan.goals.get().text in shown
    # The read of the case behind the plan is audited, as on the plan page.
    assert AuditEntry.objects.filter(action="cases.case.viewed", case_id=check.case_id).exists()


@pytest.mark.parametrize("name", ["olga", "omar", "amina", "paul", "priya", "xena", "dana"])
def test_others_get_404(
    request: Any, name: str, planned: list[CasePlan], sam: Any, login: Any, period: Any
) -> None:
    sample = verification.draw_sample(by=sam, period=period, seed=5)
    check = sample.checks.first()
    assert check is not None
    client = login(request.getfixturevalue(name))
    for url in (f"/spot-checks/{sample.pk}/", f"/spot-checks/checks/{check.pk}/"):
        assert client.get(url).status_code == 404
    assert (
        client.post(f"/spot-checks/checks/{check.pk}/", {"individualised": "yes"}).status_code
        == 404
    )
    assert client.get(f"{API}/samples/{sample.pk}").status_code == 404
    assert client.get(f"{API}/{check.pk}").status_code == 404
    recorded = client.post(
        f"{API}/{check.pk}", {"individualised": True}, content_type="application/json"
    )
    assert recorded.status_code == 404
    check.refresh_from_db()
    assert check.checked_at is None


def test_the_api_draws_shows_and_records(
    planned: list[CasePlan], sam: Any, mei: Any, login: Any, period: Any
) -> None:
    client = login(sam)
    drawn = client.post(
        f"{API}/samples", {"period": str(period), "seed": 11}, content_type="application/json"
    )
    assert drawn.status_code == 201, drawn.json()
    body = drawn.json()
    assert (body["seed"], body["team"], body["population"]) == (11, "North", 3)
    assert body["size"] == len(body["checks"]) >= 1
    check_id = body["checks"][0]["id"]
    assert client.get(f"{API}/samples").json()[0]["id"] == body["id"]
    assert client.get(f"{API}/samples", {"period": str(period)}).json()[0]["id"] == body["id"]
    shown = client.get(f"{API}/{check_id}").json()
    assert shown["plan"]["shows_text"] is True and shown["plan"]["goals"]
    # The M&E officer sees the same check without the plan's words.
    for_mei = login(mei).get(f"{API}/{check_id}").json()
    assert for_mei["plan"]["shows_text"] is False
    assert for_mei["plan"]["goals"] is None and for_mei["plan"]["summary"] is None
    assert for_mei["plan"]["goals_count"] == shown["plan"]["goals_count"]
    bad = client.post(
        f"{API}/{check_id}",
        {"individualised": True, "criteria_met": ["pretty"]},
        content_type="application/json",
    )
    assert bad.status_code == 400
    overlong = client.post(
        f"{API}/{check_id}",
        {"individualised": True, "comment": "z" * 2001},
        content_type="application/json",
    )
    assert overlong.status_code == 400 and "comment" in overlong.content.decode()
    done = client.post(
        f"{API}/{check_id}",
        {"individualised": True, "criteria_met": ["secure"], "comment": "Fine."},
        content_type="application/json",
    )
    assert done.status_code == 200, done.json()
    assert (done.json()["individualised"], done.json()["criteria_met"]) == (True, ["secure"])
    again = client.post(
        f"{API}/{check_id}", {"individualised": False}, content_type="application/json"
    )
    assert again.status_code == 409


def test_the_indicator_report_shows_the_verification_rate_and_disagreements(
    planned: list[CasePlan], sam: Any, adam: Any, login: Any, period: Any
) -> None:
    agency_settings.change(by=adam, key="plans.verification_sample_percent", value=100)
    sample = verification.draw_sample(by=sam, period=period, seed=9)
    checks = list(sample.checks.order_by("case_id"))
    assert len(checks) == 3
    # The first plan is counted as individualised, yet the check says it is not; the second is
    # a group plan (not counted), yet the check says it is individualised; the third agrees.
    Case.objects.filter(pk=checks[1].case_id).update(plan_is_group=True)
    verification.record_check(checks[0], by=sam, individualised=False)
    verification.record_check(checks[1], by=sam, individualised=True)
    client = login(sam)
    answer = client.get("/api/v1/indicators", {"period": str(period)}).json()
    assert answer["verification"] == {
        "sampled": 3,
        "checked": 2,
        "rate": 66.7,
        "disagreements": 2,
        "check_says_not_individualised": 1,
        "check_says_individualised": 1,
    }
    assert {"period", "indicators"} <= set(answer)  # the contract's report is unchanged beside it
    page = client.get("/indicators/", {"period": str(period)}).content.decode()
    assert "Spot checks of plans" in page
    assert "66.7 %" in page and "(2 of 3)" in page


def test_the_administrator_sets_the_share_on_the_settings_screen(
    planned: list[CasePlan], adam: Any, mei: Any, login: Any, period: Any
) -> None:
    client = login(adam)
    assert (
        "Plans sampled for spot checks" in client.get("/administration/settings/").content.decode()
    )
    changed = client.post(
        "/administration/settings/plans.verification_sample_percent/",
        {"value": "50", "reason": "Donor asked for more checks"},
    )
    assert changed.status_code == 302
    sample = verification.draw_sample(by=mei, period=period, seed=4)
    assert sample.percent == 50
    # North: 3 plans → 2 drawn; South: 1 plan → 1 drawn.
    assert sample.checks.count() == 3


def test_a_supervisors_comment_is_not_shown_to_the_me_officer(
    planned: list[CasePlan], sam: Any, mei: Any, login: Any, period: Any
) -> None:
    """A comment is free text that may repeat the plan: those who see free text read it, and its
    author; the M&E officer sees that the check was made, not what it says."""
    sample = verification.draw_sample(by=sam, period=period, seed=3)
    check = sample.checks.first()
    assert check is not None
    verification.record_check(check, by=sam, individualised=False, comment="Same words as Awa's.")
    supervisor, officer = login(sam), login(mei)
    assert (
        "Same words as Awa" in supervisor.get(f"/spot-checks/checks/{check.pk}/").content.decode()
    )
    assert supervisor.get(f"/api/v1/plans/spot-checks/{check.pk}").json()["comment"]
    page = officer.get(f"/spot-checks/checks/{check.pk}/")
    assert page.status_code == 200 and "Same words as Awa" not in page.content.decode()
    assert officer.get(f"/api/v1/plans/spot-checks/{check.pk}").json()["comment"] is None
