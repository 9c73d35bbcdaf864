"""The 15-minute job: overdue tasks are flagged and notified once to the caseworker and the
supervisor (in-app; by e-mail when configured, with no personal data)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core import mail
from django.test import override_settings
from django.utils import timezone

from casework.cases import services as case_services
from casework.cases.models import Case, Status
from casework.core import schedule
from casework.worklist import services
from casework.worklist.models import Notification, Task

HOUR = datetime.timedelta(hours=1)


def _late_task(case: Any, kind: str = "follow_up_due") -> Task:
    return services.open_task(case, kind=kind, due_at=timezone.now() - HOUR)


def test_overdue_tasks_notify_the_caseworker_and_supervisor_once(
    case: Any, amina: Any, sam: Any, olga: Any
) -> None:
    task = _late_task(case)
    assert services.mark_overdue() == 1
    task.refresh_from_db()
    assert task.overdue_at is not None
    notified = set(Notification.objects.values_list("user__username", flat=True))
    assert notified == {"amina", "sam"}  # not olga, the other team's supervisor
    assert services.mark_overdue() == 0
    assert Notification.objects.count() == 2


def test_tasks_not_yet_due_are_left_alone(case: Any) -> None:
    services.open_task(case, kind="plan_due", due_at=timezone.now() + HOUR)
    assert services.mark_overdue() == 0
    assert not Notification.objects.exists()


def test_paused_cases_do_not_go_overdue(case: Any, amina: Any) -> None:
    _late_task(case)
    case_services.transition_case(case, to=Status.PAUSED, by=amina, reason="Travelling")
    assert services.mark_overdue() == 0


def test_tasks_of_closed_cases_are_cancelled(case: Any, amina: Any) -> None:
    task = _late_task(case)
    # Closing through the lifecycle cancels tasks at once; the sweep is the safety net for a
    # case closed any other way (an import, an older version).
    Case.objects.filter(pk=case.pk).update(status=Status.CLOSED)
    counts = services.sweep()
    assert counts["cancelled"] == 1 and counts["overdue"] == 0
    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED


@override_settings(EMAIL_HOST="smtp.example.org")
def test_it_emails_when_email_is_configured(
    case: Any, amina: Any, sam: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _late_task(case)
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_overdue()
    assert sorted(message.to[0] for message in mail.outbox) == [
        "amina@example.org",
        "sam@example.org",
    ]
    message = mail.outbox[0]
    assert case.reference in message.subject
    text = f"{message.subject} {message.body}"
    assert "Fatima" not in text and "Traoré" not in text
    assert Notification.objects.filter(emailed_at=None).count() == 0


def test_no_email_without_a_mail_server(
    case: Any, amina: Any, sam: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _late_task(case)
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_overdue()
    assert mail.outbox == []
    assert Notification.objects.count() == 2


def test_the_job_runs_every_fifteen_minutes(case: Any, amina: Any) -> None:
    registry = schedule.load_registry()
    job = registry["casework.worklist.tasks.sweep_worklist"]
    assert job.interval == datetime.timedelta(minutes=15)
    _late_task(case)
    result = job.task.enqueue()  # the test settings run tasks immediately
    assert result.return_value["overdue"] == 1


def test_the_sweep_keeps_its_query_count_bounded(
    register: Any, amina: Any, sam: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(12):
        _late_task(register(amina))
    with django_assert_max_num_queries(20):
        assert services.mark_overdue() == 12
    assert Notification.objects.count() == 24
