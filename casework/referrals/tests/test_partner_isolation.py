"""A partner sees and answers only the referrals sent to their organisation, and only what was shared."""

from __future__ import annotations

from typing import Any

import pytest

from casework.audit.models import AuditEntry
from casework.cases import services as case_services
from casework.cases.models import Case
from casework.referrals.models import Referral, Service


@pytest.fixture
def to_lawyers(
    register: Any, amina: Any, legal_aid: Service, consent_to: Any, refer: Any
) -> Referral:
    """Another client of amina's, referred to pablo's organisation (not priya's)."""
    other = register(amina, given_name="Zainab", family_name="Kone")
    consent_to(other, amina, "LAW", ("case_summary", "identity"))
    return refer(other, amina, legal_aid, information=["case_summary", "identity"])


def test_the_inbox_lists_only_referrals_to_her_organisation(
    login: Any, priya: Any, referral: Referral, to_lawyers: Referral
) -> None:
    response = login(priya).get("/referrals/inbox/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"/referrals/{referral.pk}/" in body
    assert f"/referrals/{to_lawyers.pk}/" not in body
    entry = AuditEntry.objects.get(action="referrals.inbox.viewed", actor=priya)
    assert entry.data == {"referrals": [referral.pk]}


def test_the_referral_page_shows_only_the_shared_fields(
    login: Any, priya: Any, referral: Referral, case: Case
) -> None:
    response = login(priya).get(f"/referrals/{referral.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Needs a check-up after an injury." in body
    # Not shared: the name, the case reference, the case file.
    assert "Fatima" not in body and "Traoré" not in body
    assert case.reference not in body and f"/cases/{case.pk}/" not in body
    entry = AuditEntry.objects.get(action="referrals.referral.viewed", actor=priya)
    assert entry.case_id == case.pk and entry.data == {"partner": True}


def test_identity_appears_when_it_was_shared(login: Any, pablo: Any, to_lawyers: Referral) -> None:
    body = login(pablo).get(f"/referrals/{to_lawyers.pk}/").content.decode()
    assert "Zainab" in body and "Kone" in body


def test_another_organisations_referral_is_a_404_in_html_and_api(
    login: Any, priya: Any, to_lawyers: Referral
) -> None:
    client = login(priya)
    assert client.get(f"/referrals/{to_lawyers.pk}/").status_code == 404
    assert (
        client.post(f"/referrals/{to_lawyers.pk}/answer/", {"status": "accepted"}).status_code
        == 404
    )
    assert client.get(f"/api/v1/referrals/received/{to_lawyers.pk}").status_code == 404
    response = client.post(
        f"/api/v1/referrals/{to_lawyers.pk}/status",
        {"status": "accepted"},
        content_type="application/json",
    )
    assert response.status_code == 404
    to_lawyers.refresh_from_db()
    assert to_lawyers.status == Referral.Status.SENT
    assert AuditEntry.objects.filter(action="referrals.referral.denied", actor=priya).exists()


def test_case_urls_are_a_404_for_the_partner(
    login: Any, priya: Any, referral: Referral, case: Case
) -> None:
    client = login(priya)
    for url in [
        f"/cases/{case.pk}/",
        f"/cases/{case.pk}/referrals/{referral.pk}/",
        f"/cases/{case.pk}/referrals/new/",
        f"/api/v1/cases/{case.pk}",
        f"/api/v1/referrals/cases/{case.pk}",
        f"/api/v1/referrals/{referral.pk}",
        "/services/",
        "/api/v1/referrals/services",
    ]:
        assert client.get(url).status_code == 404, url


def test_she_answers_from_the_referral_page(login: Any, priya: Any, referral: Referral) -> None:
    client = login(priya)
    response = client.post(
        f"/referrals/{referral.pk}/answer/", {"status": "accepted", "comment": "Come on Monday."}
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == Referral.Status.ACCEPTED
    client.post(f"/referrals/{referral.pk}/answer/", {"status": "cancelled"})
    referral.refresh_from_db()
    assert referral.status == Referral.Status.ACCEPTED  # cancelling is the sender's


def test_the_api_gives_her_only_the_shared_fields(
    login: Any, priya: Any, referral: Referral
) -> None:
    client = login(priya)
    inbox = client.get("/api/v1/referrals/inbox").json()
    assert [item["id"] for item in inbox["items"]] == [referral.pk]
    read = client.get(f"/api/v1/referrals/received/{referral.pk}")
    received = read.json()
    assert set(received["shared"]["sections"]) == {"case_summary"}
    assert "case_id" not in received and "Fatima" not in str(received)
    response = client.post(
        f"/api/v1/referrals/{referral.pk}/status",
        {"status": "declined", "comment": "Full."},
        content_type="application/json",
        headers={"If-Match": read.headers["ETag"]},
    )
    assert response.status_code == 200 and response.json()["status"] == "declined"


def test_a_withdrawn_consent_stops_her_reading_what_was_shared(
    login: Any, priya: Any, amina: Any, referral: Referral
) -> None:
    assert referral.consent is not None
    case_services.withdraw_consent(referral.consent, by=amina)
    client = login(priya)
    body = client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "Needs a check-up" not in body
    assert client.get(f"/api/v1/referrals/received/{referral.pk}").json()["shared"] is None


def test_a_cancelled_referral_no_longer_shows_the_details(
    login: Any, priya: Any, amina: Any, referral: Referral
) -> None:
    from casework.referrals.services import move_referral

    move_referral(referral, to=Referral.Status.CANCELLED, by=amina, comment="Client declined.")
    body = login(priya).get(f"/referrals/{referral.pk}/").content.decode()
    assert "Needs a check-up" not in body
    assert "Client declined." not in body  # the sender's comments stay with the sender


@pytest.mark.parametrize("name", ["amina", "sam", "omar", "paul", "mei", "adam", "xena"])
def test_the_inbox_and_partner_pages_are_a_404_for_everyone_else(
    login: Any, referral: Referral, request: pytest.FixtureRequest, name: str
) -> None:
    client = login(request.getfixturevalue(name))
    assert client.get("/referrals/inbox/").status_code == 404
    assert client.get(f"/referrals/{referral.pk}/").status_code == 404
    assert (
        client.post(f"/referrals/{referral.pk}/answer/", {"status": "accepted"}).status_code == 404
    )
    assert client.get("/api/v1/referrals/inbox").status_code == 404
    assert client.get(f"/api/v1/referrals/received/{referral.pk}").status_code == 404
