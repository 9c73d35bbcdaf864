"""Fixtures for plan tests: an assessed case, plan content, and plans at each step of approval."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from casework.cases import services as case_services
from casework.cases.models import Case
from casework.plans import services
from casework.plans.models import CasePlan

GOALS = [
    "Fatima finds safe housing near her sister in Bamako",
    "Fatima returns to her tailoring apprenticeship",
]
ACTIONS = [
    "Refer Fatima to the women's shelter run by Association Kéné",
    "Fatima visits the tailoring workshop with the caseworker",
]


def content(
    goals: list[str] | None = None,
    actions: list[str] | None = None,
    **fields: Any,
) -> services.PlanContent:
    """A complete plan: goals, actions, and the roles of client and caseworker."""
    goals = GOALS if goals is None else goals
    actions = ACTIONS if actions is None else actions
    defaults: dict[str, Any] = {
        "summary": "Met at the office; Fatima is calmer this week.",
        "client_responsibilities": "Fatima attends the appointments she chose.",
        "caseworker_responsibilities": "The caseworker arranges referrals and accompanies her.",
        "safety_plan": "Call the hotline if the recruiter makes contact.",
        "needs": [services.NeedInput(domain="shelter", description="No safe place to stay")],
    }
    defaults.update(fields)
    return services.PlanContent(
        goals=[
            services.GoalInput(text=text, term="short" if i == 0 else "long")
            for i, text in enumerate(goals)
        ],
        actions=[
            services.ActionInput(
                description=text,
                responsible="organisation" if i == 0 else "client",
                responsible_name="Association Kéné" if i == 0 else "",
                goal_ref=str(min(i + 1, len(goals))) if goals else "",
            )
            for i, text in enumerate(actions)
        ],
        **defaults,
    )


def assess(case: Case, by: Any) -> Case:
    case_services.transition_case(case, to="assessed", by=by)
    case.refresh_from_db()
    return case


def participation(**fields: Any) -> services.ParticipationDetails:
    values: dict[str, Any] = {
        "ways": ["expressed_needs", "set_goals", "agreed_plan"],
        "told_right_to_decline": True,
        "client_agreed": True,
        "agreed_on": timezone.localdate(),
    }
    values.update(fields)
    return services.ParticipationDetails(**values)


@pytest.fixture
def assessed(case: Case, amina: Any) -> Case:
    """Amina's case, assessed: ready for its plan."""
    return assess(case, amina)


@pytest.fixture
def make_plan(amina: Any) -> Callable[..., CasePlan]:
    def make(case: Case, *, by: Any = None, **kwargs: Any) -> CasePlan:
        return services.create_plan(case, by=by or amina, content=content(**kwargs))

    return make


@pytest.fixture
def plan(assessed: Case, make_plan: Callable[..., CasePlan]) -> CasePlan:
    return make_plan(assessed)


@pytest.fixture
def submitted(plan: CasePlan, amina: Any) -> CasePlan:
    services.record_participation(plan, by=amina, details=participation())
    services.submit_plan(plan, by=amina)
    plan.refresh_from_db()
    return plan


@pytest.fixture
def approved(submitted: CasePlan, sam: Any) -> CasePlan:
    services.approve_plan(submitted, by=sam)
    submitted.refresh_from_db()
    return submitted


@pytest.fixture
def yesterday() -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=1)
