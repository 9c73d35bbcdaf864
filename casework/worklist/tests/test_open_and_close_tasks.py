"""Tasks are rows opened and closed by services; the case's next due date follows them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from casework.cases import services as case_services
from casework.cases.models import Status
from casework.core.errors import CaseworkError
from casework.worklist import services
from casework.worklist.models import Task

HOUR = datetime.timedelta(hours=1)


def test_registration_puts_the_assessment_on_the_worklist(register: Any, amina: Any) -> None:
    before = timezone.now()
    case = register(amina, risk_level="")  # registration calls on_case_registered itself
    task = services.on_case_registered(case)
    assert task is not None and task.kind == Task.Kind.ASSESSMENT_DUE
    assert before + 120 * HOUR <= task.due_at <= timezone.now() + 120 * HOUR
    assert services.on_case_registered(case) == task  # once
    case.refresh_from_db()
    assert case.next_due_at == task.due_at


def test_a_risk_known_at_registration_sets_the_assessment_due(register: Any, amina: Any) -> None:
    case = register(amina, risk_level="high")
    task = services.on_case_registered(case)
    assert task is not None
    assert task.due_at - task.created_at < 49 * HOUR


def test_a_case_only_identified_gets_no_task(register: Any, amina: Any, programme: Any) -> None:
    from casework.cases.services import CaseDetails, PersonDetails, register_case

    case = register_case(
        by=amina,
        person=PersonDetails(given_name="Awa"),
        details=CaseDetails(programme=programme),
        consent=None,
        register=False,
    )
    assert case.status == Status.IDENTIFIED
    assert services.on_case_registered(case) is None


def test_tasks_per_source_are_separate(case: Any) -> None:
    """Referrals open one task each (e.g. referral_overdue with source=referral)."""
    soon = timezone.now() + HOUR
    first = services.open_task(case, kind="referral_overdue", due_at=soon, subject="referral:1")
    second = services.open_task(case, kind="referral_overdue", due_at=soon, subject="referral:2")
    again = services.open_task(
        case, kind="referral_overdue", due_at=soon + HOUR, subject="referral:1"
    )
    assert first.pk != second.pk and again.pk == first.pk
    assert Task.objects.get(pk=first.pk).due_at == soon + HOUR


def test_the_open_task_keyword_form_used_by_other_apps(case: Any) -> None:
    task = services.open_task(case=case, kind="assessment_due", due_at=timezone.now() + HOUR)
    assert task.status == Task.Status.OPEN


def test_closing_tasks_moves_the_next_due_date(case: Any) -> None:
    early = timezone.now() + HOUR
    late = timezone.now() + 10 * HOUR
    services.open_task(case, kind="plan_due", due_at=early)
    services.open_task(case, kind="follow_up_due", due_at=late)
    case.refresh_from_db()
    assert case.next_due_at == early
    assert services.close_tasks(case, kinds=["plan_due"]) == 1
    case.refresh_from_db()
    assert case.next_due_at == late
    services.close_tasks(case, kinds=["follow_up_due"])
    case.refresh_from_db()
    assert case.next_due_at is None


def test_a_rescheduled_task_is_no_longer_overdue(case: Any) -> None:
    task = services.open_task(case, kind="plan_due", due_at=timezone.now() - HOUR)
    services.mark_overdue()
    task.refresh_from_db()
    assert task.overdue_at is not None
    services.open_task(case, kind="plan_due", due_at=timezone.now() + HOUR)
    task.refresh_from_db()
    assert task.overdue_at is None


def test_a_person_marks_a_task_done(case: Any, amina: Any) -> None:
    task = services.open_task(case, kind="plan_due", due_at=timezone.now() + HOUR)
    services.complete_task(task, by=amina)
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.closed_by == amina
    with pytest.raises(CaseworkError):
        services.complete_task(task, by=amina)


def test_closing_a_case_cancels_its_tasks(case: Any, amina: Any) -> None:
    services.open_task(case, kind="plan_due", due_at=timezone.now() + HOUR)
    case_services.transition_case(case, to=Status.CLOSED, by=amina, closure_reason="other")
    services.on_case_closed(case, by=amina)
    assert set(Task.objects.filter(case=case).values_list("status", flat=True)) == {
        Task.Status.CANCELLED
    }


def test_unknown_kinds_are_refused(case: Any) -> None:
    with pytest.raises(CaseworkError):
        services.open_task(case, kind="buy_milk", due_at=timezone.now())


def test_a_source_record_names_the_task(case: Any) -> None:
    """How referrals call it: open_task(case, kind=..., due_at=..., source=referral)."""
    consent = case.consents.get()
    task = services.open_task(case, kind="referral_overdue", due_at=timezone.now(), source=consent)
    assert task.subject == f"cases.consent:{consent.pk}"
    assert services.close_tasks(case, kinds=["referral_overdue"], source=consent) == 1


def test_a_follow_up_that_asks_for_a_reassessment_puts_it_on_the_worklist(
    case: Any, amina: Any
) -> None:
    """The case announces the follow-up (follow_up_recorded); the worklist reacts."""
    from casework.cases import workflow

    Task.objects.filter(case=case, kind=Task.Kind.ASSESSMENT_DUE).update(status=Task.Status.DONE)
    workflow.record_follow_up(case, by=amina, service_received="yes")
    assert not Task.objects.filter(
        case=case, kind=Task.Kind.ASSESSMENT_DUE, status=Task.Status.OPEN
    ).exists()
    follow_up = Task.objects.get(case=case, kind=Task.Kind.FOLLOW_UP_DUE, status=Task.Status.OPEN)

    workflow.record_follow_up(case, by=amina, reassessment_needed=True)
    task = Task.objects.get(case=case, kind=Task.Kind.ASSESSMENT_DUE, status=Task.Status.OPEN)
    expected = timezone.now() + datetime.timedelta(days=services.REASSESSMENT_DAYS)
    assert abs(task.due_at - expected) < HOUR
    follow_up.refresh_from_db()
    assert follow_up.status == Task.Status.DONE  # that contact was the follow-up; a new one is due
    assert Task.objects.filter(
        case=case, kind=Task.Kind.FOLLOW_UP_DUE, status=Task.Status.OPEN
    ).exists()
