"""Risk level → follow-up deadline (seed 003: 48 hours, 3–5 days, 10 days), per agency, and a
raised risk rescheduling at once."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from casework.assessments import services
from casework.cases import deadlines
from casework.cases.models import RiskLevel
from casework.worklist.models import Task

HOUR = datetime.timedelta(hours=1)
levels = st.sampled_from(RiskLevel.values)
moments = st.datetimes(
    min_value=datetime.datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime.datetime(2035, 1, 1),  # noqa: DTZ001
    timezones=st.just(datetime.UTC),
)
windows = st.builds(
    lambda due, gap: deadlines.Window(due, max(1, due - gap)),
    st.integers(min_value=1, max_value=24 * 60),
    st.integers(min_value=0, max_value=24 * 30),
)


def test_it_follows_the_seed_for_each_level() -> None:
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    high = deadlines.follow_up_deadline(RiskLevel.HIGH, start)
    medium = deadlines.follow_up_deadline(RiskLevel.MEDIUM, start)
    low = deadlines.follow_up_deadline(RiskLevel.LOW, start)
    assert high.due_at - start == 48 * HOUR and high.target_at == high.due_at
    assert medium.due_at - start == 5 * 24 * HOUR and medium.target_at - start == 3 * 24 * HOUR
    assert low.due_at - start == 10 * 24 * HOUR and low.target_at == low.due_at


@given(level=levels, start=moments)
def test_it_never_sets_a_target_after_the_due_time(level: str, start: datetime.datetime) -> None:
    deadline = deadlines.follow_up_deadline(level, start)
    assert start < deadline.target_at <= deadline.due_at


@given(level=levels, start=moments, window=windows)
def test_an_agency_window_replaces_the_default(
    level: str, start: datetime.datetime, window: deadlines.Window
) -> None:
    deadline = deadlines.follow_up_deadline(level, start, {level: window})
    assert deadline.due_at - start == window.due_hours * HOUR
    assert deadline.target_at - start == min(window.target_hours, window.due_hours) * HOUR


@given(previous=levels, new=levels, start=moments, earlier_by=st.integers(-24 * 30, 24 * 30))
def test_a_raised_risk_only_brings_the_follow_up_forward(
    previous: str, new: str, start: datetime.datetime, earlier_by: int
) -> None:
    current_due = start + earlier_by * HOUR
    current = deadlines.Deadline(current_due, current_due)
    derived = deadlines.follow_up_deadline(new, start)
    result = deadlines.rescheduled_follow_up(
        current=current, previous_level=previous, new_level=new, start=start
    )
    if deadlines.is_raised(previous, new):
        # Never later than the open follow-up, nor than what the new level asks for.
        assert result.due_at == min(current_due, derived.due_at)
        assert result.due_at <= current_due
    else:
        # Same or lower risk: this assessment's own deadline.
        assert result == derived
    assert result.due_at <= derived.due_at


@given(previous=levels, new=levels, start=moments)
def test_without_an_open_follow_up_the_new_level_decides(
    previous: str, new: str, start: datetime.datetime
) -> None:
    result = deadlines.rescheduled_follow_up(
        current=None, previous_level=previous, new_level=new, start=start
    )
    assert result == deadlines.follow_up_deadline(new, start)


def test_only_a_more_severe_level_counts_as_raised() -> None:
    assert deadlines.is_raised("", RiskLevel.LOW)
    assert deadlines.is_raised(RiskLevel.LOW, RiskLevel.MEDIUM)
    assert deadlines.is_raised(RiskLevel.MEDIUM, RiskLevel.HIGH)
    assert not deadlines.is_raised(RiskLevel.HIGH, RiskLevel.HIGH)
    assert not deadlines.is_raised(RiskLevel.HIGH, RiskLevel.LOW)


def test_unsound_windows_are_named() -> None:
    problems = deadlines.check_windows(
        {
            RiskLevel.HIGH: deadlines.Window(300, 10),
            RiskLevel.MEDIUM: deadlines.Window(100, 120),
            RiskLevel.LOW: deadlines.Window(240, 240),
        }
    )
    assert problems == {"high": "longer_than_lower_risk", "medium": "target_after_due"}
    assert deadlines.check_windows(deadlines.DEFAULT_WINDOWS) == {}


# --- through the service ------------------------------------------------------------------------


def _follow_up(case: Any) -> Task:
    return Task.objects.get(case=case, kind=Task.Kind.FOLLOW_UP_DUE, status=Task.Status.OPEN)


def test_each_level_sets_the_case_deadline(register: Any, amina: Any, assess: Any) -> None:
    expected = {"high": 48, "medium": 120, "low": 240}
    for level, hours in expected.items():
        case = register(amina, risk_level="")
        before = timezone.now()
        assessment = assess(case, amina, risk_level=level)
        after = timezone.now()
        task = _follow_up(case)
        assert before + hours * HOUR <= task.due_at <= after + hours * HOUR
        assert task.due_at == assessment.follow_up_due_at
        case.refresh_from_db()
        assert case.risk_level == level
        assert case.next_due_at is not None and case.next_due_at <= task.due_at


def test_moderate_risk_is_due_at_five_days_with_a_target_of_three(
    case: Any, amina: Any, assess: Any
) -> None:
    assessment = assess(case, amina, risk_level="medium")
    task = _follow_up(case)
    assert task.target_at is not None
    assert task.due_at - task.target_at == 2 * 24 * HOUR
    assert assessment.follow_up_target_at == task.target_at


def test_a_raised_risk_reschedules_at_once(case: Any, amina: Any, assess: Any) -> None:
    assess(case, amina, risk_level="low")
    ten_days = _follow_up(case).due_at
    before = timezone.now()
    assess(case, amina, risk_level="high")
    task = _follow_up(case)
    assert task.due_at < ten_days
    assert before + 48 * HOUR <= task.due_at <= timezone.now() + 48 * HOUR
    case.refresh_from_db()
    assert case.next_due_at is not None and case.next_due_at <= task.due_at


def test_a_raised_risk_keeps_an_earlier_follow_up(case: Any, amina: Any, assess: Any) -> None:
    assess(case, amina, risk_level="low")
    soon = timezone.now() + 2 * HOUR
    Task.objects.filter(case=case, kind=Task.Kind.FOLLOW_UP_DUE).update(due_at=soon, target_at=soon)
    assess(case, amina, risk_level="medium")
    assert _follow_up(case).due_at == soon


def test_a_lowered_risk_counts_from_the_reassessment(case: Any, amina: Any, assess: Any) -> None:
    assess(case, amina, risk_level="high")
    before = timezone.now()
    assess(case, amina, risk_level="low")
    assert _follow_up(case).due_at >= before + 240 * HOUR


def test_the_agency_policy_sets_the_window(case: Any, amina: Any, adam: Any, assess: Any) -> None:
    services.set_risk_policy(by=adam, windows={"high": deadlines.Window(24, 12)})
    before = timezone.now()
    assess(case, amina, risk_level="high")
    task = _follow_up(case)
    assert before + 24 * HOUR <= task.due_at <= timezone.now() + 24 * HOUR
    assert task.target_at is not None
    assert task.due_at - task.target_at == 12 * HOUR
