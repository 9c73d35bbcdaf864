"""Sent → accepted / declined → service delivered, or cancelled: each change a row, others refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from casework.audit.models import AuditEntry
from casework.core.errors import Conflict, InvalidTransition, NotAllowed
from casework.referrals.models import Referral, ReferralEvent
from casework.referrals.services import move_referral

S = Referral.Status


def _statuses(referral: Referral) -> list[str]:
    return list(referral.events.values_list("status", flat=True))


def test_the_partner_accepts_then_records_the_service_delivered(
    referral: Referral, priya: Any
) -> None:
    move_referral(referral, to=S.ACCEPTED, by=priya, comment="Appointment on Monday 10:00.")
    assert referral.status == S.ACCEPTED and referral.answered_at is not None
    move_referral(referral, to=S.DELIVERED, by=priya)
    referral.refresh_from_db()
    assert referral.status == S.DELIVERED
    assert _statuses(referral) == ["sent", "accepted", "delivered"]
    accepted = referral.events.get(status=S.ACCEPTED)
    assert accepted.by == priya and accepted.comment == "Appointment on Monday 10:00."
    assert AuditEntry.objects.filter(
        action="referrals.referral.accepted", actor=priya, case_id=referral.case_id
    ).exists()
    assert AuditEntry.objects.filter(action="referrals.referral.delivered").exists()


def test_the_partner_declines(referral: Referral, priya: Any) -> None:
    move_referral(referral, to=S.DECLINED, by=priya, comment="No capacity this month.")
    referral.refresh_from_db()
    assert referral.status == S.DECLINED and referral.answered_at is not None
    assert _statuses(referral) == ["sent", "declined"]


def test_the_caseworker_cancels_a_sent_or_accepted_referral(
    referral: Referral, amina: Any, priya: Any, case: Any, clinic_care: Any, refer: Any
) -> None:
    move_referral(referral, to=S.CANCELLED, by=amina, comment="Client moved away.")
    assert referral.status == S.CANCELLED
    second = refer(case, amina, clinic_care)
    move_referral(second, to=S.ACCEPTED, by=priya)
    move_referral(second, to=S.CANCELLED, by=amina)
    assert _statuses(second) == ["sent", "accepted", "cancelled"]


def test_the_caseworker_records_an_answer_given_by_phone(referral: Referral, amina: Any) -> None:
    move_referral(referral, to=S.ACCEPTED, by=amina, comment="Confirmed by phone.")
    assert referral.events.get(status=S.ACCEPTED).by == amina


@pytest.mark.parametrize(
    ("path", "invalid"),
    [
        ([], S.DELIVERED),  # not accepted yet
        ([], S.SENT),
        ([S.DECLINED], S.ACCEPTED),
        ([S.DECLINED], S.CANCELLED),
        ([S.ACCEPTED], S.DECLINED),
        ([S.ACCEPTED], S.ACCEPTED),
        ([S.ACCEPTED, S.DELIVERED], S.CANCELLED),
        ([S.CANCELLED], S.ACCEPTED),
        ([], "lost"),
    ],
)
def test_an_invalid_change_is_refused_and_changes_nothing(
    referral: Referral, amina: Any, path: list[str], invalid: str
) -> None:
    for status in path:
        move_referral(referral, to=status, by=amina)
    before = ReferralEvent.objects.count()
    with pytest.raises(InvalidTransition):
        move_referral(referral, to=invalid, by=amina)
    referral.refresh_from_db()
    assert referral.status == (path[-1] if path else S.SENT)
    assert ReferralEvent.objects.count() == before


def test_only_the_sending_side_cancels(referral: Referral, priya: Any) -> None:
    with pytest.raises(NotAllowed):
        move_referral(referral, to=S.CANCELLED, by=priya)
    assert referral.status == S.SENT


def test_another_organisations_partner_cannot_answer(referral: Referral, pablo: Any) -> None:
    with pytest.raises(NotAllowed):
        move_referral(referral, to=S.ACCEPTED, by=pablo)


@pytest.mark.parametrize("name", ["omar", "mei", "adam", "xena", "paul"])
def test_staff_who_cannot_change_the_case_cannot_move_its_referral(
    referral: Referral, request: pytest.FixtureRequest, name: str
) -> None:
    with pytest.raises(NotAllowed):
        move_referral(referral, to=S.ACCEPTED, by=request.getfixturevalue(name))


def test_two_answers_at_once_cannot_both_win(referral: Referral, priya: Any, amina: Any) -> None:
    stale = Referral.objects.get(pk=referral.pk)
    move_referral(referral, to=S.DECLINED, by=priya)
    with pytest.raises(Conflict):
        move_referral(stale, to=S.ACCEPTED, by=amina)
    assert _statuses(referral) == ["sent", "declined"]


def test_comments_are_encrypted_at_rest(referral: Referral, priya: Any) -> None:
    move_referral(referral, to=S.DECLINED, by=priya, comment="Waiting list full")
    with connection.cursor() as cursor:
        cursor.execute("SELECT comment FROM referrals_referralevent WHERE status = 'declined'")
        (raw,) = cursor.fetchone()
    assert "Waiting" not in raw and raw.startswith("cw1$")
