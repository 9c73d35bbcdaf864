"""The case page, notes with their history, consent screens and moves, over HTTP."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.cases import services
from casework.cases.models import Case, CaseNote, Status
from casework.cases.timeline import case_timeline


def test_the_owner_sees_the_case_and_the_read_is_audited(
    login: Any, amina: Any, case: Case
) -> None:
    response = login(amina).get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    assert "Fatima Traoré" in response.content.decode()
    assert AuditEntry.objects.filter(
        action="cases.case.viewed", case_id=case.pk, actor=amina
    ).exists()


def test_the_programme_manager_reads_it_without_names(login: Any, paul: Any, case: Case) -> None:
    response = login(paul).get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert case.reference in body
    assert "Fatima" not in body and "Traoré" not in body


def test_the_supervisor_sees_the_access_log(login: Any, sam: Any, amina: Any, case: Case) -> None:
    login(amina).get(f"/cases/{case.pk}/")
    body = login(sam).get(f"/cases/{case.pk}/").content.decode()
    assert "Who opened or changed this case" in body
    assert "cases.case.viewed" in body


def test_it_moves_a_case_from_the_page(login: Any, amina: Any, case: Case) -> None:
    client = login(amina)
    response = client.post(f"/cases/{case.pk}/move/", {"to": "assessed", "version": case.version})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.ASSESSED


def test_a_stale_form_does_not_overwrite_a_newer_change(login: Any, amina: Any, case: Case) -> None:
    client = login(amina)
    stale_version = case.version
    client.post(f"/cases/{case.pk}/move/", {"to": "assessed", "version": stale_version})
    response = client.post(
        f"/cases/{case.pk}/move/",
        {"to": "paused", "reason": "Travelling", "version": stale_version},
        follow=True,
    )
    assert "changed by someone else" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.ASSESSED


def test_notes_keep_their_earlier_text(login: Any, amina: Any, case: Case) -> None:
    client = login(amina)
    today = timezone.localdate().isoformat()
    client.post(
        f"/cases/{case.pk}/notes/add/",
        {"text": "First visit.", "contact_type": "home_visit", "contact_on": today},
    )
    note = CaseNote.objects.get(case=case)
    response = client.post(
        f"/cases/{case.pk}/notes/{note.pk}/edit/",
        {
            "text": "First visit, mother present.",
            "contact_type": "home_visit",
            "contact_on": today,
            "version": note.version,
        },
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.text == "First visit, mother present." and note.version == 2
    assert [r.text for r in note.revisions.all()] == ["First visit."]
    page = client.get(f"/cases/{case.pk}/notes/{note.pk}/edit/").content.decode()
    assert "First visit." in page


def test_another_caseworker_cannot_edit_a_note(
    login: Any, amina: Any, sam: Any, omar: Any, case: Case
) -> None:
    note = services.add_note(
        case, by=amina, text="Private.", contact_type="phone", contact_on=timezone.localdate()
    )
    assert login(omar).get(f"/cases/{case.pk}/notes/{note.pk}/edit/").status_code == 404
    assert login(sam).get(f"/cases/{case.pk}/notes/{note.pk}/edit/").status_code == 200


def test_consent_can_be_recorded_and_withdrawn_but_not_deleted(
    login: Any, amina: Any, case: Case
) -> None:
    client = login(amina)
    today = timezone.localdate().isoformat()
    response = client.post(
        f"/cases/{case.pk}/consents/add/",
        {
            "consent_given_by": "client",
            "consent_receive_services": "on",
            "consent_share_for_referral": "on",
            "consent_recipients": "Hope Clinic",
            "consent_information": ["case_summary"],
            "consent_method": "verbal",
            "consent_given_on": today,
        },
    )
    assert response.status_code == 302, response.content.decode()
    consent = case.consents.order_by("-id").first()
    assert consent is not None
    assert [r.organisation_name for r in consent.recipients.all()] == ["Hope Clinic"]
    response = client.post(
        f"/cases/{case.pk}/consents/{consent.pk}/withdraw/",
        {"withdrawn_on": today, "reason": "Asked to stop"},
    )
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_on is not None
    assert case.consents.count() == 2


def test_the_timeline_is_one_bounded_read(
    case: Case, amina: Any, django_assert_max_num_queries: Any
) -> None:
    for number in range(20):
        services.add_note(
            case,
            by=amina,
            text=f"Note {number}",
            contact_type="phone",
            contact_on=timezone.localdate(),
        )
    services.transition_case(case, to=Status.ASSESSED, by=amina)
    # Transitions, consents, notes, and the corrections of the case and of its person.
    with django_assert_max_num_queries(6):
        events = case_timeline(case)
    assert len(events) == 20 + 3 + 1


def test_the_caseload_page_costs_the_same_for_25_or_5_cases(
    login: Any, amina: Any, register: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        register(amina)
    client = login(amina)
    client.get("/cases/")  # warm the session and key cache
    with django_assert_max_num_queries(12):
        response = client.get("/cases/")
    assert response.content.decode().count("/cases/") >= 25


def test_names_are_searched_over_post_only(login: Any, amina: Any, register: Any) -> None:
    register(amina, given_name="Zainab", family_name="Haidara")
    register(amina, given_name="Grace", family_name="Mensah")
    client = login(amina)
    body = client.post("/cases/", {"q": "zeinab haidara"}).content.decode()  # phonetic match
    assert "Zainab Haidara" in body and "Grace" not in body
    body = client.get("/cases/?q=Grace").content.decode()  # a GET never searches by name
    assert "Zainab Haidara" in body and "Grace Mensah" in body
