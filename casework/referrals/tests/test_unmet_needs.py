"""Unmet needs (service gaps): recorded at assessment, plan and referral, "not available locally"
recorded as one of them, resolved by hand or by an accepted referral, and kept to the case's
team like the rest of the case."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from casework.assessments import services as assessment_services
from casework.audit.models import AuditEntry
from casework.cases.models import Case
from casework.plans import services as plan_services
from casework.referrals.models import NoReferralNeeded, Referral, Service, UnmetNeed
from casework.referrals.services import move_referral, record_unmet_need


@pytest.fixture
def placed(register: Any, amina: Any, areas: dict[str, Any]) -> Case:
    """Amina's case, living in Harbour ward."""
    return register(amina, location=areas["harbour"])


def test_it_records_an_unmet_need_from_the_assessment_page(
    login: Any, amina: Any, placed: Case
) -> None:
    assessment_services.record_assessment(
        placed,
        by=amina,
        details=assessment_services.AssessmentDetails(
            risk_level="medium",
            risk_rationale="Sleeps outside.",
            findings=[
                assessment_services.FindingDetails(
                    domain="shelter", need_level="high", services=["shelter"]
                ),
                assessment_services.FindingDetails(domain="food", need_level="none"),
            ],
        ),
    )
    client = login(amina)
    page = client.get(f"/cases/{placed.pk}/assessments/1/").content.decode()
    link = f"/cases/{placed.pk}/unmet-needs/new/?step=assessment&amp;need=shelter"
    assert link in page
    # Only the domains with a need offer it.
    assert "step=assessment&amp;need=food" not in page
    form = client.get(f"/cases/{placed.pk}/unmet-needs/new/?step=assessment&need=shelter")
    assert form.status_code == 200
    assert 'value="shelter" selected' in form.content.decode()
    response = client.post(
        f"/cases/{placed.pk}/unmet-needs/new/",
        {"need_code": "shelter", "reason": "full", "step": "assessment", "note": "Shelter full."},
    )
    assert response.status_code == 302 and response["Location"] == f"/cases/{placed.pk}/"
    gap = UnmetNeed.objects.get()
    assert (gap.need_code, gap.reason, gap.step) == ("shelter", "full", "assessment")
    assert gap.location is not None and gap.location.code == "NR-LK-HB"
    assert gap.recorded_by == amina and gap.recorded_on == timezone.localdate()
    assert gap.note == "Shelter full." and gap.resolved_on is None
    entry = AuditEntry.objects.get(action="referrals.unmet_need.recorded")
    assert entry.case_id == placed.pk and "Shelter full." not in str(entry.data)
    case_page = client.get(f"/cases/{placed.pk}/").content.decode()
    assert "Service full or waiting list" in case_page


