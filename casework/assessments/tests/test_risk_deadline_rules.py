"""The rest of the deadlines seed 003 sets, spelled out here rather than read from
casework/cases/deadlines.py: the first follow-up fixed at registration, what an unknown risk waits,
how long a silent case may stay silent, and where an agency's windows stop being sound."""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from casework.cases import deadlines
from casework.cases.deadlines import Window
from casework.cases.models import RiskLevel

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
HOURS = datetime.timedelta(hours=1)


@pytest.mark.parametrize(
    ("level", "hours"),
    [(RiskLevel.HIGH, 48), (RiskLevel.MEDIUM, 5 * 24), (RiskLevel.LOW, 10 * 24), ("", 5 * 24)],
)
def test_the_first_follow_up_is_due_by_the_risk_found_at_registration(
    level: str, hours: int
) -> None:
    assert deadlines.first_follow_up_due(level, START) - START == hours * HOURS


def test_a_risk_not_known_yet_waits_as_long_as_a_moderate_one() -> None:
    assert deadlines.ASSESSMENT_DUE_HOURS == 5 * 24
    assert deadlines.window_for("") == Window(5 * 24, 5 * 24)
    unknown = deadlines.follow_up_deadline("", START)
    assert (unknown.due_at - START, unknown.target_at - START) == (120 * HOURS, 120 * HOURS)


def test_a_case_is_reviewed_after_30_days_without_contact_within_5_days() -> None:
    assert deadlines.NO_CONTACT_DAYS == 30
    assert deadlines.NO_CONTACT_REVIEW_HOURS == 5 * 24


def test_the_default_windows_are_the_seeds() -> None:
    assert deadlines.DEFAULT_WINDOWS == {
        RiskLevel.HIGH: Window(48, 48),
        RiskLevel.MEDIUM: Window(120, 72),
        RiskLevel.LOW: Window(240, 240),
    }
    assert deadlines.window_for(RiskLevel.MEDIUM, {RiskLevel.HIGH: Window(24, 12)}) == Window(
        120, 72
    )


# Rank of each level, written out: a level the code does not know ranks with "not known yet".
RANK = {"": 0, RiskLevel.LOW: 1, RiskLevel.MEDIUM: 2, RiskLevel.HIGH: 3, "nonsense": 0}


@pytest.mark.parametrize("previous", list(RANK))
@pytest.mark.parametrize("new", list(RANK))
def test_a_risk_is_raised_only_by_a_more_severe_level(previous: str, new: str) -> None:
    assert deadlines.is_raised(previous, new) is (RANK[new] > RANK[previous])


def test_the_severity_of_each_level() -> None:
    ordered = sorted(deadlines.SEVERITY, key=deadlines.SEVERITY.__getitem__)
    assert ordered == ["", RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH]


def test_windows_and_deadlines_cannot_be_changed_in_place() -> None:
    """The default windows are shared by every agency: one caller changing them in place would
    move every other agency's deadlines."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        deadlines.DEFAULT_WINDOWS[RiskLevel.HIGH].due_hours = 1  # type: ignore[misc]
    deadline = deadlines.follow_up_deadline(RiskLevel.HIGH, START)
    with pytest.raises(dataclasses.FrozenInstanceError):
        deadline.due_at = START  # type: ignore[misc]


def test_an_unknown_level_in_windows_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        deadlines.check_windows({"nonsense": Window(1, 1)})


@pytest.mark.parametrize(
    ("windows", "problems"),
    [
        ({RiskLevel.HIGH: Window(1, 1)}, {}),  # an hour is the shortest sound window
        ({RiskLevel.HIGH: Window(0, 1)}, {RiskLevel.HIGH: "not_positive"}),
        ({RiskLevel.HIGH: Window(1, 0)}, {RiskLevel.HIGH: "not_positive"}),
        ({RiskLevel.LOW: Window(10, 10)}, {}),  # a target on the due time is sound
        ({RiskLevel.LOW: Window(10, 11)}, {RiskLevel.LOW: "target_after_due"}),
        # Two levels with the same window: the higher does not wait longer.
        ({RiskLevel.LOW: Window(48, 48), RiskLevel.HIGH: Window(48, 48)}, {}),
        (
            {RiskLevel.LOW: Window(48, 48), RiskLevel.HIGH: Window(49, 48)},
            {RiskLevel.HIGH: "longer_than_lower_risk"},
        ),
        # A level already unsound is named for that, not for its order.
        (
            {RiskLevel.LOW: Window(48, 48), RiskLevel.HIGH: Window(96, 97)},
            {RiskLevel.HIGH: "target_after_due"},
        ),
        # Neighbours are compared: low, medium, high in that order, whatever the mapping's order.
        (
            {
                RiskLevel.HIGH: Window(24, 24),
                RiskLevel.LOW: Window(240, 240),
                RiskLevel.MEDIUM: Window(300, 72),
            },
            {RiskLevel.MEDIUM: "longer_than_lower_risk"},
        ),
    ],
)
def test_unsound_windows_are_named_level_by_level(
    windows: dict[str, Window], problems: dict[str, str]
) -> None:
    assert deadlines.check_windows(windows) == problems


def test_an_agency_without_a_policy_keeps_the_seeds() -> None:
    assert deadlines.windows_for(None) == deadlines.DEFAULT_WINDOWS
