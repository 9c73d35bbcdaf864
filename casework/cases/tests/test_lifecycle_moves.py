"""The lifecycle's moves, written out from the seeds rather than read from the table under test.

Seed 003 (the six steps): identification → assessment → case planning → referral → follow-up →
closure; "the process can be paused, transferred, or resumed as needs change over time"; closure
for needs met, client request, contact lost, transfer or death, from wherever the case is.
Seed 004: reassessment is one of the eight components (follow-up steps back to assessment and to
the plan). Registration sits between identification and assessment (informed agreement). A paused
or transferred case resumes at the step it left; a closed case is reopened, not edited.

Every pair not in ALLOWED must be refused by `transition_case` and change nothing: in particular
identified → planned (no plan without registration and assessment).
"""

from __future__ import annotations

from typing import Any

import pytest

from casework.cases import lifecycle, services
from casework.cases.models import Case, ClosureReason, Status, Transition
from casework.core.errors import InvalidTransition

STATUSES = [
    "identified",
    "registered",
    "assessed",
    "planned",
    "in_follow_up",
    "paused",
    "transferred",
    "closed",
    "reopened",
]

# (from, to), one line per seed rule. Paused/transferred → the step they left is added per case
# (RESUMES below), not listed here, because it depends on where the case was.
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        # Identification: register the case, or close it (no agreement, not eligible).
        ("identified", "registered"),
        ("identified", "closed"),
        # The forward path.
        ("registered", "assessed"),
        ("assessed", "planned"),
        ("planned", "in_follow_up"),
        # Reassessment and replanning during the plan and follow-up (seed 004).
        ("planned", "assessed"),
        ("in_follow_up", "assessed"),
        ("in_follow_up", "planned"),
        # Pause and transfer from any working step.
        ("registered", "paused"),
        ("assessed", "paused"),
        ("planned", "paused"),
        ("in_follow_up", "paused"),
        ("registered", "transferred"),
        ("assessed", "transferred"),
        ("planned", "transferred"),
        ("in_follow_up", "transferred"),
        # A paused case may be handed over.
        ("paused", "transferred"),
        # Closure from every step that is not already closed.
        ("registered", "closed"),
        ("assessed", "closed"),
        ("planned", "closed"),
        ("in_follow_up", "closed"),
        ("paused", "closed"),
        ("transferred", "closed"),
        # Reopening after closure, then back to work at assessment, plan or follow-up.
        ("closed", "reopened"),
        ("reopened", "assessed"),
        ("reopened", "planned"),
        ("reopened", "in_follow_up"),
        ("reopened", "paused"),
        ("reopened", "transferred"),
        ("reopened", "closed"),
    }
)

# Moves the seeds rule out that a careless table could let through.
REFUSED_ON_PURPOSE = [
    ("identified", "assessed"),  # no assessment before registration and agreement
    ("identified", "planned"),  # no plan without an assessment
    ("identified", "in_follow_up"),
    ("registered", "planned"),  # the plan follows the assessment
    ("registered", "in_follow_up"),
    ("assessed", "in_follow_up"),  # follow-up follows a plan
    ("closed", "assessed"),  # a closed case is reopened first
    ("closed", "registered"),
    ("closed", "identified"),
    ("reopened", "identified"),
    ("in_follow_up", "identified"),
]


def _put_in(case: Case, status: str, *, left_from: str = "assessed") -> Case:
    """Place the case in `status`; a paused or transferred case remembers the step it left."""
    if status in ("paused", "transferred"):
        assert case.caseworker is not None
        Transition.objects.create(
            case=case,
            from_status=left_from,
            to_status=status,
            occurred_at=case.created_at,
            by=case.caseworker,
        )
    Case.objects.filter(pk=case.pk).update(status=status)
    case.refresh_from_db()
    return case


def test_the_statuses_are_the_ones_the_seeds_name() -> None:
    assert sorted(Status.values) == sorted(STATUSES)


def test_the_table_allows_exactly_the_moves_the_seeds_describe() -> None:
    table = {
        (current, target) for current in STATUSES for target in lifecycle.allowed_targets(current)
    }
    assert table - ALLOWED == set(), "allowed by the table, not by the seeds"
    assert ALLOWED - table == set(), "described by the seeds, refused by the table"


def test_the_moves_refused_on_purpose_are_not_in_the_expected_list() -> None:
    assert not set(REFUSED_ON_PURPOSE) & ALLOWED


@pytest.mark.parametrize(
    ("current", "target"), [(a, b) for a in STATUSES for b in STATUSES if (a, b) not in ALLOWED]
)
def test_every_other_move_is_refused_and_changes_nothing(
    case: Case, amina: Any, current: str, target: str
) -> None:
    # A held case resumes at the step it left: hold it from a step other than the target.
    case = _put_in(case, current, left_from="planned" if target == "assessed" else "assessed")
    version = case.version
    rows = Transition.objects.filter(case=case).count()
    with pytest.raises(InvalidTransition):
        services.transition_case(
            case, to=target, by=amina, reason="Asked", closure_reason=ClosureReason.NEEDS_MET
        )
    case.refresh_from_db()
    assert (case.status, case.version) == (current, version)
    assert Transition.objects.filter(case=case).count() == rows


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_every_expected_move_is_made(case: Case, amina: Any, current: str, target: str) -> None:
    case = _put_in(case, current)
    services.transition_case(
        case, to=target, by=amina, reason="Asked", closure_reason=ClosureReason.NEEDS_MET
    )
    case.refresh_from_db()
    assert case.status == target
    last = Transition.objects.filter(case=case).order_by("-id").first()
    assert last is not None
    assert (last.from_status, last.to_status) == (current, target)


@pytest.mark.parametrize("held", ["paused", "transferred"])
@pytest.mark.parametrize("left_from", ["registered", "assessed", "planned", "in_follow_up"])
def test_a_paused_or_transferred_case_resumes_at_the_step_it_left(
    case: Case, amina: Any, held: str, left_from: str
) -> None:
    case = _put_in(case, held, left_from=left_from)
    for other in ("registered", "assessed", "planned", "in_follow_up"):
        if other == left_from:
            continue
        with pytest.raises(InvalidTransition):
            services.transition_case(case, to=other, by=amina, reason="Asked")
        case.refresh_from_db()
        assert case.status == held
    services.transition_case(case, to=left_from, by=amina, reason="Asked")
    case.refresh_from_db()
    assert case.status == left_from


def test_identified_to_planned_is_refused(register: Any, amina: Any) -> None:
    case = register(amina)
    case = _put_in(case, "identified")
    with pytest.raises(InvalidTransition):
        services.transition_case(case, to="planned", by=amina)
    case.refresh_from_db()
    assert case.status == "identified"
