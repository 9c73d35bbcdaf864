"""Helpers for the interchange tests: the worked example's files and small files written inline."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable
from typing import Any

import pytest

from casework.cases.models import Consent, ConsentRecipient
from casework.interchange.columns import CASE_COLUMNS, SURVEY_COLUMNS
from casework.interchange.example import example_dir

# A valid case row; tests change the cells they are about.
GOOD_CASE: dict[str, str] = {
    "case_ref": "T-0001",
    "person_ref": "P-0001",
    "agency": "AGY",
    "programme": "CP",
    "service_type": "case_management",
    "sex": "female",
    "date_of_birth": "2012-05-04",
    "age": "",
    "disability": "no",
    "mobility_status": "idp",
    "protection_concern": "separated",
    "risk_level": "high",
    "location_code": "NE-01",
    "caseworker": "amina",
    "registered_on": "2026-03-01",
    "consent_services": "yes",
    "assessed_on": "2026-03-05",
    "plan_on": "2026-03-20",
    "plan_text": "Return to school in Gao; weekly counselling.",
    "plan_is_group": "no",
    "closed_on": "",
    "closure_reason": "",
}


def table_bytes(rows: list[dict[str, str]], columns: list[str] | None = None) -> bytes:
    names = columns or list(rows[0]) if rows else list(columns or [])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def case_rows(count: int, **changes: str) -> list[dict[str, str]]:
    rows = []
    for number in range(1, count + 1):
        row = dict(GOOD_CASE)
        row["case_ref"] = f"T-{number:04d}"
        row["person_ref"] = f"P-{number:04d}"
        row.update(changes)
        rows.append(row)
    return rows


def cases_bytes(rows: list[dict[str, str]]) -> bytes:
    extra = [name for name in rows[0] if name not in CASE_COLUMNS]
    return table_bytes(rows, [*CASE_COLUMNS, *extra])


def surveys_bytes(rows: list[dict[str, str]]) -> bytes:
    extra = [name for name in rows[0] if name not in SURVEY_COLUMNS] if rows else []
    return table_bytes(rows, [*SURVEY_COLUMNS, *extra])


@pytest.fixture
def example_files() -> tuple[bytes, bytes]:
    folder = example_dir()
    return (folder / "cases.csv").read_bytes(), (folder / "surveys.csv").read_bytes()


@pytest.fixture
def located(db: Any) -> Callable[[], None]:
    """The admin areas the inline rows use."""
    from casework.reference.services import add_location

    def make() -> None:
        region = add_location(code="NE", name="North-East")
        add_location(code="NE-01", name="Gao", parent=region)

    return make


def consent_to_export(*refs: str, organisation: str = "Cluster Lead") -> None:
    """Consent to share identity and case summary with `organisation` for an export, on the
    cases `refs` (every case when none), dated before today: some of the example's cases are
    registered after today, and a consent dated then would not count yet."""
    consents = Consent.objects.filter(case__reference__in=refs) if refs else Consent.objects.all()
    consents.update(given_on=datetime.date(2024, 1, 1))
    for consent in consents:
        ConsentRecipient.objects.create(
            consent=consent,
            organisation_name=organisation,
            purpose="export",
            information=["identity", "case_summary"],
        )
