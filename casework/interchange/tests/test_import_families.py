"""The family columns Casework adds to the format (docs/interchange-extensions.md): households by
household_ref and links by `relationships`, checked before anything is written."""

from __future__ import annotations

from typing import Any

from casework.interchange.columns import CASE_COLUMNS, LINK_COLUMNS
from casework.interchange.importer import import_cases
from casework.interchange.tests.conftest import case_rows, table_bytes
from casework.people.models import Person, Relationship


def _bytes(rows: list[dict[str, str]]) -> bytes:
    return table_bytes(rows, [*CASE_COLUMNS, *LINK_COLUMNS])


def test_links_and_households_are_imported_both_ways(agency: Any, amina: Any) -> None:
    rows = case_rows(3)
    rows[0].update(household_ref="H1", relationships="P-0002:sibling;P-0003:parent:caregiver")
    rows[1].update(household_ref="H1")
    result = import_cases(cases=_bytes(rows), by=None, agency_code="AGY")
    assert result.errors == [], result.errors
    first, second, third = (Person.objects.get(reference=f"P-000{n}") for n in (1, 2, 3))
    assert Relationship.objects.get(person=first, relative=second).kind == "sibling"
    assert Relationship.objects.get(person=second, relative=first).kind == "sibling"
    care = Relationship.objects.get(person=first, relative=third)
    assert (care.kind, care.is_caregiver) == ("parent", True)
    assert Relationship.objects.get(person=third, relative=first).kind == "child"
    assert first.household_id is not None and first.household_id == second.household_id
    again = import_cases(cases=_bytes(rows), by=None, agency_code="AGY")
    assert again.errors == [] and Relationship.objects.count() == 4  # nothing twice


def test_a_malformed_or_unknown_link_is_refused_and_nothing_is_written(agency: Any) -> None:
    rows = case_rows(2)
    rows[0]["relationships"] = "P-0002:cousin"
    rows[1]["relationships"] = "P-9999:sibling"
    result = import_cases(cases=_bytes(rows), by=None, agency_code="AGY")
    codes = {(error["line"], error["column"], error["code"]) for error in result.errors}
    assert (2, "relationships", "invalid_relationships") in codes
    assert (3, "relationships", "unknown_person") in codes
    assert not Person.objects.exists() and not Relationship.objects.exists()


def test_a_link_may_name_a_person_the_agency_has_already(agency: Any) -> None:
    import_cases(cases=_bytes(case_rows(1)), by=None, agency_code="AGY")
    rows = case_rows(2)[1:]
    rows[0]["relationships"] = "P-0001:partner"
    result = import_cases(cases=_bytes(rows), by=None, agency_code="AGY")
    assert result.errors == []
    assert Relationship.objects.get(relative__reference="P-0001").kind == "partner"
