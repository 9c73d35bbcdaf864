"""Individualised or not (seed 001): the contract's exact rule, group plans and near copies."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from casework.cases.models import Case, Consent
from casework.core.errors import CaseworkError
from casework.plans import services, similarity
from casework.plans.models import CasePlan, PlanMatch, PlanSettings
from casework.plans.tests.conftest import assess, content

COPIED_GOALS = [
    "Find safe housing near her sister in Bamako and move before the rainy season",
    "Return to the tailoring apprenticeship and finish the second year",
    "Open a savings account with the women's cooperative",
]
COPIED_ACTIONS = [
    "Refer to the women's shelter run by Association Kéné for three months",
    "Caseworker accompanies her to the tailoring workshop to meet the trainer",
    "Client chooses the cooperative meeting she will join each month",
]


@pytest.fixture
def other_person_case(register: Any, amina: Any) -> Case:
    return assess(register(amina, given_name="Mariam", family_name="Keita"), amina)


def _second_case_of_same_person(case: Case, by: Any) -> Case:
    """Another case of the same person (e.g. one in MHPSS), already in follow-up."""
    twin = Case.objects.create(
        agency=case.agency,
        reference=f"{case.reference}-B",
        person=case.person,
        programme=case.programme,
        identified_on=case.identified_on,
        registered_on=case.registered_on,
        status="in_follow_up",
        caseworker=case.caseworker,
        team=case.team,
    )
    Consent.objects.create(
        case=twin, receive_services=True, given_on=timezone.localdate(), recorded_by=by
    )
    return twin


def test_the_same_plan_for_two_people_is_not_individualised(
    assessed: Case, other_person_case: Case, amina: Any
) -> None:
    first = services.create_plan(assessed, by=amina, content=content())
    second = services.create_plan(other_person_case, by=amina, content=content())
    assert second.fold_hash == first.fold_hash
    for plan in (first, second):
        flags = services.individualisation(plan)
        assert not flags.individualised
        assert flags.same_as_case_ids
    assert similarity.check_plan(second).reasons == ["same_as_other_person"]


def test_folding_ignores_case_and_punctuation(
    assessed: Case, other_person_case: Case, amina: Any
) -> None:
    first = services.create_plan(assessed, by=amina, content=content(goals=["Safe housing, now."]))
    second = services.create_plan(
        other_person_case, by=amina, content=content(goals=["SAFE   housing — now"])
    )
    assert first.fold_hash == second.fold_hash
    assert services.individualisation(first).same_as_case_ids == [other_person_case.pk]


def test_two_cases_of_the_same_person_may_share_a_plan(assessed: Case, amina: Any) -> None:
    first = services.create_plan(assessed, by=amina, content=content())
    twin = _second_case_of_same_person(assessed, amina)
    second = services.create_plan(twin, by=amina, content=content())
    assert first.fold_hash == second.fold_hash
    for plan in (first, second):
        assert services.individualisation(plan).individualised
        assert similarity.check_plan(plan).individualised


def test_a_group_plan_is_not_individualised(assessed: Case, amina: Any) -> None:
    plan = services.create_plan(assessed, by=amina, content=content(is_group=True))
    assert Case.objects.get(pk=assessed.pk).plan_is_group is True
    flags = services.individualisation(plan)
    assert flags.is_group and not flags.individualised


def test_an_empty_plan_is_not_individualised(assessed: Case, amina: Any) -> None:
    plan = services.create_plan(assessed, by=amina, content=content(goals=[], actions=[]))
    assert plan.text == "" and plan.fold_hash == ""
    assert services.individualisation(plan).is_empty
    assert similarity.check_plan(plan).reasons == ["empty"]


def test_a_near_copy_is_flagged_for_a_supervisor(
    assessed: Case, other_person_case: Case, amina: Any
) -> None:
    original = services.create_plan(
        assessed, by=amina, content=content(goals=COPIED_GOALS, actions=COPIED_ACTIONS)
    )
    edited_goals = [COPIED_GOALS[0].replace("Bamako", "Ségou"), *COPIED_GOALS[1:]]
    copy = services.create_plan(
        other_person_case, by=amina, content=content(goals=edited_goals, actions=COPIED_ACTIONS)
    )
    assert copy.fold_hash != original.fold_hash
    check = similarity.check_plan(copy)
    assert [s.plan_id for s in check.similar] == [original.pk]
    assert check.similar[0].score >= 90
    match = PlanMatch.objects.get()
    assert (match.plan_id, match.other_plan_id, match.decision) == (copy.pk, original.pk, "pending")
    # Both plans show the finding; neither is confirmed yet, so the exact rule still holds.
    for plan in (copy, original):
        flags = services.individualisation(plan)
        assert flags.pending and flags.individualised


def test_different_plans_are_not_flagged(
    assessed: Case, other_person_case: Case, amina: Any
) -> None:
    services.create_plan(
        assessed, by=amina, content=content(goals=COPIED_GOALS, actions=COPIED_ACTIONS)
    )
    other = services.create_plan(
        other_person_case,
        by=amina,
        content=content(
            goals=["Get a birth certificate for the baby", "Register for the cash programme"],
            actions=["Go to the civil registry with the caseworker on Monday"],
        ),
    )
    assert similarity.check_plan(other).similar == []
    assert not PlanMatch.objects.exists()


def test_the_threshold_is_configurable(assessed: Case, other_person_case: Case, amina: Any) -> None:
    original = services.create_plan(
        assessed, by=amina, content=content(goals=COPIED_GOALS, actions=COPIED_ACTIONS)
    )
    rewritten = [*COPIED_GOALS[:2], "Learn to read with the evening literacy group"]
    copy = services.create_plan(
        other_person_case, by=amina, content=content(goals=rewritten, actions=COPIED_ACTIONS)
    )
    score = similarity.similarity(copy.text, original.text)
    assert 50 < score < 100
    assert similarity.check_plan(copy, threshold=score).similar
    assert not similarity.check_plan(copy, threshold=score + 1).similar
    with override_settings(CASEWORK_PLAN_NEAR_DUPLICATE_THRESHOLD=score + 1):
        assert not similarity.check_plan(copy).similar
    PlanSettings.objects.create(agency=assessed.agency, near_duplicate_threshold=score)
    assert similarity.check_plan(copy).threshold == score
    assert similarity.check_plan(copy).similar


@pytest.fixture
def near_copy(assessed: Case, other_person_case: Case, amina: Any) -> CasePlan:
    services.create_plan(
        assessed, by=amina, content=content(goals=COPIED_GOALS, actions=COPIED_ACTIONS)
    )
    edited = [COPIED_GOALS[0].replace("Bamako", "Ségou"), *COPIED_GOALS[1:]]
    return services.create_plan(
        other_person_case, by=amina, content=content(goals=edited, actions=COPIED_ACTIONS)
    )


def test_a_supervisor_confirms_a_near_copy(near_copy: CasePlan, sam: Any) -> None:
    match = PlanMatch.objects.get()
    services.decide_match(match, by=sam, decision="confirmed")
    flags = services.individualisation(near_copy)
    assert flags.confirmed and not flags.individualised
    match.refresh_from_db()
    assert (match.decision, match.decided_by) == ("confirmed", sam)


def test_a_supervisor_dismisses_a_near_copy_with_a_reason(near_copy: CasePlan, sam: Any) -> None:
    match = PlanMatch.objects.get()
    with pytest.raises(CaseworkError):  # the reason is required
        services.decide_match(match, by=sam, decision="dismissed", note="")
    services.decide_match(
        match, by=sam, decision="dismissed", note="Sisters with the same plan, on purpose."
    )
    flags = services.individualisation(near_copy)
    assert flags.individualised and not flags.pending


def test_a_decision_carries_over_to_a_new_version(
    near_copy: CasePlan, sam: Any, amina: Any
) -> None:
    services.decide_match(PlanMatch.objects.get(), by=sam, decision="confirmed")
    CasePlan.objects.filter(pk=near_copy.pk).update(status="approved")
    near_copy.refresh_from_db()
    new = services.revise_plan(near_copy, by=amina)
    assert services.individualisation(new).confirmed


def test_rewriting_the_plan_clears_a_pending_finding(near_copy: CasePlan, amina: Any) -> None:
    services.update_plan(
        near_copy,
        by=amina,
        content=content(goals=["Something entirely her own"], actions=["Her own first step"]),
        expected_revision=1,
    )
    assert not PlanMatch.objects.exists()


def test_confirm_and_dismiss_over_http(login: Any, sam: Any, near_copy: CasePlan) -> None:
    match = PlanMatch.objects.get()
    client = login(sam)
    page = client.get(f"/cases/{near_copy.case_id}/plans/{near_copy.pk}/").content.decode()
    assert "Possibly a near copy" in page
    url = f"/cases/{near_copy.case_id}/plans/{near_copy.pk}/matches/{match.pk}/"
    assert client.post(url, {"decision": "confirmed", "note": "Copied."}).status_code == 302
    match.refresh_from_db()
    assert match.decision == "confirmed" and match.note == "Copied."
    page = client.get(f"/cases/{near_copy.case_id}/plans/{near_copy.pk}/").content.decode()
    assert "Confirmed as a near copy" in page


def test_confirm_over_the_api(login: Any, sam: Any, near_copy: CasePlan) -> None:
    match = PlanMatch.objects.get()
    client = login(sam)
    read = client.get(f"/api/v1/plans/{near_copy.pk}")
    assert read.json()["individualisation"]["near_duplicate_pending"] is True
    response = client.post(
        f"/api/v1/plans/{near_copy.pk}/matches/{match.pk}",
        {"decision": "dismissed", "note": "Different families."},
        content_type="application/json",
        headers={"If-Match": read.headers["ETag"]},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["decision"] == "dismissed"
    check = client.get(f"/api/v1/plans/{near_copy.pk}/check").json()
    assert check["reasons"] == ["near_duplicate"] and check["individualised"] is True


def test_a_caseworker_cannot_dismiss_a_finding(login: Any, amina: Any, near_copy: CasePlan) -> None:
    match = PlanMatch.objects.get()
    url = f"/cases/{near_copy.case_id}/plans/{near_copy.pk}/matches/{match.pk}/"
    assert login(amina).post(url, {"decision": "dismissed", "note": "x"}).status_code == 404
    match.refresh_from_db()
    assert match.decision == "pending"


def test_plans_of_another_agency_are_never_compared(
    assessed: Case, amina: Any, xena: Any, register: Any
) -> None:
    services.create_plan(assessed, by=amina, content=content())
    elsewhere = assess(register(xena), xena)
    plan = services.create_plan(elsewhere, by=xena, content=content())
    assert services.individualisation(plan).individualised


def test_dates_do_not_make_a_copied_plan_individual(
    assessed: Case, other_person_case: Case, amina: Any
) -> None:
    first = services.create_plan(assessed, by=amina, content=content())
    later = content()
    for action in later.actions:
        action.due_on = timezone.localdate() + datetime.timedelta(days=30)
    second = services.create_plan(other_person_case, by=amina, content=later)
    assert first.fold_hash == second.fold_hash
