"""/api/v1/plans/spot-checks: the spot-check screens' operations, through the same services.

Samples and checks outside the caller's scope (Perm.VERIFY_PLANS: an M&E officer's agency, a
supervisor's team) are the same 404 as ones that do not exist; bodies are read after the gate.
A check shows the plan as the caller's role allows (no words of the plan for an M&E officer).
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from ninja import Router, Schema, Status

from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Sensitive
from casework.core.api import READ_LATER, DocumentedAs, RawBody, answers, parse
from casework.core.periods import parse_period
from casework.plans import access, selectors, verification
from casework.plans.models import SpotCheck, SpotCheckSample

router = Router(tags=["plans"])


class SampleIn(Schema):
    period: str
    seed: int | None = None


class SampleOut(Schema):
    id: int
    period_start: datetime.date
    period_end: datetime.date
    team: str | None
    seed: int
    percent: int
    population: int
    size: int
    checked: int
    drawn_by: str
    drawn_at: datetime.datetime


class CheckSummaryOut(Schema):
    id: int
    case_reference: str
    plan_id: int
    team: str | None
    caseworker: str | None
    individualised: bool | None
    criteria_met: list[str]
    checked_at: datetime.datetime | None


class SampleDetailOut(SampleOut):
    checks: list[CheckSummaryOut]


class CheckIn(Schema):
    individualised: bool
    criteria_met: list[str] = []
    comment: str = ""


class ShownPlanOut(Schema):
    plan_id: int
    version: int
    status: str
    planned_on: datetime.date
    needs: list[str]
    goals_count: int
    actions_count: int
    responsible: list[str]
    participation: list[str]
    client_agreed: bool | None
    individualised: bool
    is_group: bool
    is_empty: bool
    same_as_other_people: int
    near_copy_confirmed: bool
    near_copy_pending: bool
    shows_text: bool
    goals: list[str] | None  # null for a role that does not read the plan's words
    actions: list[str] | None
    summary: str | None


class CheckOut(CheckSummaryOut):
    sample_id: int
    checklist: list[str]
    comment: str | None
    checked_by: str | None
    plan: ShownPlanOut


def _sample(sample: SpotCheckSample, size: int, checked: int) -> dict[str, Any]:
    return {
        "id": sample.pk,
        "period_start": sample.period_start,
        "period_end": sample.period_end,
        "team": sample.team.name if sample.team else None,
        "seed": sample.seed,
        "percent": sample.percent,
        "population": sample.population,
        "size": size,
        "checked": checked,
        "drawn_by": sample.drawn_by.username,
        "drawn_at": sample.drawn_at,
    }


def _check_summary(check: SpotCheck) -> dict[str, Any]:
    return {
        "id": check.pk,
        "case_reference": check.case.reference,
        "plan_id": check.plan_id,
        "team": check.team.name if check.team else None,
        "caseworker": check.caseworker.username if check.caseworker else None,
        "individualised": check.individualised,
        "criteria_met": check.criteria_met,
        "checked_at": check.checked_at,
    }


def _sample_detail(sample: SpotCheckSample) -> dict[str, Any]:
    checks = list(selectors.checks_of(sample))
    checked = sum(1 for check in checks if check.is_done)
    return _sample(sample, len(checks), checked) | {
        "checks": [_check_summary(check) for check in checks]
    }


@router.get(
    "/samples",
    response=answers(list[SampleOut], 404),
    summary="Spot-check samples I may see, newest first (optionally of one period)",
)
def list_samples(request: AuthenticatedHttpRequest, period: str = "", page: int = 1) -> Any:
    found = selectors.samples(request.user, parse_period(period) if period else None)
    size = 50
    page = max(1, page)
    return [
        _sample(sample, sample.size, sample.checked)  # type: ignore[attr-defined]  # annotated
        for sample in found[(page - 1) * size : page * size]
    ]


@router.post(
    "/samples",
    response=answers(SampleDetailOut, 400, 404, status=201),
    summary="Draw a random sample of a period's plans (seeded; stratified by team)",
)
def draw_sample(
    request: AuthenticatedHttpRequest,
    payload: Annotated[RawBody, DocumentedAs(SampleIn)] = READ_LATER,
) -> Any:
    user = request.user
    access.sample_scope(user)  # the gate first: 404 without the permission
    data = parse(SampleIn, payload)
    sample = verification.draw_sample(by=user, period=parse_period(data.period), seed=data.seed)
    return Status(201, _sample_detail(sample))


@router.get(
    "/samples/{sample_id}",
    response=answers(SampleDetailOut, 404),
    summary="A sample and its plans to check",
)
def get_sample(request: AuthenticatedHttpRequest, sample_id: int) -> Any:
    return _sample_detail(access.get_sample_for_user(request.user, sample_id))


def _check(user: Any, check: SpotCheck) -> dict[str, Any]:
    return _check_summary(check) | {
        "sample_id": check.sample_id,
        "checklist": check.checklist,
        # A free-text comment may say what the plan says: for roles that see free text, and
        # for the one who wrote it.
        "comment": check.comment
        if user.sees(Sensitive.FREE_TEXT) or check.checked_by_id == user.pk
        else None,
        "checked_by": check.checked_by.username if check.checked_by else None,
        "plan": selectors.plan_as_shown(user, check),
    }


@router.get(
    "/{check_id}",
    response=answers(CheckOut, 404),
    summary="A spot check, with the sampled plan as my role shows it",
)
def get_check(request: AuthenticatedHttpRequest, check_id: int) -> Any:
    user = request.user
    return _check(user, access.get_spot_check_for_user(user, check_id))


@router.post(
    "/{check_id}",
    response=answers(CheckOut, 400, 403, 404, 409),
    summary="Record what the spot check found (once: a second answer is 409)",
)
def record_check(
    request: AuthenticatedHttpRequest,
    check_id: int,
    payload: Annotated[RawBody, DocumentedAs(CheckIn)] = READ_LATER,
) -> Any:
    user = request.user
    check = access.get_spot_check_for_user(user, check_id)
    data = parse(CheckIn, payload)
    verification.record_check(
        check,
        by=user,
        individualised=data.individualised,
        criteria_met=data.criteria_met,
        comment=data.comment,
    )
    check = access.get_spot_check_for_user(user, check_id)
    return _check(user, check)
