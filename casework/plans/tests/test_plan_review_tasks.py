"""A plan's review dates put "plan review due" on the worklist (seed 004: reassessment), and the
supervisor's approval closes the "plan due" task the first assessment opened."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from casework.plans import services
from casework.plans.models import CasePlan, GoalProgress
from casework.plans.tests.conftest import participation
from casework.worklist.models import Task
from casework.worklist.services import due_by_end_of, open_task


def _open(case_id: int, kind: str) -> list[Task]:
    return list(Task.objects.filter(case_id=case_id, kind=kind, status=Task.Status.OPEN))


def test_it_closes_plan_due_and_opens_the_review_when_the_supervisor_approves(
    plan: CasePlan, amina: Any, sam: Any, login: Any
) -> None:
    review_on = timezone.localdate() + datetime.timedelta(days=30)
    CasePlan.objects.filter(pk=plan.pk).update(next_review_on=review_on)
    plan.refresh_from_db()
    open_task(
        plan.case, kind=Task.Kind.PLAN_DUE, due_at=timezone.now() - datetime.timedelta(hours=1)
    )
    services.record_participation(plan, by=amina, details=participation())
    services.submit_plan(plan, by=amina)
    supervisor = login(sam)
    tag = supervisor.get(f"/api/v1/plans/{plan.pk}").headers["ETag"]
    response = supervisor.post(
        f"/api/v1/plans/{plan.pk}/decision",
        {"decision": "approve"},
        content_type="application/json",
        headers={"If-Match": tag},
    )
    assert response.status_code == 200
    assert _open(plan.case_id, Task.Kind.PLAN_DUE) == []
    assert Task.objects.get(case_id=plan.case_id, kind=Task.Kind.PLAN_DUE).status == "done"
    [review] = _open(plan.case_id, Task.Kind.PLAN_REVIEW_DUE)
    assert review.due_at == due_by_end_of(review_on)
    caseworker_tasks = login(amina).get("/api/v1/tasks").json()
    assert Task.Kind.PLAN_REVIEW_DUE in {task["kind"] for task in caseworker_tasks["items"]}


def test_a_review_closes_its_task_and_its_next_date_opens_the_next(
    approved: CasePlan, amina: Any, login: Any
) -> None:
    first = timezone.localdate() + datetime.timedelta(days=3)
    services.schedule_review(approved.case, on=first, by=amina)
    next_on = timezone.localdate() + datetime.timedelta(days=60)
    goals = [
        {"goal_id": goal.pk, "progress": GoalProgress.Progress.values[0]}
        for goal in approved.goals.all()
    ]
    response = login(amina).post(
        f"/api/v1/plans/{approved.pk}/reviews",
        {"goals": goals, "next_review_on": next_on.isoformat(), "summary": "On track."},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    [task] = _open(approved.case_id, Task.Kind.PLAN_REVIEW_DUE)
    assert task.due_at == due_by_end_of(next_on)
    assert Task.objects.filter(
        case_id=approved.case_id, kind=Task.Kind.PLAN_REVIEW_DUE, status="done"
    ).exists()
    # A review that sets no next date leaves no review on the list.
    response = login(amina).post(
        f"/api/v1/plans/{approved.pk}/reviews",
        {"goals": goals},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert _open(approved.case_id, Task.Kind.PLAN_REVIEW_DUE) == []


def test_an_approved_plan_without_a_review_date_opens_no_review(approved: CasePlan) -> None:
    assert approved.next_review_on is None
    assert _open(approved.case_id, Task.Kind.PLAN_REVIEW_DUE) == []
