from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from casework.assessments import services
from casework.assessments.tests.xlsforms import household_form


@pytest.fixture
def household(adam: Any) -> Any:
    """The agency's household questionnaire, uploaded as an XLSForm by the administrator."""
    return services.upload_questionnaire(by=adam, data=household_form(), file_name="household.xlsx")


@pytest.fixture
def assess() -> Callable[..., Any]:
    """Record an assessment through the service with sensible defaults."""

    def record(case: Any, by: Any, *, risk_level: str = "medium", **fields: Any) -> Any:
        findings = fields.pop(
            "findings",
            [services.FindingDetails(domain="shelter", need_level="high", services=["shelter"])],
        )
        details = services.AssessmentDetails(
            risk_level=risk_level,
            risk_rationale=fields.pop("risk_rationale", "Lives with the person who exploited her."),
            findings=findings,
            **fields,
        )
        return services.record_assessment(case, by=by, details=details)

    return record
