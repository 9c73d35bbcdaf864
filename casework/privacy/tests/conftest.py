"""Fixtures of the data-protection officer's desk: an officer of the other agency, reads of case
files as the gate writes them, a client's requests, and a case with a history worth asking for."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from casework.cases import access as case_access
from casework.cases import relationships
from casework.cases import services as case_services
from casework.people import services as people
from casework.privacy import services
from casework.privacy.models import DataRequest


@pytest.fixture
def olaf(make_user: Any, other_agency: Any) -> Any:
    """The data-protection officer of xena's agency."""
    return make_user("olaf", agency=other_agency, role="data_protection_officer")


@pytest.fixture
def deputy(make_user: Any, agency: Any) -> Any:
    """A second data-protection officer of dana's agency: who checks the identity of the
    requesters dana records (one officer never does both)."""
    return make_user("deputy", agency=agency, role="data_protection_officer")


@pytest.fixture
def read() -> Callable[..., None]:
    """Open case files through the gate, as a page does (each read audited there)."""

    def open_files(user: Any, *cases: Any) -> None:
        for case in cases:
            case_access.get_case_for_user(user, case.pk)

    return open_files


@pytest.fixture
def receive(dana: Any, deputy: Any) -> Callable[..., DataRequest]:
    """A request recorded by dana; `checked` also records the identity check, by the deputy."""

    def make(
        kind: str,
        identifier: str = "",
        *,
        received_on: datetime.date | None = None,
        checked: bool = True,
        by: Any = None,
    ) -> DataRequest:
        request = services.receive_request(
            by=by or dana,
            kind=kind,
            requested_by="subject",
            received_on=received_on or timezone.localdate(),
            identifier=identifier,
        )
        if checked:
            request = services.confirm_identity(request, by=deputy)
        return request

    return make


@pytest.fixture
def full_case(case: Any, amina: Any) -> Any:
    """Amina's case of Fatima Traoré with a relative, a note naming her, a correction, and a
    withdrawn consent: what an access request must gather (and redact)."""
    relationships.add_relative(
        case,
        by=amina,
        details=relationships.RelativeDetails(
            given_name="Moussa", family_name="Keita", kind="partner", phone="+223 70 00 00 01"
        ),
    )
    case_services.add_note(
        case,
        by=amina,
        text="Fatima says Moussa Keita threatened her; Moussa knows the shelter address.",
        contact_type="office",
    )
    details = people.details_of(case.person)
    people.correct_person(
        case.person,
        by=amina,
        details=dataclasses.replace(details, phone="+223 76 12 34 56"),
        reason="Fatima gave her new number",
        case_id=case.pk,
    )
    consent = case.consents.get()
    case_services.withdraw_consent(
        consent, by=amina, reason="Fatima no longer wants referrals for now"
    )
    case.refresh_from_db()
    return case
