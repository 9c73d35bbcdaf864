"""Every (from, to) pair of the lifecycle: allowed moves write one row, the rest change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from casework.cases import lifecycle, services
from casework.cases.models import Case, ClosureReason, Status, Transition
from casework.core.errors import CaseworkError, Conflict, ConsentRequired, InvalidTransition


def _put_in(case: Case, status: str, *, previous: str = Status.ASSESSED) -> Case:
    """Place a case in `status` as history would have: paused/transferred remember the step left."""
    if status in lifecycle.RESUMABLE:
        assert case.caseworker is not None  # a registered case always has one
        Transition.objects.create(
            case=case,
            from_status=previous,
            to_status=status,
            occurred_at=case.created_at,
            by=case.caseworker,
        )
    Case.objects.filter(pk=case.pk).update(status=status)
    case.refresh_from_db()
    return case


@pytest.mark.parametrize(("current", "target"), lifecycle.all_pairs())
def test_it_allows_exactly_the_moves_in_the_table(
    case: Case, amina: Any, current: str, target: str
) -> None:
    case = _put_in(case, current)
    allowed = target in lifecycle.allowed_targets(current, resume_to=Status.ASSESSED)
    rows_before = Transition.objects.filter(case=case).count()
    version_before = case.version
    kwargs: dict[str, Any] = {"reason": "Client asked", "closure_reason": ClosureReason.NEEDS_MET}
    if allowed:
        services.transition_case(case, to=target, by=amina, **kwargs)
        case.refresh_from_db()
        assert case.status == target
        assert case.version == version_before + 1
        last = Transition.objects.filter(case=case).order_by("-id").first()
        assert last is not None
        assert (last.from_status, last.to_status, last.by_id) == (current, target, amina.pk)
    else:
        with pytest.raises(InvalidTransition):
            services.transition_case(case, to=target, by=amina, **kwargs)
        case.refresh_from_db()
        assert case.status == current
        assert case.version == version_before
        assert Transition.objects.filter(case=case).count() == rows_before


def test_it_refuses_to_leave_registration_without_consent(register: Any, amina: Any) -> None:
    case = register(amina, consent=False)
    with pytest.raises(ConsentRequired):
        services.transition_case(case, to=Status.ASSESSED, by=amina)
    case.refresh_from_db()
    assert case.status == Status.REGISTERED
    assert not Transition.objects.filter(case=case, to_status=Status.ASSESSED).exists()


def test_it_refuses_when_consent_was_withdrawn(case: Case, amina: Any) -> None:
    consent = case.consents.get()
    services.withdraw_consent(consent, by=amina, reason="Changed her mind")
    with pytest.raises(ConsentRequired):
        services.transition_case(case, to=Status.ASSESSED, by=amina)
    assert case.consents.count() == 1  # kept, never deleted


def test_a_caregivers_consent_counts_only_with_the_childs_assent(register: Any, amina: Any) -> None:
    case = register(amina, age=12)
    consent = case.consents.get()
    assert consent.given_by == "caregiver"
    assert services.has_service_consent(case)
    case.consents.update(child_assent=False)
    assert not services.has_service_consent(case)


def test_it_says_why_in_the_users_language(case: Case, amina: Any) -> None:
    with translation.override("fr"), pytest.raises(InvalidTransition) as error:
        services.transition_case(case, to=Status.IN_FOLLOW_UP, by=amina)
    assert "ne peut pas" in str(error.value.message)


def test_a_closure_needs_a_reason_and_a_pause_needs_an_explanation(case: Case, amina: Any) -> None:
    with pytest.raises(CaseworkError) as error:
        services.transition_case(case, to=Status.CLOSED, by=amina)
    assert error.value.field == "closure_reason"
    with pytest.raises(CaseworkError) as error:
        services.transition_case(case, to=Status.PAUSED, by=amina, reason="  ")
    assert error.value.field == "reason"


def test_a_paused_case_resumes_where_it_stopped(case: Case, amina: Any) -> None:
    services.transition_case(case, to=Status.ASSESSED, by=amina)
    services.transition_case(case, to=Status.PAUSED, by=amina, reason="Client travelling")
    assert services.available_moves(case) == [Status.ASSESSED, Status.TRANSFERRED, Status.CLOSED]
    services.transition_case(case, to=Status.ASSESSED, by=amina)
    assert case.status == Status.ASSESSED


def test_closing_and_reopening_keep_the_history(case: Case, amina: Any) -> None:
    services.transition_case(
        case, to=Status.CLOSED, by=amina, closure_reason=ClosureReason.RELOCATED
    )
    case.refresh_from_db()
    assert case.closed_on is not None and case.next_due_at is None
    services.transition_case(case, to=Status.REOPENED, by=amina, reason="Came back")
    case.refresh_from_db()
    assert case.closed_on is None and case.closure_reason == ""
    assert list(case.transitions.values_list("to_status", flat=True)) == [
        "identified",
        "registered",
        "closed",
        "reopened",
    ]


def test_it_does_not_lose_an_update(case: Case, amina: Any, sam: Any) -> None:
    """Two people open the same case; the second save is refused, not silently applied."""
    seen_by_amina = Case.objects.get(pk=case.pk)
    seen_by_sam = Case.objects.get(pk=case.pk)
    services.transition_case(
        seen_by_amina, to=Status.ASSESSED, by=amina, expected_version=seen_by_amina.version
    )
    with pytest.raises(Conflict):
        services.transition_case(
            seen_by_sam,
            to=Status.CLOSED,
            by=sam,
            closure_reason="other",
            expected_version=seen_by_sam.version,
        )
    case.refresh_from_db()
    assert case.status == Status.ASSESSED
