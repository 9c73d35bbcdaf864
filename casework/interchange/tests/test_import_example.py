"""The worked example (182 cases of 150 people, 139 surveys) imports cleanly, as the same rows a
hand-entered case gets, and importing it again changes nothing."""

from __future__ import annotations

import datetime
from typing import Any

from casework.audit.models import AuditEntry
from casework.cases.models import Case, Consent, Status, Transition
from casework.core.text import fold_hash
from casework.feedback.models import ParticipationSurvey
from casework.interchange.example import load_example
from casework.interchange.importer import import_cases
from casework.people.models import Person
from casework.plans.models import CasePlan


def _counts() -> dict[str, int]:
    return {
        "cases": Case.objects.count(),
        "people": Person.objects.count(),
        "transitions": Transition.objects.count(),
        "consents": Consent.objects.count(),
        "plans": CasePlan.objects.count(),
        "surveys": ParticipationSurvey.objects.count(),
    }


def test_it_imports_the_example_with_no_errors(db: Any) -> None:
    result = load_example()
    summary = result.summary()
    assert result.errors == []
    assert result.written
    assert summary["counts"]["case_rows"] == 182
    assert summary["counts"]["survey_rows"] == 139
    assert _counts()["cases"] == 182
    assert _counts()["people"] == 150
    assert _counts()["surveys"] == 139
    assert summary["created"]["agencies"] == ["AGY"]
    assert summary["created"]["locations"] == ["NE-01", "NE-02", "NE-03", "SO-01", "SO-02"]


def test_it_gives_imported_cases_the_history_of_hand_entered_ones(db: Any) -> None:
    load_example()
    # C11-000002: registered 2025-03-29, assessed 04-01, planned 04-28, closed 2026-06-30.
    case = Case.objects.select_related("person", "programme", "location", "primary_concern").get(
        reference="C11-000002"
    )
    assert case.status == Status.CLOSED
    assert case.closure_reason == "client_request"
    assert case.age_at_registration == 5  # born 2020-03-29: five on the day
    assert case.person.date_of_birth == datetime.date(2020, 3, 29)
    location, concern = case.location, case.primary_concern
    assert location is not None and concern is not None
    assert (case.programme.code, location.code, concern.code) == (
        "CP",
        "NE-03",
        "separated",
    )
    moves = list(case.transitions.values_list("from_status", "to_status", "occurred_at"))
    assert [(a, b) for a, b, _at in moves] == [
        ("", "identified"),
        ("identified", "registered"),
        ("registered", "assessed"),
        ("assessed", "planned"),
        ("planned", "closed"),
    ]
    assert [at.date() for _a, _b, at in moves] == [
        datetime.date(2025, 3, 29),
        datetime.date(2025, 3, 29),
        datetime.date(2025, 4, 1),
        datetime.date(2025, 4, 28),
        datetime.date(2026, 6, 30),
    ]
    consent = case.consents.get()
    # A child's consent to services: the caregiver's, with the child's assent.
    assert consent.is_valid_for_services and consent.given_by == "caregiver"
    plan = case.plans.get()
    text = "Group plan for the shelter residents - life skills sessions and medical check-up."
    assert (plan.version, plan.planned_on, plan.text) == (1, datetime.date(2025, 4, 28), text)
    assert case.plan_fold_hash == plan.fold_hash == fold_hash(text)
    assert case.plan_is_group is False and plan.is_group is False


def test_it_keeps_age_from_the_age_column_when_there_is_no_date_of_birth(db: Any) -> None:
    load_example()
    case = Case.objects.select_related("person").get(reference="C11-000001")  # age 19
    assert case.age_at_registration == 19
    assert case.person.date_of_birth is None and case.person.estimated_age == 19
    assert case.status == Status.PLANNED


def test_it_attaches_the_surveys_to_their_cases(db: Any) -> None:
    load_example()
    surveys = ParticipationSurvey.objects.filter(case__reference="C11-000002")
    survey = surveys.get(surveyed_on=datetime.date(2026, 11, 16))
    assert survey.q1_aware and survey.q2_involved
    assert survey.q3_ways == ["expressed_needs", "set_goals"]
    no = ParticipationSurvey.objects.filter(q1_aware=False)
    assert no.count() == 36 and not no.exclude(q2_involved=None).exists()


def test_importing_it_again_changes_nothing(db: Any) -> None:
    load_example()
    before = _counts()
    versions = dict(Case.objects.values_list("reference", "version"))
    result = load_example()
    counts = result.summary()["counts"]
    assert _counts() == before
    assert counts["cases_created"] == 0 and counts["cases_updated"] == 0
    assert counts["cases_unchanged"] == 182
    assert counts["surveys_unchanged"] == 139
    assert counts["transitions_created"] == 0 and counts["plans_created"] == 0
    assert dict(Case.objects.values_list("reference", "version")) == versions


def test_a_changed_row_updates_its_case_and_adds_only_the_missing_history(
    db: Any, example_files: tuple[bytes, bytes]
) -> None:
    load_example()
    cases, surveys = example_files
    # C11-000001 is planned and open: close it.
    line = next(row for row in cases.decode().splitlines() if row.startswith("C11-000001,"))
    closed = line[: -len(",,")] + ",2026-10-01,needs_met"
    changed = cases.decode().replace(line, closed).encode()
    result = import_cases(cases=changed, surveys=surveys, by=None, agency_code="AGY")
    assert result.summary()["counts"]["cases_updated"] == 1
    case = Case.objects.get(reference="C11-000001")
    assert (case.status, case.closed_on) == (Status.CLOSED, datetime.date(2026, 10, 1))
    assert list(case.transitions.values_list("to_status", flat=True)).count("closed") == 1
    assert case.transitions.count() == 5


def test_the_import_is_audited_with_counts_only(db: Any) -> None:
    load_example()
    entry = AuditEntry.objects.get(action="interchange.import.completed")
    assert entry.data["cases_created"] == 182
    assert entry.data["surveys_created"] == 139
    assert all(isinstance(value, int | bool) or value is None for value in entry.data.values())


def test_load_example_can_use_another_agency(db: Any) -> None:
    load_example("EXA")
    assert Case.objects.filter(agency__code="EXA").count() == 182
