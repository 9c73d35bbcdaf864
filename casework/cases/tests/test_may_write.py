"""`access.may_write` reads the write rule off a loaded case: it must agree with the gate's query."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from casework.cases import access
from casework.cases.models import Case, CaseGrant


def test_may_write_agrees_with_the_gates_query_for_every_user_and_case(
    amina: Any,
    omar: Any,
    sam: Any,
    olga: Any,
    paul: Any,
    mei: Any,
    priya: Any,
    adam: Any,
    xena: Any,
    register: Any,
) -> None:
    own = register(amina)
    southern = register(omar)
    granted_write = register(omar)
    granted_read = register(omar)
    revoked = register(omar)
    elsewhere = register(xena)
    CaseGrant.objects.create(
        case=granted_write, user=amina, reason="cover", can_write=True, granted_by=sam
    )
    CaseGrant.objects.create(case=granted_read, user=amina, reason="referral", granted_by=sam)
    CaseGrant.objects.create(
        case=revoked,
        user=amina,
        reason="cover",
        can_write=True,
        granted_by=sam,
        revoked_at=timezone.now(),
    )
    # A grant to a case of another agency never opens it.
    CaseGrant.objects.create(
        case=elsewhere, user=amina, reason="cover", can_write=True, granted_by=sam
    )
    cases = [own, southern, granted_write, granted_read, revoked, elsewhere]
    users = [amina, omar, sam, olga, paul, mei, priya, adam, xena]
    writes = set()
    for user in users:
        for case in cases:
            loaded = Case.objects.get(pk=case.pk)
            expected = access.writable_cases(user).filter(pk=case.pk).exists()
            assert access.may_write(user, loaded) == expected, (user.username, case.pk)
            if expected:
                writes.add((user.username, case.pk))
    # The table above is not all "no": each kind of writer was exercised.
    assert ("amina", own.pk) in writes and ("amina", granted_write.pk) in writes
    assert ("sam", own.pk) in writes and ("olga", southern.pk) in writes
    assert ("amina", granted_read.pk) not in writes and ("amina", revoked.pk) not in writes
    assert ("amina", elsewhere.pk) not in writes and ("paul", own.pk) not in writes
