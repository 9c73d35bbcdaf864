"""Case.plan_text_shared stays true to the texts on every path that changes a text, a person or
an agency: the plan services, an import (new file, changed file), a transfer, and the command
that recomputes it. INDIVIDUAL_PLAN reads the flag, so a wrong flag is a wrong indicator."""

from __future__ import annotations

from io import StringIO
from typing import Any

from django.core.management import call_command

from casework.cases import services as case_services
from casework.cases import workflow
from casework.cases.models import Case
from casework.interchange.importer import import_cases
from casework.interchange.tests.conftest import case_rows, cases_bytes, located  # noqa: F401
from casework.plans import services, sharing
from casework.plans.models import CasePlan
from casework.plans.tests.conftest import assess, content


def _flags(*cases: Case) -> list[bool]:
    return [Case.objects.get(pk=case.pk).plan_text_shared for case in cases]


def _fresh_case(register: Any, user: Any) -> Case:
    return assess(register(user), user)


def test_two_persons_given_the_same_plan_are_both_flagged_and_a_new_text_clears_both(
    register: Any, amina: Any
) -> None:
    first, second = _fresh_case(register, amina), _fresh_case(register, amina)
    services.create_plan(first, by=amina, content=content())
    assert _flags(first) == [False]
    plan = services.create_plan(second, by=amina, content=content())
    assert _flags(first, second) == [True, True]
    assert plan.case.plan_text_shared is True  # the loaded case is kept in step too

    services.update_plan(
        plan,
        by=amina,
        content=content(goals=["Aisha goes back to school in Gao"]),
        expected_revision=plan.revision,
    )
    assert _flags(first, second) == [False, False]
    assert not sharing.stale_cases(amina.agency_id).exists()


def test_a_new_version_with_the_same_text_keeps_the_flags(register: Any, amina: Any) -> None:
    first, second = _fresh_case(register, amina), _fresh_case(register, amina)
    services.create_plan(first, by=amina, content=content())
    plan = services.create_plan(second, by=amina, content=content())
    CasePlan.objects.filter(pk=plan.pk).update(status=CasePlan.Status.APPROVED)
    plan.refresh_from_db()
    services.revise_plan(plan, by=amina)
    assert _flags(first, second) == [True, True]


def test_an_import_flags_texts_shared_within_the_file_and_with_cases_already_there(
    agency: Any,
    amina: Any,
    located: Any,  # noqa: F811
) -> None:
    located()
    rows = case_rows(3)
    rows[2]["plan_text"] = "Vocational training in Bamako"
    result = import_cases(cases=cases_bytes(rows), by=None, agency_code="AGY")
    assert result.written, result.errors
    cases = list(Case.objects.filter(agency=agency).order_by("reference"))
    assert [case.plan_text_shared for case in cases] == [True, True, False]

    # The same file with the first two rows given their own texts: nothing is shared any more.
    rows[0]["plan_text"] = "Safe housing near Mopti"
    rows[1]["plan_text"] = "Family tracing in Kidal"
    import_cases(cases=cases_bytes(rows), by=None, agency_code="AGY")
    assert _flags(*cases) == [False, False, False]
    # And a text another person already has, given to an existing case, flags both.
    rows[2]["plan_text"] = "  safe housing near MOPTI "
    import_cases(cases=cases_bytes(rows), by=None, agency_code="AGY")
    assert _flags(*cases) == [True, False, True]
    assert not sharing.stale_cases(agency.pk).exists()


def test_a_transfer_moves_the_text_from_one_agencys_persons_to_the_others(
    register: Any, amina: Any, xena: Any, other_agency: Any, make_user: Any
) -> None:
    staying, leaving = _fresh_case(register, amina), _fresh_case(register, amina)
    services.create_plan(staying, by=amina, content=content())
    services.create_plan(leaving, by=amina, content=content())
    # The receiving agency already has a case with the same text.
    there = _fresh_case(register, xena)
    services.create_plan(there, by=xena, content=content())
    assert _flags(staying, leaving, there) == [True, True, False]

    case_services.record_consent(
        leaving,
        by=amina,
        details=case_services.ConsentDetails(
            receive_services=True,
            recipients=[
                case_services.RecipientDetails(
                    organisation_name=other_agency.name,
                    organisation_code=other_agency.code,
                    purpose="transfer",
                )
            ],
        ),
    )
    leaving.refresh_from_db()
    transfer = workflow.request_transfer(leaving, to_agency=other_agency, by=amina, reason="Moved")
    rita = make_user("rita", agency=other_agency, team=xena.team, role="supervisor")
    workflow.decide_transfer(transfer, by=rita, accept=True, caseworker=xena)

    assert Case.objects.get(pk=leaving.pk).agency_id == other_agency.pk
    assert _flags(staying, leaving, there) == [False, True, True]
    assert not sharing.stale_cases(amina.agency_id).exists()
    assert not sharing.stale_cases(other_agency.pk).exists()


def test_index_plans_corrects_flags_written_past_the_services(register: Any, amina: Any) -> None:
    first, second = _fresh_case(register, amina), _fresh_case(register, amina)
    services.create_plan(first, by=amina, content=content())
    services.create_plan(second, by=amina, content=content())
    Case.objects.filter(pk=first.pk).update(plan_text_shared=False)  # say, a restore
    assert list(sharing.stale_cases(amina.agency_id)) == [Case.objects.get(pk=first.pk)]
    out = StringIO()
    call_command("index_plans", stdout=out)
    assert "Corrected 1 shared-plan flags." in out.getvalue()
    assert _flags(first, second) == [True, True]
