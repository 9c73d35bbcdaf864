"""What a lifecycle move needs besides being allowed, written out from the seeds rather than read
from casework/cases/lifecycle.py:

- consent to services (the client's, or a caregiver's with the child's assent) to go on to
  assessment, the plan or follow-up: "a case cannot leave registration without consent to
  services"; registering, pausing, transferring, closing and reopening need none;
- a reason to pause, transfer or reopen; the working steps need none, and closure has its own;
- only a paused or transferred case goes back to the step it left: a case that reached any other
  step through real moves may go only where the seeds say.
"""

from __future__ import annotations

from typing import Any

import pytest

from casework.cases import services
from casework.cases.models import Case, ClosureReason, Transition
from casework.cases.tests.test_lifecycle_moves import ALLOWED, _put_in
from casework.core.errors import CaseworkError, ConsentRequired

NEEDS_CONSENT = {"assessed", "planned", "in_follow_up"}
NEEDS_REASON = {"paused", "transferred", "reopened"}


def _move(case: Case, by: Any, to: str, *, reason: str = "Asked") -> None:
    services.transition_case(
        case, to=to, by=by, reason=reason, closure_reason=ClosureReason.NEEDS_MET
    )
    case.refresh_from_db()


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_only_assessment_plan_and_follow_up_need_consent_to_services(
    register: Any, amina: Any, current: str, target: str
) -> None:
    case = _put_in(register(amina, consent=False), current)
    if target in NEEDS_CONSENT:
        with pytest.raises(ConsentRequired):
            _move(case, amina, target)
        case.refresh_from_db()
        assert case.status == current
        assert not Transition.objects.filter(case=case, to_status=target).exists()
    else:
        _move(case, amina, target)
        assert case.status == target


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_only_pausing_transferring_and_reopening_need_a_reason(
    case: Case, amina: Any, current: str, target: str
) -> None:
    case = _put_in(case, current)
    if target in NEEDS_REASON:
        with pytest.raises(CaseworkError) as refused:
            _move(case, amina, target, reason="   ")
        assert refused.value.field == "reason"
        case.refresh_from_db()
        assert case.status == current
    else:
        _move(case, amina, target, reason="")
        assert case.status == target


def _expected_moves(status: str) -> list[str]:
    return sorted(target for current, target in ALLOWED if current == status)


def test_a_case_that_got_somewhere_by_real_moves_goes_only_where_the_seeds_say(
    case: Case, amina: Any
) -> None:
    # Forward, replanning, closure, reopening and back to work: no step but a pause or a
    # transfer sends the case back to where it came from.
    path = ["assessed", "planned", "in_follow_up", "planned", "in_follow_up", "closed"]
    path += ["reopened", "planned", "closed", "reopened", "in_follow_up", "closed", "reopened"]
    path += ["assessed"]
    assert case.status == "registered"
    for step in path:
        _move(case, amina, step)
        assert sorted(services.available_moves(case)) == _expected_moves(step), step


def test_a_paused_case_offers_the_step_it_left_among_its_moves(case: Case, amina: Any) -> None:
    _move(case, amina, "assessed")
    _move(case, amina, "paused")
    assert sorted(services.available_moves(case)) == sorted(
        [*_expected_moves("paused"), "assessed"]
    )
    _move(case, amina, "assessed")
    assert sorted(services.available_moves(case)) == _expected_moves("assessed")
