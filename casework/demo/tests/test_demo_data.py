"""`casework demo`: consistent invented cases, written in bulk, safe to run twice."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command
from django.db.models import Count, F, Q

from casework.cases import services
from casework.cases.models import Case, Consent, Status, Transition
from casework.people.models import Person
from casework.people.services import matching_person_ids
from casework.plans import sharing


def _demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def test_it_creates_cases_with_their_history_and_prints_the_logins(db: Any) -> None:
    output = _demo("--cases", "300", "--seed", "3")
    assert Case.objects.count() == 300 and Person.objects.count() == 300
    for username in ("amina", "sam", "paul", "mei", "priya", "adam"):
        assert username in output
    # Every case's history starts with identification and ends at its current status.
    first = Transition.objects.filter(from_status="").values("case").distinct().count()
    assert first == 300
    for case in Case.objects.all()[:50]:
        last = case.transitions.order_by("-occurred_at", "-id").first()
        assert last is not None and last.to_status == case.status
    # Dates keep their order, and every case past registration has consent.
    assert not Case.objects.filter(assessed_on__lt=F("registered_on")).exists()
    assert not Case.objects.filter(planned_on__lt=F("assessed_on")).exists()
    assert not Case.objects.filter(closed_on__lt=F("registered_on")).exists()
    registered = Case.objects.exclude(registered_on=None)
    assert registered.annotate(n=Count("consents")).filter(n=0).count() == 0
    assert (
        Case.objects.filter(status=Status.CLOSED).exclude(closure_reason="").count()
        == Case.objects.filter(status=Status.CLOSED).count()
    )
    assert Consent.objects.filter(Q(given_by="caregiver") & Q(child_assent=None)).count() == 0


def test_it_is_repeatable_and_skips_when_asked(db: Any) -> None:
    _demo("--cases", "50", "--seed", "9")
    references = list(Case.objects.order_by("id").values_list("reference", "status", "risk_level"))
    output = _demo("--cases", "50", "--if-empty")
    assert "already" in output and Case.objects.count() == 50
    Case.objects.all().delete()
    Person.objects.all().delete()
    _demo("--cases", "50", "--seed", "9")
    again = list(Case.objects.order_by("id").values_list("status", "risk_level"))
    assert again == [(status, risk) for _ref, status, risk in references]


def test_demo_people_are_encrypted_and_searchable_and_new_cases_follow_on(
    db: Any, programme: Any
) -> None:
    _demo("--cases", "40")
    person = Person.objects.first()
    assert person is not None and person.given_name
    assert (
        matching_person_ids(f"{person.given_name} {person.family_name}")
        .filter(person_id=person.pk)
        .exists()
    )
    held = Case.objects.filter(caseworker__username="amina").first()
    assert held is not None and held.caseworker is not None
    amina = held.caseworker
    case = services.register_case(
        by=amina,
        person=services.PersonDetails(given_name="New", family_name="Client", estimated_age=30),
        details=services.CaseDetails(programme=programme),
        consent=services.ConsentDetails(receive_services=True),
    )
    assert case.pk > max(Case.objects.exclude(pk=case.pk).values_list("pk", flat=True))


def test_large_demos_put_caseworkers_in_teams_of_eight_each_with_a_supervisor(db: Any) -> None:
    from casework.accounts.models import Team, User
    from casework.accounts.roles import Role
    from casework.demo.generator import TEAM_SIZE, ensure_setup

    setup = ensure_setup(password="casework-demo-2026", caseworkers=40)
    assert len(setup.caseworkers) == 40
    sizes = (
        User.objects.filter(role=Role.CASEWORKER, agency=setup.agency)
        .values("team")
        .annotate(n=Count("id"))
    )
    assert {row["n"] for row in sizes} == {TEAM_SIZE}
    assert Team.objects.filter(agency=setup.agency).count() == 40 // TEAM_SIZE
    for team in Team.objects.filter(agency=setup.agency):
        assert team.members.filter(role=Role.SUPERVISOR).count() == 1
    # Running it again adds nobody.
    ensure_setup(password="casework-demo-2026", caseworkers=40)
    assert User.objects.filter(role=Role.CASEWORKER, agency=setup.agency).count() == 40


def test_planned_cases_have_a_plan_mostly_their_own_and_some_answered_a_survey(db: Any) -> None:
    from casework.feedback.models import ParticipationSurvey
    from casework.plans.models import CasePlan

    _demo("--cases", "400", "--seed", "5")
    planned = Case.objects.exclude(planned_on=None)
    assert planned.count() == CasePlan.objects.count() > 100
    # The case carries its plan's fold hash (what INDIVIDUAL_PLAN compares), the plan its text.
    mismatched = planned.exclude(plans__fold_hash=F("plan_fold_hash"))
    assert not mismatched.exists()
    shared = (
        Case.objects.exclude(plan_fold_hash="")
        .values("plan_fold_hash")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    copies = sum(row["n"] for row in shared)
    assert 0 < copies < planned.count() * 0.15
    # The generator leaves every "text shared with another person" flag true to the texts.
    assert Case.objects.filter(plan_text_shared=True).exists()
    assert not sharing.stale_cases(Case.objects.values_list("agency_id", flat=True)[0]).exists()
    assert CasePlan.objects.filter(is_group=True).exists()
    surveys = ParticipationSurvey.objects.all()
    assert surveys.exists()
    assert not surveys.filter(surveyed_on__lt=F("case__planned_on")).exists()
    # Q2 is asked only after a yes to Q1.
    assert not surveys.filter(q1_aware=False).exclude(q2_involved=None).exists()
    assert not surveys.filter(q1_aware=True, q2_involved=None).exists()


def test_each_demo_case_due_time_is_its_open_task_so_overdue_counts_agree(db: Any) -> None:
    """The team page once said 0 overdue tasks while its caseload column added up to 28: the
    demo set due times with no task behind them."""
    from django.db.models import Min

    from casework.worklist.models import Task

    _demo("--cases", "200", "--seed", "4")
    earliest = dict(
        Task.objects.filter(status=Task.Status.OPEN)
        .values_list("case_id")
        .annotate(due=Min("due_at"))
        .values_list("case_id", "due")
    )
    dated = dict(Case.objects.exclude(next_due_at=None).values_list("id", "next_due_at"))
    assert dated and dated == earliest
    overdue_cases = set(Case.objects.overdue().values_list("id", flat=True))
    assert overdue_cases
    assert overdue_cases == set(Task.objects.overdue().values_list("case_id", flat=True))
