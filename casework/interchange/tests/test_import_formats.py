"""XLSX workbooks and an organisation's own spreadsheet read through a saved column mapping."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

from openpyxl import Workbook

from casework.cases.models import Case
from casework.feedback.models import ParticipationSurvey
from casework.interchange.importer import import_cases
from casework.interchange.models import ColumnMapping, ExtraValues


def _workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _as_excel_would(value: str) -> Any:
    """Dates and numbers as real cells, the way a spreadsheet keeps them."""
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        return datetime.date.fromisoformat(value)
    if value.isdigit():
        return int(value)
    return value or None


def _rows(data: bytes) -> list[list[Any]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    return [rows[0]] + [[_as_excel_would(cell) for cell in row] for row in rows[1:]]


def test_it_imports_the_example_as_an_xlsx_workbook(
    db: Any, example_files: tuple[bytes, bytes]
) -> None:
    cases, surveys = example_files
    workbook = _workbook({"cases": _rows(cases), "surveys": _rows(surveys)})
    result = import_cases(cases=workbook, by=None, agency_code="AGY")
    assert result.errors == []
    assert Case.objects.count() == 182
    assert ParticipationSurvey.objects.count() == 139
    case = Case.objects.get(reference="C11-000002")
    assert case.registered_on == datetime.date(2025, 3, 29) and case.age_at_registration == 5


def test_a_formula_cell_gives_its_value_not_the_formula(agency: Any, amina: Any) -> None:
    header = ["case_ref", "person_ref", "programme", "registered_on", "sex"]
    workbook = _workbook(
        {"cases": [header, ["X-1", "P-1", "CP", datetime.date(2026, 1, 5), '=HYPERLINK("x")']]}
    )
    result = import_cases(cases=workbook, by=None, agency_code="AGY")
    # The formula's cached value is empty (never computed): sex is then unknown, not the formula.
    assert result.errors == []
    assert Case.objects.get(reference="X-1").person.sex == "unknown"


LEGACY_HEADER = [
    "N° dossier",
    "Bénéficiaire",
    "Programme",
    "Sexe",
    "Âge",
    "Date enregistrement",
    "Agent",
    "Remarques",
]
LEGACY_ROWS = [
    ["D-17", "B-3", "Protection de l'enfance", "F", "12", "03/02/2026", "amina", "école Gao"],
    ["D-18", "B-4", "Traite", "M", "", "17/02/2026", "", ""],
]


def _legacy_mapping(agency: Any, **fields: Any) -> ColumnMapping:
    mapping = ColumnMapping(
        agency=agency,
        name="Registre 2025",
        columns={
            "N° dossier": "case_ref",
            "bénéficiaire": "person_ref",  # source names are compared without case
            "Programme": "programme",
            "Sexe": "sex",
            "Âge": "age",
            "Date enregistrement": "registered_on",
            "Agent": "caseworker",
        },
        values={
            "sex": {"F": "female", "M": "male"},
            "programme": {"Protection de l'enfance": "CP", "Traite": "TIP"},
        },
        date_format="%d/%m/%Y",
        **fields,
    )
    mapping.full_clean()
    mapping.save()
    return mapping


def test_a_saved_mapping_reads_a_legacy_spreadsheet(agency: Any, amina: Any) -> None:
    mapping = _legacy_mapping(agency)
    workbook = _workbook({"Feuil1": [LEGACY_HEADER, *LEGACY_ROWS]})
    result = import_cases(cases=workbook, by=None, agency_code="AGY", mapping=mapping)
    assert result.errors == []
    assert result.summary()["extra_columns"]["cases"] == ["Remarques"]
    case = Case.objects.select_related("person", "programme").get(reference="D-17")
    assert (case.programme.code, case.person.sex, case.age_at_registration) == ("CP", "female", 12)
    assert case.registered_on == datetime.date(2026, 2, 3)
    assert case.caseworker == amina
    other = Case.objects.select_related("programme").get(reference="D-18")
    assert other.programme.code == "TIP" and other.caseworker is None
    extra = ExtraValues.objects.get(case=case, survey=None)
    assert extra.values == {"Remarques": "école Gao"}


def test_a_mapping_reads_a_semicolon_csv_in_a_windows_encoding(agency: Any, amina: Any) -> None:
    mapping = _legacy_mapping(agency, delimiter=";", encoding="cp1252")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([LEGACY_HEADER, *LEGACY_ROWS])
    result = import_cases(
        cases=out.getvalue().encode("cp1252"), by=None, agency_code="AGY", mapping=mapping
    )
    assert result.errors == []
    assert Case.objects.filter(reference__in=["D-17", "D-18"]).count() == 2


def test_a_mapping_must_name_columns_of_the_format(agency: Any) -> None:
    mapping = ColumnMapping(agency=agency, name="bad", columns={"X": "favourite_colour"})
    try:
        mapping.full_clean()
    except Exception as error:  # noqa: BLE001
        assert "favourite_colour" in str(error)
    else:
        raise AssertionError("A mapping to an unknown column was accepted.")
