"""The referral gate, role by role (casework/referrals/access.py): who reads a referral and who
answers or changes it, what the audit trail keeps of each read and refusal, and who uses the
service directory."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from casework.audit.models import AuditEntry
from casework.referrals import access
from casework.referrals.models import Referral

MISSING = 987654

# (may read, may answer or change), by user.
EXPECTED = {
    "amina": (True, True),  # the case's caseworker
    "sam": (True, True),  # her supervisor
    "paul": (True, False),  # the programme manager reads
    "priya": (True, True),  # the partner it was sent to
    "omar": (False, False),
    "olga": (False, False),
    "mei": (False, False),
    "adam": (False, False),
    "dana": (False, False),
    "xena": (False, False),
    "pablo": (False, False),  # a partner it was not sent to
}


def test_each_role_reads_and_changes_exactly_what_it_may(
    referral: Referral, request: pytest.FixtureRequest
) -> None:
    for username, (reads, writes) in EXPECTED.items():
        user = request.getfixturevalue(username)
        for write, expected in ((False, reads), (True, writes)):
            found = access.visible_referrals(user, write=write).filter(pk=referral.pk).exists()
            assert found == expected, (username, write)


def test_a_partner_without_the_permission_to_answer_sees_nothing(
    referral: Referral, priya: Any
) -> None:
    priya.role = "none"
    assert not access.visible_referrals(priya).exists()
    priya.role = "partner"
    priya.is_active = False
    assert not access.visible_referrals(priya).exists()


def test_every_read_is_audited_against_the_case_and_says_who_read(
    referral: Referral, amina: Any, priya: Any
) -> None:
    access.get_referral_for_user(priya, referral.pk)
    access.get_referral_for_user(amina, referral.pk)
    access.get_referral_for_user(amina, referral.pk, write=True)  # its service audits a change
    viewed = AuditEntry.objects.filter(action="referrals.referral.viewed").order_by("id")
    assert [(entry.actor, entry.case_id, entry.data) for entry in viewed] == [
        (priya, referral.case_id, {"partner": True}),
        (amina, referral.case_id, {"partner": False}),
    ]


def test_a_refusal_is_audited_with_the_referral_asked_for(
    referral: Referral, paul: Any, omar: Any
) -> None:
    with pytest.raises(Http404):
        access.get_referral_for_user(paul, referral.pk, write=True)
    with pytest.raises(Http404):
        access.get_referral_for_user(omar, MISSING)
    with pytest.raises(Http404):
        access.get_referral_for_user(AnonymousUser(), referral.pk)
    refused = AuditEntry.objects.filter(action="referrals.referral.denied").order_by("id")
    assert [(entry.actor, entry.data) for entry in refused] == [
        (paul, {"referral": referral.pk, "write": True}),
        (omar, {"referral": MISSING, "write": False}),
        (None, {"referral": referral.pk, "write": False}),
    ]


def test_the_directory_is_for_staff_who_plan_oversee_or_keep_it(
    request: pytest.FixtureRequest,
) -> None:
    users = ["amina", "sam", "paul", "adam", "mei", "priya", "dana"]
    allowed = {name for name in users if access.may_use_directory(request.getfixturevalue(name))}
    assert allowed == {"amina", "sam", "paul", "adam"}
    assert not access.may_use_directory(AnonymousUser()) and not access.may_use_directory(None)
    access.require_directory(request.getfixturevalue("amina"))
    for name in ("mei", "priya"):
        with pytest.raises(Http404):
            access.require_directory(request.getfixturevalue(name))


def test_without_saying_so_the_gate_is_asked_for_reading(referral: Referral, paul: Any) -> None:
    assert access.visible_referrals(paul).filter(pk=referral.pk).exists()
