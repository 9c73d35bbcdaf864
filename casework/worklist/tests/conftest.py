"""The worklist tests start from cases with an empty worklist: registration's own task (the
assessment due, opened by cases.services.register_case) is removed so each test opens exactly
the tasks it is about, and with it the case's next due time (the earliest open task's: none).
test_open_and_close_tasks checks registration's task itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def register(register: Callable[..., Any]) -> Callable[..., Any]:
    from casework.cases.models import Case
    from casework.worklist.models import Task

    def make(*args: Any, **kwargs: Any) -> Any:
        case = register(*args, **kwargs)
        Task.objects.filter(case=case).delete()
        Case.objects.filter(pk=case.pk).update(next_due_at=None)
        case.next_due_at = None
        return case

    return make
