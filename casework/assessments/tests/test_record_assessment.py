"""Recording an assessment: the lifecycle move, consent, validation, and reassessment history."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from casework.assessments import services
from casework.assessments.models import Assessment, DomainFinding
from casework.audit.models import AuditEntry
from casework.cases import services as case_services
from casework.cases.models import Status
from casework.core.errors import Conflict, ConsentRequired, FieldErrors, NotAllowed
from casework.worklist import services as worklist
from casework.worklist.models import Task


def test_the_first_assessment_moves_the_case_to_assessed(
    case: Any, amina: Any, assess: Any
) -> None:
    assessment = assess(case, amina, risk_level="high")
    case.refresh_from_db()
    assert case.status == Status.ASSESSED
    assert case.assessed_on == timezone.localdate()
    assert case.risk_level == "high"
    assert assessment.number == 1 and not assessment.is_reassessment
    assert assessment.previous_risk_level == "medium"  # the level known at registration
    entry = AuditEntry.objects.get(action="assessments.assessment.recorded")
    assert entry.case_id == case.pk and entry.data["risk"] == "high"


def test_it_needs_the_clients_consent(register: Any, amina: Any, assess: Any) -> None:
    case = register(amina, consent=False)
    with pytest.raises(ConsentRequired):
        assess(case, amina)
    assert not Assessment.objects.filter(case=case).exists()


def test_a_withdrawn_consent_stops_a_reassessment(case: Any, amina: Any, assess: Any) -> None:
    assess(case, amina)
    case_services.withdraw_consent(case.consents.get(), by=amina)
    with pytest.raises(ConsentRequired):
        assess(case, amina)


def test_a_risk_level_needs_a_rationale(case: Any, amina: Any, assess: Any) -> None:
    with pytest.raises(FieldErrors) as refused:
        assess(case, amina, risk_level="high", risk_rationale="  ")
    assert "risk_rationale" in refused.value.errors
    with pytest.raises(FieldErrors) as refused:
        assess(case, amina, risk_level="extreme")
    assert "risk_level" in refused.value.errors


def test_it_checks_domains_and_dates(case: Any, amina: Any, assess: Any) -> None:
    with pytest.raises(FieldErrors) as refused:
        assess(case, amina, findings=[])
    assert "findings" in refused.value.errors
    with pytest.raises(FieldErrors) as refused:
        assess(
            case,
            amina,
            findings=[
                services.FindingDetails(domain="food", need_level="severe", services=["spa"]),
            ],
            assessed_on=timezone.localdate() + datetime.timedelta(days=1),
        )
    assert {"food_level", "food_services", "assessed_on"} <= set(refused.value.errors)
    case.refresh_from_db()
    assert case.status == Status.REGISTERED  # nothing changed


def test_reassessment_keeps_every_version(case: Any, amina: Any, assess: Any) -> None:
    first = assess(
        case,
        amina,
        risk_level="medium",
        findings=[services.FindingDetails(domain="shelter", need_level="high")],
    )
    second = assess(
        case,
        amina,
        risk_level="low",
        findings=[
            services.FindingDetails(domain="shelter", need_level="low"),
            services.FindingDetails(domain="education", need_level="medium"),
        ],
    )
    assert [a.number for a in services.assessments_of(case)] == [2, 1]
    assert second.previous_risk_level == "medium" and second.is_reassessment
    first.refresh_from_db()
    assert first.risk_level == "medium"
    assert [f.need_level for f in DomainFinding.objects.filter(assessment=first)] == ["high"]
    current = services.assessment_of(case, 2)
    assert current is not None
    assert {f.domain: f.need_level for f in current.findings.all()} == {
        "shelter": "low",
        "education": "medium",
    }
    case.refresh_from_db()
    assert case.status == Status.ASSESSED and case.risk_level == "low"


def test_a_reassessment_in_follow_up_leaves_the_step(case: Any, amina: Any, assess: Any) -> None:
    assess(case, amina)
    case_services.transition_case(case, to=Status.PLANNED, by=amina)
    assess(case, amina, risk_level="high")
    case.refresh_from_db()
    assert case.status == Status.PLANNED


def test_a_closed_case_cannot_be_assessed(case: Any, amina: Any, assess: Any) -> None:
    case_services.transition_case(case, to=Status.CLOSED, by=amina, closure_reason="other")
    with pytest.raises(Exception, match="can be assessed"):
        assess(case, amina)


def test_a_stale_form_does_not_overwrite(case: Any, amina: Any) -> None:
    stale = case.version - 1
    with pytest.raises(Conflict):
        services.record_assessment(
            case,
            by=amina,
            details=services.AssessmentDetails(
                risk_level="low",
                risk_rationale="Safe.",
                findings=[services.FindingDetails(domain="food", need_level="low")],
            ),
            expected_version=stale,
        )


def test_roles_without_case_work_cannot_assess(case: Any, paul: Any, assess: Any) -> None:
    with pytest.raises(NotAllowed):
        assess(case, paul)


def test_it_moves_the_worklist_on(case: Any, amina: Any, assess: Any) -> None:
    worklist.on_case_registered(case)
    assert Task.objects.filter(case=case, kind="assessment_due", status="open").exists()
    assess(case, amina)
    assert Task.objects.get(case=case, kind="assessment_due").status == "done"
    assert Task.objects.filter(case=case, kind="plan_due", status="open").exists()
    assert Task.objects.filter(case=case, kind="follow_up_due", status="open").exists()
    assess(case, amina)
    assert Task.objects.filter(case=case, kind="plan_due").count() == 1


def test_free_text_is_encrypted_at_rest(case: Any, amina: Any, assess: Any) -> None:
    assess(
        case,
        amina,
        client_needs="I need a safe place for my daughter",
        findings=[
            services.FindingDetails(
                domain="gbv", need_level="high", notes="Husband threatens her nightly"
            )
        ],
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_needs, risk_rationale FROM assessments_assessment")
        stored = " ".join(cursor.fetchone())
        cursor.execute("SELECT notes FROM assessments_domainfinding")
        stored += cursor.fetchone()[0]
    assert "daughter" not in stored and "threatens" not in stored and "exploited" not in stored
    assessment = Assessment.objects.get(case=case)
    assert assessment.client_needs == "I need a safe place for my daughter"
