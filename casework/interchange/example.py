"""The worked example of the interchange format, for tests of any app that need real-looking data.

`load_example()` imports tests/fixtures/interchange-small (a copy of
../shared/examples/interchange-small kept in the repository, so tests never depend on a
directory outside it): 182 cases of 150 people and their participation surveys.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from django.conf import settings

from casework.accounts.models import User
from casework.interchange.importer import ImportResult, import_cases


def example_dir() -> Path:
    """The worked example: the project's shared source (../shared/examples) first; the copy kept
    in the repository (tests/fixtures, held equal to it by a test) where the source is absent."""
    source = Path(settings.BASE_DIR).parent / "shared" / "examples" / "interchange-small"
    if source.is_dir():
        return source
    return Path(settings.BASE_DIR) / "tests" / "fixtures" / "interchange-small"


def load_example(agency_code: str = "AGY", *, by: User | None = None) -> ImportResult:
    """Import the example's cases and surveys into `agency_code` (created if missing)."""
    folder = example_dir()
    cases = (folder / "cases.csv").read_bytes()
    if agency_code != "AGY":
        cases = _with_agency(cases, agency_code)
    result = import_cases(
        cases=cases,
        surveys=(folder / "surveys.csv").read_bytes(),
        by=by,
        agency_code=agency_code,
    )
    if result.checked.errors:
        raise ValueError(f"The example did not import cleanly: {result.errors[:3]}")
    return result


def _with_agency(data: bytes, agency_code: str) -> bytes:
    """The example's cases, moved to another agency (the file names AGY on every row)."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "agency": agency_code})
    return out.getvalue().encode("utf-8")
