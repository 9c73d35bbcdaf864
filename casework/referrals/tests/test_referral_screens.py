"""Referring from the case page and over the API, and recording that no referral is needed."""

from __future__ import annotations

from typing import Any

import pytest

from casework.audit.models import AuditEntry
from casework.cases.models import Case
from casework.core.errors import FieldErrors
from casework.referrals.models import NoReferral, NoReferralNeeded, Referral, Service
from casework.referrals.services import record_no_referral_needed


def test_the_case_page_shows_the_referrals_panel(
    login: Any, amina: Any, case: Case, referral: Referral
) -> None:
    body = login(amina).get(f"/cases/{case.pk}/").content.decode()
    assert 'id="panel-referrals"' in body
    assert f"/cases/{case.pk}/referrals/{referral.pk}/" in body
    assert f"/cases/{case.pk}/referrals/new/" in body


def test_the_form_offers_the_services_for_the_need_in_the_clients_area(
    login: Any,
    amina: Any,
    register: Any,
    areas: dict[str, Any],
    clinic_care: Service,
    legal_aid: Service,
) -> None:
    case = register(amina, location=areas["harbour"])
    client = login(amina)
    body = client.get(f"/cases/{case.pk}/referrals/new/", {"need": "health"}).content.decode()
    assert "General health care" in body and "Lawyers — Legal aid" not in body
    body = client.get(f"/cases/{case.pk}/referrals/new/", {"need": "health", "all": "1"}).content
    assert "Lawyers — Legal aid" in body.decode()


def test_a_caseworker_refers_from_the_form(
    login: Any, amina: Any, case: Case, clinic_care: Service, consent_to: Any
) -> None:
    consent_to(case, amina)
    response = login(amina).post(
        f"/cases/{case.pk}/referrals/new/",
        {
            "need_code": "health",
            "service": clinic_care.pk,
            "information": ["case_summary"],
            "summary": "Needs a check-up.",
        },
    )
    referral = Referral.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/referrals/{referral.pk}/"
    assert referral.shared_information["sections"]["case_summary"]["summary"] == "Needs a check-up."


def test_the_form_says_when_consent_does_not_cover_the_release(
    login: Any, amina: Any, case: Case, clinic_care: Service, consent_to: Any
) -> None:
    consent_to(case, amina, "PRT", ("case_summary",))
    response = login(amina).post(
        f"/cases/{case.pk}/referrals/new/",
        {
            "need_code": "health",
            "service": clinic_care.pk,
            "information": ["case_summary", "contact"],
        },
    )
    assert response.status_code == 400
    assert "consent does not cover" in response.content.decode()
    assert not Referral.objects.exists()


def test_the_supervisor_form_has_the_override_and_it_works(
    login: Any, sam: Any, amina: Any, case: Case, clinic_care: Service
) -> None:
    assert (
        "override_reason"
        not in login(amina).get(f"/cases/{case.pk}/referrals/new/").content.decode()
    )
    client = login(sam)
    assert "override_reason" in client.get(f"/cases/{case.pk}/referrals/new/").content.decode()
    response = client.post(
        f"/cases/{case.pk}/referrals/new/",
        {"need_code": "health", "service": clinic_care.pk, "override_reason": "Emergency care."},
    )
    assert response.status_code == 302
    assert Referral.objects.get().consent_overridden


def test_a_childs_form_asks_for_the_accompanying_adult(
    login: Any, amina: Any, register: Any, clinic_care: Service, consent_to: Any
) -> None:
    child = register(amina, given_name="Awa", age=9)
    consent_to(child, amina)
    client = login(amina)
    assert "accompanied_by_name" in client.get(f"/cases/{child.pk}/referrals/new/").content.decode()
    response = client.post(
        f"/cases/{child.pk}/referrals/new/", {"need_code": "health", "service": clinic_care.pk}
    )
    assert response.status_code == 400 and not Referral.objects.exists()


def test_the_caseworker_records_the_answer_and_cancels_from_the_page(
    login: Any, amina: Any, case: Case, referral: Referral
) -> None:
    client = login(amina)
    page = client.get(f"/cases/{case.pk}/referrals/{referral.pk}/").content.decode()
    assert "Needs a check-up after an injury." in page and "Record what happened" in page
    client.post(f"/cases/{case.pk}/referrals/{referral.pk}/move/", {"status": "accepted"})
    client.post(f"/cases/{case.pk}/referrals/{referral.pk}/move/", {"status": "declined"})
    referral.refresh_from_db()
    assert referral.status == Referral.Status.ACCEPTED  # declining after accepting is refused
    client.post(
        f"/cases/{case.pk}/referrals/{referral.pk}/move/",
        {"status": "cancelled", "comment": "Client changed her mind."},
    )
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CANCELLED


def test_it_records_that_no_referral_is_needed_with_the_seeds_reasons(
    login: Any, amina: Any, case: Case
) -> None:
    response = login(amina).post(
        f"/cases/{case.pk}/referrals/not-needed/",
        {"need_code": "health", "reason": "already_receiving", "note": "Sees the clinic weekly."},
    )
    assert response.status_code == 302
    decision = NoReferralNeeded.objects.get()
    assert (decision.need_code, decision.reason) == ("health", "already_receiving")
    assert decision.note == "Sees the clinic weekly." and decision.recorded_by == amina
    assert AuditEntry.objects.filter(
        action="referrals.not_needed.recorded", case_id=case.pk
    ).exists()
    assert (
        "Already receiving the service" in login(amina).get(f"/cases/{case.pk}/").content.decode()
    )


def test_no_referral_needed_takes_only_the_seeds_reasons(amina: Any, case: Case) -> None:
    assert set(NoReferral.values) == {
        "accesses_without_help",
        "already_receiving",
        "not_available_locally",
    }
    # The third is a service gap, recorded as an UnmetNeed (test_unmet_needs.py).
    assert set(NoReferralNeeded.Reason.values) == {"accesses_without_help", "already_receiving"}
    with pytest.raises(FieldErrors):
        record_no_referral_needed(case, by=amina, need_code="health", reason="client_busy")


def test_the_api_sends_a_referral_and_refuses_without_consent(
    login: Any, amina: Any, case: Case, clinic_care: Service, consent_to: Any
) -> None:
    client = login(amina)
    payload = {"service": clinic_care.pk, "need_code": "health", "summary": "Check-up."}
    refused = client.post(
        f"/api/v1/referrals/cases/{case.pk}", payload, content_type="application/json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "consent_required"
    consent_to(case, amina)
    sent = client.post(
        f"/api/v1/referrals/cases/{case.pk}", payload, content_type="application/json"
    )
    assert sent.status_code == 201
    body = sent.json()
    assert body["status"] == "sent" and body["information"] == ["case_summary"]
    assert body["shared"]["sections"]["case_summary"]["summary"] == "Check-up."
    moved = client.post(
        f"/api/v1/referrals/{body['id']}/status",
        {"status": "delivered"},
        content_type="application/json",
        headers={"If-Match": sent.headers["ETag"]},
    )
    assert moved.status_code == 400 and moved.json()["code"] == "invalid_transition"
    not_needed = client.post(
        f"/api/v1/referrals/cases/{case.pk}/not-needed",
        {"need_code": "legal", "reason": "not_available_locally"},
        content_type="application/json",
    )
    assert not_needed.status_code == 201 and not_needed.json()["kind"] == "unmet_need"
    listed = client.get(f"/api/v1/referrals/cases/{case.pk}").json()
    assert len(listed["referrals"]) == 1 and listed["not_needed"] == []
    assert listed["unmet_needs"][0]["reason"] == "no_service"
