"""Helpers shared by the feedback tests."""

from __future__ import annotations

from typing import Any

from casework.cases import services
from casework.cases.models import Case


def another_case_of(case: Case, *, by: Any) -> Case:
    """A second case of `case`'s person, opened by `by` (who may be of another team)."""
    return services.open_case(
        case.person,
        by=by,
        details=services.CaseDetails(
            programme=case.programme, primary_concern=case.primary_concern
        ),
        consent=services.ConsentDetails(receive_services=True, given_by="client"),
    )
