"""Rectification goes through the correction flow (the caseworker corrects the record; the
officer links the corrections that answered the request, seeing which fields changed, never their
values); erasure applies retention's anonymisation to the person now, under its rules (no case of
theirs still open), audited."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.cases import services as case_services
from casework.cases.models import CaseNote, ClosureReason, Status
from casework.core.errors import CaseworkError
from casework.people import services as people
from casework.people.models import Person, PersonNameIndex, Relationship
from casework.privacy import services
from casework.privacy.models import DataRequest


def _correct_phone(case: Any, by: Any, phone: str) -> Any:
    details = people.details_of(case.person)
    return people.correct_person(
        case.person,
        by=by,
        details=dataclasses.replace(details, phone=phone),
        reason="The client asked for the correction",
        case_id=case.pk,
    )


def test_the_officer_links_the_correction_that_answered_the_request(
    login: Any, receive: Any, case: Any, register: Any, amina: Any, dana: Any
) -> None:
    request = receive("rectification", case.person.reference)
    revision = _correct_phone(case, amina, "+223 66 00 00 00")
    other = _correct_phone(register(amina, given_name="Awa"), amina, "+223 66 11 11 11")
    client = login(dana)
    page = client.get(f"/privacy/requests/{request.pk}/").content.decode()
    assert "phone" in page and "amina" in page and "+223 66" not in page  # fields, not values
    form = client.get(f"/privacy/requests/{request.pk}/corrections/").content.decode()
    assert f"person:{revision.pk}" in form and f"person:{other.pk}" not in form
    refused = client.post(
        f"/privacy/requests/{request.pk}/corrections/", {"corrections": [f"person:{other.pk}"]}
    )
    assert refused.status_code == 400
    with_link = client.post(
        f"/privacy/requests/{request.pk}/corrections/", {"corrections": [f"person:{revision.pk}"]}
    )
    assert with_link.status_code == 302
    assert list(request.person_revisions.all()) == [revision]
    linked = AuditEntry.objects.get(action="privacy.rectification.linked")
    assert linked.data == {"person_revisions": [revision.pk], "case_revisions": []}
    closed = client.post(f"/privacy/requests/{request.pk}/close/", {"outcome": "completed"})
    assert closed.status_code == 302
    request.refresh_from_db()
    assert request.outcome == DataRequest.Outcome.COMPLETED


def test_erasure_waits_until_every_case_is_closed(
    login: Any, receive: Any, case: Any, amina: Any, dana: Any
) -> None:
    case_services.add_note(
        case, by=amina, text="Fatima came with her sister.", contact_type="office"
    )
    request = receive("erasure", case.reference)
    client = login(dana)
    page = client.get(f"/privacy/requests/{request.pk}/").content.decode()
    assert "A case of theirs is not closed: it must be closed first." in page
    blocked = client.post(f"/privacy/requests/{request.pk}/erase/", {"confirm": "on"})
    assert blocked.status_code == 400
    assert Person.objects.get(pk=case.person_id).given_name == "Fatima"

    case_services.transition_case(
        case, to=Status.CLOSED, by=amina, closure_reason=ClosureReason.CLIENT_REQUEST
    )
    client.post(f"/privacy/requests/{request.pk}/erase/", {"confirm": ""})
    assert Person.objects.get(pk=case.person_id).anonymised_at is None
    erased = client.post(f"/privacy/requests/{request.pk}/erase/", {"confirm": "on"})
    assert erased.status_code == 302
    person = Person.objects.get(pk=case.person_id)
    assert (person.given_name, person.family_name, person.anonymised_at is not None) == (
        "",
        "",
        True,
    )
    assert CaseNote.objects.get(case=case).text == ""
    assert not PersonNameIndex.objects.filter(person=person).exists()
    assert person.sex == "female"  # what indicators count stays
    entry = AuditEntry.objects.get(action="privacy.erasure.done")
    assert entry.actor == dana and entry.data == {"person": person.pk, "people": 1}
    request.refresh_from_db()
    assert request.erased_at is not None
    assert services.close_request(request, by=dana, outcome="completed").status == "closed"


def test_erasure_needs_the_identity_checked(receive: Any, case: Any, amina: Any, dana: Any) -> None:
    case_services.transition_case(
        case, to=Status.CLOSED, by=amina, closure_reason=ClosureReason.CLIENT_REQUEST
    )
    request = receive("erasure", case.reference, checked=False)
    with pytest.raises(CaseworkError) as refused:
        services.erase_person(request, by=dana)
    assert refused.value.code == "identity_not_checked"
    assert Person.objects.get(pk=case.person_id).anonymised_at is None


def test_erasure_looks_at_its_blockers_again_on_locked_rows(
    monkeypatch: pytest.MonkeyPatch,
    receive: Any,
    case: Any,
    register: Any,
    amina: Any,
    dana: Any,
) -> None:
    """The page showed no blocker; a moment before the erasure locks its rows, the person becomes
    the relative of someone whose case is open. The service finds it on the locked rows."""
    case_services.transition_case(
        case, to=Status.CLOSED, by=amina, closure_reason=ClosureReason.CLIENT_REQUEST
    )
    request = receive("erasure", case.reference)
    assert services.erasure_blockers(case.person) == []
    locking = services.lock_still_due

    def meanwhile(people: list[int], cutoff: Any) -> list[int]:
        sister = register(amina, given_name="Awa")
        Relationship.objects.create(
            person=sister.person,
            relative=case.person,
            kind=Relationship.Kind.SIBLING,
            recorded_by=amina,
            recorded_at=timezone.now(),
        )
        return locking(people, cutoff)

    monkeypatch.setattr(services, "lock_still_due", meanwhile)
    with pytest.raises(CaseworkError) as blocked:
        services.erase_person(request, by=dana)
    assert blocked.value.code == "erasure_blocked"
    assert Person.objects.get(pk=case.person_id).anonymised_at is None