def test_it_records_an_unmet_need_from_the_plan_over_the_api(
    login: Any, amina: Any, placed: Case
) -> None:
    from casework.cases import services as case_services

    case_services.transition_case(placed, to="assessed", by=amina)
    placed.refresh_from_db()
    plan = plan_services.create_plan(
        placed,
        by=amina,
        content=plan_services.PlanContent(
            summary="Needs a safe place.",
            needs=[plan_services.NeedInput(domain="safety_legal", description="Papers lost")],
        ),
    )
    client = login(amina)
    page = client.get(f"/cases/{placed.pk}/plans/{plan.pk}/").content.decode()
    assert f"/cases/{placed.pk}/unmet-needs/new/?step=plan&amp;need=safety_legal" in page
    created = client.post(
        f"/api/v1/referrals/cases/{placed.pk}/unmet-needs",
        {"need_code": "safety_legal", "reason": "not_accessible", "step": "plan"},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["step"] == "plan" and body["location"] == "NR-LK-HB"
    assert body["reason"] == "not_accessible" and body["resolved_on"] is None
    again = client.post(
        f"/api/v1/referrals/cases/{placed.pk}/unmet-needs",
        {"need_code": "safety_legal", "reason": "full", "step": "referral"},
        content_type="application/json",
    )
    # The same gap met again is the same gap while it stands.
    assert again.status_code == 400 and again.json()["code"] == "duplicate_unmet_need"
    listed = client.get(f"/api/v1/referrals/cases/{placed.pk}/unmet-needs").json()
    assert [gap["need_code"] for gap in listed] == ["safety_legal"]
    wrong = client.post(
        f"/api/v1/referrals/cases/{placed.pk}/unmet-needs",
        {"need_code": "health", "reason": "too_far", "step": "plan"},
        content_type="application/json",
    )
    assert wrong.status_code == 422 and UnmetNeed.objects.count() == 1


def test_a_declined_referral_offers_to_record_the_gap(
    login: Any, amina: Any, priya: Any, case: Case, referral: Referral
) -> None:
    move_referral(referral, to=Referral.Status.DECLINED, by=priya)
    client = login(amina)
    page = client.get(f"/cases/{case.pk}/referrals/{referral.pk}/").content.decode()
    assert (
        f"/cases/{case.pk}/unmet-needs/new/?step=referral&amp;reason=declined&amp;need=health"
        f"&amp;referral={referral.pk}"
    ) in page
    response = client.post(
        f"/cases/{case.pk}/unmet-needs/new/?referral={referral.pk}",
        {"need_code": "health", "reason": "declined", "step": "referral"},
    )
    assert response.status_code == 302
    gap = UnmetNeed.objects.get()
    assert gap.referral == referral and gap.step == "referral"


def test_not_available_locally_is_recorded_as_an_unmet_need(
    login: Any, amina: Any, placed: Case
) -> None:
    client = login(amina)
    screen = client.post(
        f"/cases/{placed.pk}/referrals/not-needed/",
        {"need_code": "education", "reason": "not_available_locally", "note": "No school."},
    )
    assert screen.status_code == 302
    api = client.post(
        f"/api/v1/referrals/cases/{placed.pk}/not-needed",
        {"need_code": "legal", "reason": "not_available_locally"},
        content_type="application/json",
    )
    assert api.status_code == 201 and api.json()["kind"] == "unmet_need"
    assert not NoReferralNeeded.objects.exists()
    gaps = {gap.need_code: gap for gap in UnmetNeed.objects.all()}
    assert set(gaps) == {"education", "legal"}
    assert {(gap.reason, gap.step) for gap in gaps.values()} == {("no_service", "referral")}
    assert gaps["education"].note == "No school."
    listed = client.get(f"/api/v1/referrals/cases/{placed.pk}").json()
    assert listed["not_needed"] == []
    assert {gap["need_code"] for gap in listed["unmet_needs"]} == {"education", "legal"}
    # The other two situations still need no referral, and are no gap.
    client.post(
        f"/cases/{placed.pk}/referrals/not-needed/",
        {"need_code": "health", "reason": "already_receiving"},
    )
    assert NoReferralNeeded.objects.get().reason == "already_receiving"
    assert UnmetNeed.objects.count() == 2


def test_the_data_migration_moves_the_old_rows_into_unmet_needs(amina: Any, placed: Case) -> None:
    from importlib import import_module

    migration = import_module(
        "casework.referrals.migrations.0004_not_available_locally_as_unmet_need"
    )
    recorded_at = timezone.now() - datetime.timedelta(days=40)
    NoReferralNeeded.objects.create(
        case=placed,
        need_code="education",
        reason="not_available_locally",
        note="No school nearby.",
        recorded_by=amina,
        recorded_at=recorded_at,
    )
    kept = NoReferralNeeded.objects.create(
        case=placed,
        need_code="health",
        reason="already_receiving",
        recorded_by=amina,
        recorded_at=recorded_at,
    )
    migration.forwards(django_apps, None)
    assert list(NoReferralNeeded.objects.all()) == [kept]
    gap = UnmetNeed.objects.get()
    assert (gap.need_code, gap.reason, gap.step) == ("education", "no_service", "referral")
    assert gap.recorded_at == recorded_at and gap.recorded_on == recorded_at.date()
    assert gap.location_id == placed.location_id and gap.note == "No school nearby."


def test_a_gap_is_resolved_by_hand_on_the_screen_and_over_the_api(
    login: Any, amina: Any, placed: Case
) -> None:
    first = record_unmet_need(placed, by=amina, need_code="food", reason="full", step="plan")
    second = record_unmet_need(placed, by=amina, need_code="cash", reason="no_service", step="plan")
    client = login(amina)
    assert f"/cases/{placed.pk}/unmet-needs/{first.pk}/resolve/" in (
        client.get(f"/cases/{placed.pk}/").content.decode()
    )
    today = timezone.localdate()
    too_early = client.post(
        f"/cases/{placed.pk}/unmet-needs/{first.pk}/resolve/",
        {"resolved_on": (today - datetime.timedelta(days=1)).isoformat()},
    )
    assert too_early.status_code == 400
    done = client.post(
        f"/cases/{placed.pk}/unmet-needs/{first.pk}/resolve/", {"resolved_on": today.isoformat()}
    )
    assert done.status_code == 302
    first.refresh_from_db()
    assert first.resolved_on == today and first.resolved_by == amina
    resolved = client.post(
        f"/api/v1/referrals/cases/{placed.pk}/unmet-needs/{second.pk}/resolve",
        {},
        content_type="application/json",
    )
    assert resolved.status_code == 200 and resolved.json()["resolved_on"] == today.isoformat()
    twice = client.post(
        f"/api/v1/referrals/cases/{placed.pk}/unmet-needs/{second.pk}/resolve",
        {},
        content_type="application/json",
    )
    assert twice.status_code == 400 and twice.json()["code"] == "already_resolved"
    # Resolved, the same need can be recorded as a gap again.
    record_unmet_need(placed, by=amina, need_code="food", reason="full", step="referral")
    assert AuditEntry.objects.filter(action="referrals.unmet_need.resolved").count() == 2


def test_an_accepted_referral_for_the_need_resolves_the_gap(
    amina: Any,
    priya: Any,
    case: Case,
    clinic_care: Service,
    consent_to: Any,
    refer: Any,
) -> None:
    health = record_unmet_need(case, by=amina, need_code="health", reason="full", step="plan")
    legal = record_unmet_need(case, by=amina, need_code="legal", reason="full", step="plan")
    consent_to(case, amina)
    sent = refer(case, amina, clinic_care)
    health.refresh_from_db()
    assert health.resolved_on is None  # sent is not yet a service
    move_referral(sent, to=Referral.Status.ACCEPTED, by=priya)
    health.refresh_from_db()
    legal.refresh_from_db()
    assert health.resolved_on == timezone.localdate() and health.resolved_by_referral == sent
    assert legal.resolved_on is None


@pytest.mark.parametrize("who", ["omar", "xena", "mei", "priya"])
def test_outsiders_get_404_on_every_unmet_need_route(
    login: Any, request: pytest.FixtureRequest, amina: Any, placed: Case, who: str
) -> None:
    gap = record_unmet_need(placed, by=amina, need_code="food", reason="full", step="plan")
    client = login(request.getfixturevalue(who))
    base = f"/cases/{placed.pk}/unmet-needs"
    assert client.get(f"{base}/new/").status_code == 404
    assert (
        client.post(
            f"{base}/new/", {"need_code": "food", "reason": "full", "step": "plan"}
        ).status_code
        == 404
    )
    assert client.get(f"{base}/{gap.pk}/resolve/").status_code == 404
    assert (
        client.post(
            f"{base}/{gap.pk}/resolve/", {"resolved_on": timezone.localdate().isoformat()}
        ).status_code
        == 404
    )
    api = f"/api/v1/referrals/cases/{placed.pk}/unmet-needs"
    assert client.get(api).status_code == 404
    assert (
        client.post(
            api,
            {"need_code": "food", "reason": "full", "step": "plan"},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert (
        client.post(f"{api}/{gap.pk}/resolve", {}, content_type="application/json").status_code
        == 404
    )
    gap.refresh_from_db()
    assert gap.resolved_on is None and UnmetNeed.objects.count() == 1


def test_a_gap_of_another_case_is_404_on_this_cases_url(
    login: Any, amina: Any, placed: Case, register: Any
) -> None:
    other = register(amina, given_name="Mariam")
    gap = record_unmet_need(other, by=amina, need_code="food", reason="full", step="plan")
    client = login(amina)
    assert client.get(f"/cases/{placed.pk}/unmet-needs/{gap.pk}/resolve/").status_code == 404
    assert (
        client.post(
            f"/api/v1/referrals/cases/{placed.pk}/unmet-needs/{gap.pk}/resolve",
            {},
            content_type="application/json",
        ).status_code
        == 404
    )


def test_two_people_recording_the_same_gap_at_once_make_one_row(
    amina: Any, placed: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second of two simultaneous recordings passed the check before the first was written:
    the database refuses the second open row and the caller hears "already recorded"."""
    from casework.core.errors import CaseworkError
    from casework.referrals.models import UnmetNeedQuerySet

    record_unmet_need(placed, by=amina, need_code="shelter", reason="full", step="assessment")
    monkeypatch.setattr(UnmetNeedQuerySet, "still_open", lambda self: self.none())
    with pytest.raises(CaseworkError) as refused:
        record_unmet_need(placed, by=amina, need_code="shelter", reason="full", step="plan")
    assert refused.value.code == "duplicate_unmet_need"
    assert UnmetNeed.objects.count() == 1
    # Once resolved, the need may be recorded again (a new gap).
    UnmetNeed.objects.update(resolved_on=timezone.localdate())
    record_unmet_need(placed, by=amina, need_code="shelter", reason="full", step="plan")
    assert UnmetNeed.objects.count() == 2
