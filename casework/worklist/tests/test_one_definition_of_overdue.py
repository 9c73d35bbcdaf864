"""One definition of "overdue" for the caseload, the tasks and the team pages: a working (open,
not paused) case with an open task past due. The team page's total is the sum of its caseload
column and the tasks page's count; a case's `next_due_at` is its earliest open task's due time."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from casework.cases import services as case_services
from casework.cases.models import Case
from casework.worklist import services
from casework.worklist.models import Task

HOUR = datetime.timedelta(hours=1)


def test_the_team_page_total_is_its_column_and_the_tasks_page_count(
    login: Any, register: Any, amina: Any, sam: Any
) -> None:
    now = timezone.now()
    late = register(amina)
    services.open_task(late, kind=Task.Kind.PLAN_DUE, due_at=now - HOUR)
    services.open_task(late, kind=Task.Kind.REVIEW_NO_CONTACT, due_at=now - 2 * HOUR)
    register(amina, given_name="Awa", family_name="Keita")  # its assessment is not due yet
    paused = register(amina, given_name="Mariam", family_name="Coulibaly")
    services.open_task(paused, kind=Task.Kind.PLAN_DUE, due_at=now - HOUR)
    case_services.transition_case(paused, to="paused", by=amina, reason="Travelling.")
    own = register(sam, given_name="Salif", family_name="Diarra")
    services.open_task(own, kind=Task.Kind.FOLLOW_UP_DUE, due_at=now - HOUR)

    supervisor = login(sam)
    team = supervisor.get("/cases/team/")
    [line] = [line for line in team.context["lines"] if line["name"] == "tasks"]
    column = sum(row.overdue for row in team.context["rows"])
    tasks_page = supervisor.get("/tasks/?scope=team").context["counts"]
    api_column = sum(row["overdue"] for row in supervisor.get("/api/v1/cases/team/caseload").json())

    assert line["overdue_cases"] == column == tasks_page["overdue_cases"] == api_column == 2
    assert line["overdue_tasks"] == tasks_page["overdue"] == 3
    assert set(Case.objects.overdue()) == {late, own}
    assert "2 overdue cases" in team.content.decode()
    # The paused case's task waits: it is listed, but not as overdue.
    listed = supervisor.get("/tasks/?scope=team&show=overdue").context["page"]
    assert {task.case_id for task in listed} == {late.pk, own.pk}


def test_next_due_is_the_earliest_open_task_on_every_path(
    register: Any, amina: Any, sam: Any
) -> None:
    now = timezone.now()
    case = register(amina)
    early = services.open_task(case, kind=Task.Kind.PLAN_DUE, due_at=now - HOUR)
    late = services.open_task(case, kind=Task.Kind.FOLLOW_UP_DUE, due_at=now + HOUR)
    case.refresh_from_db()
    assert case.next_due_at == early.due_at and case.is_overdue()
    assert list(Case.objects.overdue()) == [case]
    services.complete_task(early, by=amina)
    case.refresh_from_db()
    assert case.next_due_at == late.due_at and not case.is_overdue()
    services.close_tasks(case, kinds=[Task.Kind.FOLLOW_UP_DUE])
    case.refresh_from_db()
    assert case.next_due_at is None and list(Case.objects.overdue()) == []
    # Closing and reopening: the summary is the reopened case's new assessment task.
    case_services.transition_case(case, to="closed", by=sam, closure_reason="needs_met")
    case.refresh_from_db()
    assert case.next_due_at is None
    case_services.transition_case(case, to="reopened", by=sam, reason="New risk.")
    case.refresh_from_db()
    reopened = Task.objects.get(case=case, status="open")
    assert case.next_due_at == reopened.due_at
