"""Events: an earlier step announces, later apps react in the sender's transaction, in the order
of INSTALLED_APPS, or after commit for what must not happen when the change is rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from casework.cases import events as case_events
from casework.core.events import Event
from casework.indicators import consortium
from casework.plans import sharing
from casework.referrals import services as referral_services
from casework.retention import rekeying
from casework.worklist import services as worklist_services


def test_it_connects_each_later_app_to_the_case_events() -> None:
    assert case_events.case_closed.handlers == [
        worklist_services._closed,
        referral_services._case_closed,
    ]
    assert case_events.case_transferred.handlers == [
        sharing._case_transferred,
        referral_services._case_transferred,
        consortium._case_transferred,
        rekeying._case_transferred,
    ]
    assert case_events.case_registered.handlers == [worklist_services._registered]
    assert case_events.case_reopened.handlers == [worklist_services._registered]
    assert case_events.follow_up_recorded.handlers == [worklist_services._followed_up]


def _in_plans(seen: list[str]) -> object:
    def handler(payload: str) -> None:
        seen.append(f"plans:{payload}")

    handler.__module__ = "casework.plans.tests"
    return handler


def _in_worklist(seen: list[str]) -> object:
    def handler(payload: str) -> None:
        seen.append(f"worklist:{payload}")

    handler.__module__ = "casework.worklist.tests"
    return handler


def test_it_runs_handlers_in_installed_apps_order_whatever_order_they_connected_in() -> None:
    event: Event[str] = Event("test")
    seen: list[str] = []
    event.connect(_in_plans(seen))  # type: ignore[arg-type]
    event.connect(_in_worklist(seen))  # type: ignore[arg-type]
    event.send("x")
    assert seen == ["worklist:x", "plans:x"]


def test_it_connects_a_handler_once() -> None:
    event: Event[str] = Event("test")
    seen: list[str] = []

    def handler(payload: str) -> None:
        seen.append(payload)

    event.connect(handler)
    event.connect(handler)
    event.send("x")
    assert seen == ["x"]
    event.disconnect(handler)
    event.send("y")
    assert seen == ["x"]


@pytest.fixture
def after_commit_event() -> Iterator[tuple[Event[str], list[str]]]:
    event: Event[str] = Event("test")
    seen: list[str] = []
    event.connect(seen.append, after_commit=True)
    yield event, seen


def test_an_after_commit_handler_waits_for_the_commit(
    after_commit_event: tuple[Event[str], list[str]], django_capture_on_commit_callbacks: Any
) -> None:
    event, seen = after_commit_event
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        event.send("kept")
        assert seen == []  # not yet: the transaction is still open
    assert len(callbacks) == 1 and seen == ["kept"]


def test_an_after_commit_handler_never_runs_for_a_change_rolled_back(
    after_commit_event: tuple[Event[str], list[str]], django_capture_on_commit_callbacks: Any
) -> None:
    event, seen = after_commit_event
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            event.send("lost")
            raise RuntimeError
    assert callbacks == [] and seen == []


def test_a_handler_that_fails_rolls_the_whole_change_back(case: Any, amina: Any) -> None:
    """Handlers run inside the sender's transaction: a refusal there undoes the case's move."""
    from casework.cases import services
    from casework.cases.models import Status, Transition

    def refuse(event: case_events.CaseChanged) -> None:
        raise RuntimeError("refused")

    case_events.case_closed.connect(refuse)
    try:
        with pytest.raises(RuntimeError):
            services.transition_case(
                case, to=Status.CLOSED, by=amina, closure_reason="needs_met", reason="done"
            )
    finally:
        case_events.case_closed.disconnect(refuse)
    case.refresh_from_db()
    assert case.status != Status.CLOSED
    assert not Transition.objects.filter(case=case, to_status=Status.CLOSED).exists()
