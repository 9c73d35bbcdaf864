"""The case gate, role by role, written out (casework/cases/access.py): which cases each named
user may read and which they may change, what the audit trail keeps of a read and of a refusal,
and persons seen through their cases."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.cases import access
from casework.cases.models import CaseGrant

MISSING = 987654


@pytest.fixture
def world(register: Any, amina: Any, omar: Any, sam: Any, xena: Any) -> dict[str, Any]:
    """Amina's own case, omar's (the other team), omar's cases shared with amina to write, to
    read, and once (revoked), and a case of xena's agency shared with amina."""
    cases = {
        "own": register(amina),
        "southern": register(omar),
        "granted_write": register(omar),
        "granted_read": register(omar),
        "revoked": register(omar),
        "elsewhere": register(xena),
    }
    grant = dict(reason="cover", granted_by=sam)
    CaseGrant.objects.create(case=cases["granted_write"], user=amina, can_write=True, **grant)
    CaseGrant.objects.create(case=cases["granted_read"], user=amina, **grant)
    CaseGrant.objects.create(
        case=cases["revoked"], user=amina, can_write=True, revoked_at=timezone.now(), **grant
    )
    CaseGrant.objects.create(case=cases["elsewhere"], user=amina, can_write=True, **grant)
    return cases


SOUTH = {"southern", "granted_write", "granted_read", "revoked"}
AGENCY = {"own"} | SOUTH
# (may read, may change), by user.
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "amina": ({"own", "granted_write", "granted_read"}, {"own", "granted_write"}),
    "omar": (SOUTH, SOUTH),
    "sam": ({"own"}, {"own"}),
    "olga": (SOUTH, SOUTH),
    "paul": (AGENCY, set()),  # the programme manager reads every case of the agency, changes none
    "mei": (set(), set()),
    "priya": (set(), set()),
    "adam": (set(), set()),
    "dana": (set(), set()),
    "xena": ({"elsewhere"}, {"elsewhere"}),
}


def test_each_role_reads_and_changes_exactly_its_cases(
    world: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    names = {case.pk: name for name, case in world.items()}
    for username, (reads, writes) in EXPECTED.items():
        user = request.getfixturevalue(username)
        visible = {names[pk] for pk in access.visible_cases(user).values_list("pk", flat=True)}
        writable = {names[pk] for pk in access.writable_cases(user).values_list("pk", flat=True)}
        assert (visible, writable) == (reads, writes), username
        for name, case in world.items():
            assert access.may_write(user, case) == (name in writes), (username, name)


def test_a_supervisor_without_a_team_sees_no_case(world: dict[str, Any], sam: Any) -> None:
    sam.team = None
    assert not access.visible_cases(sam).exists()
    assert not access.may_write(sam, world["own"])


def test_a_deactivated_user_or_a_visitor_sees_nothing(world: dict[str, Any], amina: Any) -> None:
    amina.is_active = False
    for user in (amina, None):
        assert not access.visible_cases(user).exists()
        assert not access.may_write(user, world["own"])


def test_a_read_is_audited_a_write_is_not_unless_the_file_is_shown(
    world: dict[str, Any], amina: Any
) -> None:
    own = world["own"]
    viewed = AuditEntry.objects.filter(action="cases.case.viewed", actor=amina, case_id=own.pk)
    before = viewed.count()
    assert access.get_case_for_user(amina, own.pk) == own
    assert viewed.count() == before + 1
    access.get_case_for_user(amina, own.pk, write=True)
    assert viewed.count() == before + 1
    access.get_case_for_user(amina, own.pk, write=True, shown=True)
    assert viewed.count() == before + 2
    access.get_case_for_user(amina, own.pk, shown=False)
    assert viewed.count() == before + 2


def test_a_refused_case_is_audited_with_the_case_asked_for(
    world: dict[str, Any], amina: Any
) -> None:
    for case_id, write in ((world["southern"].pk, False), (world["granted_read"].pk, True)):
        with pytest.raises(Http404):
            access.get_case_for_user(amina, case_id, write=write)
    with pytest.raises(Http404):
        access.get_case_for_user(amina, "not-a-number")
    refused = AuditEntry.objects.filter(action="cases.case.denied", actor=amina).order_by("id")
    assert [(entry.case_id, entry.data) for entry in refused] == [
        (world["southern"].pk, {"write": False}),
        (world["granted_read"].pk, {"write": True}),
        (None, {"write": False}),
    ]
    assert {entry.outcome for entry in refused} == {"denied"}


def test_a_person_is_seen_through_their_cases(world: dict[str, Any], amina: Any) -> None:
    own, granted_read = world["own"], world["granted_read"]
    viewed = AuditEntry.objects.filter(action="people.person.viewed", actor=amina)
    assert access.get_person_for_user(amina, own.person_id) == own.person
    assert viewed.count() == 1
    assert access.get_person_for_user(amina, own.person_id, write=True) == own.person
    assert viewed.count() == 1  # a correction form is audited by its service
    assert access.get_person_for_user(amina, granted_read.person_id) == granted_read.person
    for person_id, write in ((granted_read.person_id, True), (world["southern"].person_id, False)):
        with pytest.raises(Http404):
            access.get_person_for_user(amina, person_id, write=write)
    with pytest.raises(Http404):
        access.get_person_for_user(amina, MISSING)
    refused = AuditEntry.objects.filter(action="people.person.denied", actor=amina).order_by("id")
    assert [entry.data for entry in refused] == [
        {"person": granted_read.person_id, "write": True},
        {"person": world["southern"].person_id, "write": False},
        {"person": MISSING, "write": False},
    ]


@pytest.mark.parametrize("role", ["programme_manager", "me_officer", "data_protection_officer"])
def test_a_team_does_not_make_a_supervisor_of_another_role(
    role: str, make_user: Any, agency: Any, north: Any, case: Any
) -> None:
    """Team-wide access is the supervisor's: another role attached to the team gets none (a
    programme manager still reads every case of the agency, and writes none)."""
    from casework.cases import access as case_access

    member = make_user(f"{role}-north", agency=agency, team=north, role=role)
    writable = case_access.writable_cases(member)
    assert not writable.filter(pk=case.pk).exists()
    assert case_access.may_write(member, case) is False
    readable = case_access.visible_cases(member).filter(pk=case.pk).exists()
    assert readable is (role == "programme_manager")


@pytest.mark.parametrize("read_first", [1, 2, 3, 1000])
def test_a_caseworker_with_many_grants_loses_none_of_them(
    world: dict[str, Any], amina: Any, monkeypatch: pytest.MonkeyPatch, read_first: int
) -> None:
    """Amina holds three live grants (two of them to write). Up to GRANTS_READ_FIRST they are read
    into the filter; past it the database joins them. Either way, the same cases."""
    monkeypatch.setattr(access, "GRANTS_READ_FIRST", read_first)
    names = {case.pk: name for name, case in world.items()}
    reads, writes = EXPECTED["amina"]
    for queryset, expected, grants in (
        (access.visible_cases(amina), reads, 3),
        (access.writable_cases(amina), writes, 2),
    ):
        assert {names[pk] for pk in queryset.values_list("pk", flat=True)} == expected
        joined = "IN (SELECT" in str(queryset.query).upper()
        assert joined == (grants > read_first), (read_first, grants)
