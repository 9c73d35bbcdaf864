"""Export then import into an empty instance gives the same indicators: the round trip keeps every
value the indicators use, and de-identification does not change a figure."""

from __future__ import annotations

from typing import Any

from casework.cases.models import Case
from casework.feedback.models import ParticipationSurvey
from casework.indicators.tests.test_worked_example import quarterly_json
from casework.interchange import container
from casework.interchange.example import load_example
from casework.interchange.exporter import export_cases
from casework.interchange.importer import import_cases
from casework.interchange.tests.conftest import consent_to_export
from casework.people.models import Person, Relationship
from casework.people.services import link_persons


def _case_facts() -> dict[str, tuple[Any, ...]]:
    """Per case_ref, every value an indicator reads, and the plans grouped by equal text."""
    cases = Case.objects.select_related("person", "programme", "primary_concern", "location")
    same_text: dict[str, list[str]] = {}
    for case in cases:
        if case.plan_fold_hash:
            same_text.setdefault(case.plan_fold_hash, []).append(case.reference)
    group_of = {ref: tuple(sorted(refs)) for refs in same_text.values() for ref in refs}
    return {
        case.reference: (
            case.person.reference,
            case.person.sex,
            case.person.disability,
            case.person.mobility_status,
            case.age_at_registration,
            case.programme.code,
            case.service_type,
            case.primary_concern.code if case.primary_concern else None,
            case.location.code if case.location else None,
            case.registered_on,
            case.assessed_on,
            case.planned_on,
            case.closed_on,
            case.closure_reason,
            case.plan_is_group,
            bool(case.plan_fold_hash),
            group_of.get(case.reference),
            case.status,
            case.risk_level,
        )
        for case in cases
    }


def _survey_facts() -> set[tuple[Any, ...]]:
    return {
        (s.case.reference, s.surveyed_on, s.q1_aware, s.q2_involved, tuple(s.q3_ways))
        for s in ParticipationSurvey.objects.select_related("case")
    }


def _empty_the_instance() -> None:
    Case.objects.all().delete()
    Person.objects.all().delete()
    assert not ParticipationSurvey.objects.exists()


def test_a_de_identified_export_round_trips_to_the_same_indicators(paul: Any) -> None:
    load_example()
    cases, surveys, figures = _case_facts(), _survey_facts(), quarterly_json()
    export = export_cases(by=paul, file_format="csv")
    assert export.run.cases == 182 and export.run.surveys == 139
    _empty_the_instance()
    result = import_cases(
        cases=export.files["cases.csv"],
        surveys=export.files["surveys.csv"],
        by=paul,
        own_agency_only=True,
    )
    assert result.errors == []
    assert _case_facts() == cases
    assert _survey_facts() == surveys
    assert quarterly_json() == figures


def test_an_xlsx_export_round_trips_too(paul: Any) -> None:
    load_example()
    cases, figures = _case_facts(), quarterly_json()
    export = export_cases(by=paul, file_format="xlsx")
    _empty_the_instance()
    result = import_cases(cases=export.files["export.xlsx"], by=paul, own_agency_only=True)
    assert result.errors == []
    assert result.summary()["counts"]["survey_rows"] == 139
    assert _case_facts() == cases
    assert quarterly_json() == figures


def test_the_de_identified_export_holds_no_names_birth_dates_or_plan_texts(
    paul: Any, register: Any, amina: Any
) -> None:
    load_example()
    register(amina, given_name="Mariam", family_name="Sangaré")
    export = export_cases(by=paul, file_format="csv")
    text = export.files["cases.csv"].decode()
    header = text.splitlines()[0].split(",")
    assert "date_of_birth" not in header and "given_name" not in header
    assert "Mariam" not in text and "Sangaré" not in text
    assert "2020-03-29" not in text  # C11-000002's date of birth
    assert "life skills" not in text  # a plan's words
    assert "[plan text withheld]" in text


def test_reimporting_a_de_identified_export_keeps_what_it_left_out(paul: Any) -> None:
    load_example()
    case = Case.objects.select_related("person").get(reference="C11-000002")
    plan_text = case.plans.get().text
    export = export_cases(by=paul, file_format="csv")
    result = import_cases(
        cases=export.files["cases.csv"],
        surveys=export.files["surveys.csv"],
        by=paul,
        own_agency_only=True,
    )
    assert result.errors == []
    assert result.summary()["counts"]["cases_updated"] == 0
    case.refresh_from_db()
    assert case.person.date_of_birth is not None
    assert case.plans.count() == 1 and case.plans.get().text == plan_text


def test_an_export_with_names_round_trips_names_and_plans(paul: Any) -> None:
    load_example()
    renamed = Person.objects.get(reference="P1100001")
    renamed.given_name, renamed.family_name = "Awa", "Keïta"
    renamed.save(update_fields=["given_name", "family_name"])  # encrypted for its agency
    awa, brother = (
        Person.objects.get(reference="P1100001"),
        Person.objects.get(reference="P1100002"),
    )
    link_persons(awa, brother, kind="sibling", is_caregiver=False, by=None)
    consent_to_export()
    cases = _case_facts()
    export = export_cases(
        by=paul, with_names=True, recipient_name="Cluster Lead", password="a long pass phrase"
    )
    files = container.open_container(export.sealed or b"", "a long pass phrase")
    _empty_the_instance()
    result = import_cases(
        cases=files["cases.csv"], surveys=files["surveys.csv"], by=paul, own_agency_only=True
    )
    assert result.errors == []
    assert _case_facts() == cases
    case = Case.objects.select_related("person").get(reference="C11-000002")
    assert (case.person.given_name, case.person.family_name) == ("Awa", "Keïta")
    assert str(case.person.date_of_birth) == "2020-03-29"
    assert "life skills" in case.plans.get().text
    # The family came along: the link both ways, and one household.
    awa, brother = (
        Person.objects.get(reference="P1100001"),
        Person.objects.get(reference="P1100002"),
    )
    assert Relationship.objects.get(person=awa, relative=brother).kind == "sibling"
    assert Relationship.objects.get(person=brother, relative=awa).kind == "sibling"
    assert awa.household_id is not None and awa.household_id == brother.household_id
