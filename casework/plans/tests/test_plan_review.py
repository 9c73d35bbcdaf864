"""A review records progress on each goal of the approved plan (and actions' new statuses)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from casework.core.errors import CaseworkError, FieldErrors
from casework.plans import services
from casework.plans.models import ActionUpdate, CasePlan, GoalProgress, PlanReview


def _progress(plan: CasePlan, *values: str) -> list[services.GoalProgressInput]:
    return [
        services.GoalProgressInput(goal_id=goal.pk, progress=value, note="")
        for goal, value in zip(plan.goals.all(), values, strict=True)
    ]


def test_it_records_progress_on_every_goal(approved: CasePlan, amina: Any) -> None:
    actions = list(approved.actions.all())
    review = services.review_plan(
        approved,
        by=amina,
        details=services.ReviewDetails(
            summary="Housing found; apprenticeship waiting list.",
            goals=_progress(approved, "achieved", "some_progress"),
            action_statuses={actions[0].pk: "done", actions[1].pk: "planned"},
        ),
    )
    rows = list(GoalProgress.objects.filter(review=review).order_by("goal__position"))
    assert [row.progress for row in rows] == ["achieved", "some_progress"]
    assert [u.to_status for u in ActionUpdate.objects.filter(review=review)] == ["done"]
    actions[0].refresh_from_db()
    assert actions[0].status == "done"


def test_reviews_accumulate_as_history(approved: CasePlan, amina: Any) -> None:
    for values in (("not_started", "not_started"), ("achieved", "some_progress")):
        services.review_plan(
            approved, by=amina, details=services.ReviewDetails(goals=_progress(approved, *values))
        )
    first_goal = approved.goals.first()
    assert first_goal is not None
    assert [p.progress for p in first_goal.progress.order_by("review__id")] == [
        "not_started",
        "achieved",
    ]
    assert PlanReview.objects.filter(plan=approved).count() == 2


def test_it_needs_progress_on_each_goal(approved: CasePlan, amina: Any) -> None:
    only_one = _progress(approved, "achieved", "achieved")[:1]
    with pytest.raises(FieldErrors) as error:
        services.review_plan(approved, by=amina, details=services.ReviewDetails(goals=only_one))
    assert "goals" in error.value.errors
    assert not PlanReview.objects.exists()


def test_only_the_approved_plan_is_reviewed(plan: CasePlan, amina: Any) -> None:
    with pytest.raises(CaseworkError):
        services.review_plan(
            plan,
            by=amina,
            details=services.ReviewDetails(goals=_progress(plan, "achieved", "achieved")),
        )


def test_it_reviews_over_http(login: Any, amina: Any, approved: CasePlan) -> None:
    client = login(amina)
    url = f"/cases/{approved.case_id}/plans/{approved.pk}/review/"
    assert client.get(url).status_code == 200
    goals = list(approved.goals.all())
    actions = list(approved.actions.all())
    data = {
        "reviewed_on": timezone.localdate().isoformat(),
        "summary": "Going well.",
        f"goal_{goals[0].pk}": "achieved",
        f"goal_{goals[1].pk}": "some_progress",
        f"goal_{goals[1].pk}_note": "On the waiting list",
        f"action_{actions[0].pk}": "done",
        f"action_{actions[1].pk}": "in_progress",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    page = client.get(f"/cases/{approved.case_id}/plans/{approved.pk}/").content.decode()
    assert "On the waiting list" in page
    assert "Achieved" in page
