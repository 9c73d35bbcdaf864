"""Which "survey due" tasks a survey closes, rule by rule: the tasks of every period that contains
the survey's day (its first and its last day included), on every case of the person in the
agency, and nothing else; a task whose subject names no period is left alone."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest
from django.utils import timezone

from casework.cases.models import Case
from casework.core.periods import Period, current_quarter, last_complete_quarter
from casework.feedback import services
from casework.feedback.tests.conftest import another_case_of
from casework.worklist import services as worklist
from casework.worklist.models import Task

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def _task(case: Case, period: Period | None = None, subject: str = "") -> Task:
    return worklist.open_task(
        case,
        kind=Task.Kind.SURVEY_DUE,
        due_at=worklist.due_by_end_of(period.end if period else timezone.localdate()),
        subject=services.survey_task_subject(period) if period else subject,
    )


def _open(task: Task) -> bool:
    task.refresh_from_db()
    return task.status == Task.Status.OPEN


def _survey(case: Case, by: Any, day: datetime.date) -> None:
    services.record_participation_survey(case, by=by, q1_aware=False, surveyed_on=day)


@pytest.fixture
def quarters() -> tuple[Period, Period]:
    """The last complete quarter and the one before it."""
    last = last_complete_quarter(timezone.localdate())
    return last_complete_quarter(last.start - DAY), last


@pytest.fixture
def early(register: Any, amina: Any, quarters: tuple[Period, Period]) -> Any:
    def make(name: str) -> Case:
        case = register(amina, given_name=name)
        Case.objects.filter(pk=case.pk).update(registered_on=quarters[0].start - 30 * DAY)
        case.refresh_from_db()
        return case

    return make


def test_a_survey_on_the_first_day_of_a_period_closes_that_periods_task_only(
    early: Any, amina: Any, quarters: tuple[Period, Period]
) -> None:
    before, last = quarters
    case = early("Ana")
    this, previous, odd = _task(case, last), _task(case, before), _task(case, subject="survey:x")
    _survey(case, amina, last.start)
    assert (_open(this), _open(previous), _open(odd)) == (False, True, True)


def test_a_survey_on_the_last_day_of_a_period_closes_that_periods_task_only(
    early: Any, amina: Any, quarters: tuple[Period, Period]
) -> None:
    before, last = quarters
    case = early("Bea")
    this, previous = _task(case, last), _task(case, before)
    _survey(case, amina, before.end)
    assert (_open(this), _open(previous)) == (True, False)


def test_a_survey_the_day_before_a_period_leaves_its_task_open(
    early: Any, amina: Any, quarters: tuple[Period, Period]
) -> None:
    before, last = quarters
    case = early("Cira")
    this = _task(case, last)
    _survey(case, amina, before.end)
    assert _open(this)


def test_a_survey_closes_the_task_on_each_of_the_persons_cases(
    early: Any, amina: Any, quarters: tuple[Period, Period]
) -> None:
    _before, last = quarters
    case = early("Dora")
    second = another_case_of(case, by=amina)
    other_person = early("Eve")
    tasks = [_task(case, last), _task(second, last), _task(other_person, last)]
    _survey(case, amina, last.start + DAY)
    assert [_open(task) for task in tasks] == [False, False, True]
    # The survey was recorded on the first case: the other case's task is the system's doing.
    assert Task.objects.get(pk=tasks[0].pk).closed_by == amina
    assert Task.objects.get(pk=tasks[1].pk).closed_by is None


def test_the_task_button_answers_what_it_did_and_the_answer_stays_as_given(
    register: Any, amina: Any
) -> None:
    case = register(amina)
    period = current_quarter(timezone.localdate())
    answer = services.open_survey_tasks([case], period=period, by=amina)
    assert (answer.opened, answer.already_open) == (1, 0)
    (task,) = Task.objects.filter(case=case, kind=Task.Kind.SURVEY_DUE)
    assert task.due_at == worklist.due_by_end_of(period.end)
    with pytest.raises(dataclasses.FrozenInstanceError):
        answer.opened = 5  # type: ignore[misc]


def test_tasks_are_opened_until_the_last_day_of_the_period_and_not_after(
    register: Any, amina: Any
) -> None:
    from casework.core.errors import CaseworkError

    case = register(amina)
    today = timezone.localdate()
    ends_today = Period(today - 10 * DAY, today)
    assert services.open_survey_tasks([case], period=ends_today, by=amina).opened == 1
    ended = Period(today - 10 * DAY, today - DAY)
    with pytest.raises(CaseworkError) as refused:
        services.open_survey_tasks([case], period=ended, by=amina)
    assert refused.value.code == "period_ended"


def test_tasks_someone_opened_at_the_same_moment_are_theirs_not_counted_twice(
    register: Any, amina: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between reading which tasks are open and writing the new ones, someone else opened the
    task on one case: it is counted as already open, the other case's task as opened."""
    first, second = register(amina), register(amina, given_name="Awa")
    period = current_quarter(timezone.localdate())
    theirs = _task(first, period)
    monkeypatch.setattr(worklist, "_open_on", lambda case_ids, **_kw: set())
    answer = services.open_survey_tasks([first, second], period=period, by=amina)
    assert (answer.opened, answer.already_open) == (1, 1)
    assert Task.objects.filter(kind=Task.Kind.SURVEY_DUE, status=Task.Status.OPEN).count() == 2
    assert Task.objects.get(case=first, kind=Task.Kind.SURVEY_DUE).pk == theirs.pk


def test_tasks_and_their_audit_entry_are_written_together_or_not_at_all(
    register: Any, amina: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("audit trail unavailable")

    case = register(amina)
    monkeypatch.setattr(services, "record", refuse)
    with pytest.raises(RuntimeError):
        services.open_survey_tasks([case], period=current_quarter(timezone.localdate()), by=amina)
    assert not Task.objects.filter(kind=Task.Kind.SURVEY_DUE).exists()
