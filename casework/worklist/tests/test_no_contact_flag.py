"""Cases with no recorded contact for 30 days or more are flagged for review (seed 003: contact
lost), once per silence."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from casework.cases import services as case_services
from casework.cases.models import Case, Status
from casework.worklist import services
from casework.worklist.models import Notification, Task


def _last_contact(case: Any, days_ago: int) -> None:
    Case.objects.filter(pk=case.pk).update(
        last_contact_on=timezone.localdate() - datetime.timedelta(days=days_ago)
    )


def test_thirty_days_without_contact_opens_a_review(case: Any, amina: Any, sam: Any) -> None:
    _last_contact(case, 30)
    assert services.flag_no_contact() == 1
    task = Task.objects.get(case=case, kind=Task.Kind.REVIEW_NO_CONTACT)
    assert task.is_open
    assert set(
        Notification.objects.filter(kind="contact_lost").values_list("user__username", flat=True)
    ) == {"amina", "sam"}
    case.refresh_from_db()
    assert case.next_due_at == task.due_at
    assert services.flag_no_contact() == 0  # once


def test_twenty_nine_days_is_not_yet_silent(case: Any) -> None:
    _last_contact(case, 29)
    assert services.flag_no_contact() == 0


def test_without_any_contact_registration_counts(case: Any) -> None:
    Case.objects.filter(pk=case.pk).update(
        registered_on=timezone.localdate() - datetime.timedelta(days=31), last_contact_on=None
    )
    assert services.flag_no_contact() == 1


def test_paused_and_closed_cases_are_not_flagged(register: Any, amina: Any) -> None:
    paused, closed = register(amina), register(amina)
    case_services.transition_case(paused, to=Status.PAUSED, by=amina, reason="Travelling")
    case_services.transition_case(closed, to=Status.CLOSED, by=amina, closure_reason="other")
    for case in (paused, closed):
        _last_contact(case, 60)
    assert services.flag_no_contact() == 0


def test_a_reviewed_silence_is_flagged_again_after_thirty_more_days(case: Any, amina: Any) -> None:
    _last_contact(case, 40)
    services.flag_no_contact()
    task = Task.objects.get(case=case)
    services.complete_task(task, by=amina)
    assert services.flag_no_contact() == 0
    Task.objects.filter(pk=task.pk).update(created_at=timezone.now() - datetime.timedelta(days=31))
    assert services.flag_no_contact() == 1


def test_contact_regained_closes_the_review(case: Any, amina: Any) -> None:
    _last_contact(case, 45)
    services.flag_no_contact()
    case_services.add_note(case, by=amina, text="Called her.", contact_type="phone")
    assert services.resolve_contact_regained() == 1
    assert Task.objects.get(case=case).status == Task.Status.DONE


def test_flagging_many_cases_keeps_a_bounded_query_count(
    register: Any, amina: Any, sam: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(15):
        _last_contact(register(amina), 35)
    with django_assert_max_num_queries(20):
        assert services.flag_no_contact() == 15
