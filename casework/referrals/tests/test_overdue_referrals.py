"""A referral unanswered within the service's agreed time shows on the caseworker's task list."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.referrals import services
from casework.referrals.models import Referral
from casework.referrals.services import (
    flag_overdue_referrals,
    move_referral,
    overdue_referrals_for,
)
from casework.worklist.models import Task


@pytest.fixture
def overdue(referral: Referral) -> Referral:
    Referral.objects.filter(pk=referral.pk).update(
        answer_due_at=timezone.now() - datetime.timedelta(hours=1)
    )
    referral.refresh_from_db()
    return referral


def test_it_is_on_the_task_list_of_those_who_hold_the_case(
    overdue: Referral, amina: Any, sam: Any, omar: Any, xena: Any, mei: Any
) -> None:
    assert list(overdue_referrals_for(amina)) == [overdue]
    assert list(overdue_referrals_for(sam)) == [overdue]
    for outsider in (omar, xena, mei):
        assert not overdue_referrals_for(outsider).exists()


def test_the_partner_sees_what_she_is_late_answering(
    overdue: Referral, priya: Any, pablo: Any
) -> None:
    assert list(overdue_referrals_for(priya)) == [overdue]
    assert not overdue_referrals_for(pablo).exists()


def test_an_answer_takes_it_off(overdue: Referral, amina: Any, priya: Any) -> None:
    move_referral(overdue, to=Referral.Status.DECLINED, by=priya)
    assert not overdue_referrals_for(amina).exists()


def test_a_referral_within_its_time_is_not_overdue(referral: Referral, amina: Any) -> None:
    assert not overdue_referrals_for(amina).exists()
    later = timezone.now() + datetime.timedelta(days=4)
    assert list(overdue_referrals_for(amina, now=later)) == [referral]


def test_the_periodic_check_opens_one_task_per_overdue_referral(
    overdue: Referral, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[dict[str, Any]] = []

    def open_task(case: Any, **fields: Any) -> None:
        opened.append({"case": case, **fields})

    monkeypatch.setattr(services.worklist, "open_task", open_task)
    assert flag_overdue_referrals() == 1
    assert flag_overdue_referrals() == 0  # once only
    assert len(opened) == 1
    assert opened[0]["kind"] == "referral_overdue" and opened[0]["source"] == overdue
    assert opened[0]["case"].pk == overdue.case_id
    assert AuditEntry.objects.filter(
        action="referrals.referral.overdue", case_id=overdue.case_id
    ).exists()


def test_the_worklist_task_opens_and_closes_with_the_answer(overdue: Referral, priya: Any) -> None:
    assert flag_overdue_referrals() == 1
    task = Task.objects.get(case_id=overdue.case_id, kind="referral_overdue")
    assert task.status == "open"
    move_referral(overdue, to=Referral.Status.ACCEPTED, by=priya)
    task.refresh_from_db()
    assert task.status == "done"


def test_the_check_runs_every_hour() -> None:
    from casework.core.schedule import load_registry

    registry = load_registry()
    job = registry["casework.referrals.tasks.flag_overdue_referrals_hourly"]
    assert job.interval == datetime.timedelta(hours=1)


def test_the_api_lists_the_callers_overdue_referrals(
    login: Any, overdue: Referral, amina: Any, omar: Any, priya: Any
) -> None:
    assert [r["id"] for r in login(amina).get("/api/v1/referrals/overdue").json()] == [overdue.pk]
    assert login(omar).get("/api/v1/referrals/overdue").json() == []
    assert login(priya).get("/api/v1/referrals/overdue").status_code == 404
