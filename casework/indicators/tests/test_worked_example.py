"""The contract's worked example, imported then reported: every figure must match, exactly.

`casework import` of ../shared/examples/interchange-small, then `casework indicators --period
2026-Q3 --by <every dimension> --min-cell 1 --format json` must reproduce expected-2026-Q3.json.

The source of truth is ../shared/examples (next to the repository): it is read first. The copy
in tests/fixtures is used only where the source is absent (a checkout on its own), and where both
exist they must be identical, so the copy can never drift from what it copies.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from casework.cases.models import Consent
from casework.interchange.importer import import_cases

pytestmark = pytest.mark.django_db

BY = "sex,age_group,protection_concern,mobility_status,disability,location_code"

SOURCE = Path(settings.BASE_DIR).parent / "shared" / "examples" / "interchange-small"
REPO_COPY = Path(settings.BASE_DIR) / "tests" / "fixtures" / "interchange-small"
FILES = ("cases.csv", "surveys.csv", "expected-2026-Q3.json")


def example_folder() -> Path:
    """../shared/examples/interchange-small when present, else the repository's copy of it."""
    return SOURCE if SOURCE.is_dir() else REPO_COPY


def _expected(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "expected-2026-Q3.json").read_text(encoding="utf-8"))


def quarterly_json() -> dict[str, Any]:
    """`casework indicators --period 2026-Q3 --by … --min-cell 1 --format json` for AGY, parsed:
    the command the issue's "Done when" names (also used by the ranges and round-trip tests)."""
    output = io.StringIO()
    call_command(
        "indicators",
        "--period",
        "2026-Q3",
        "--by",
        BY,
        "--min-cell",
        "1",
        "--format",
        "json",
        "--agency",
        "AGY",
        stdout=output,
    )
    result: dict[str, Any] = json.loads(output.getvalue())
    return result


def test_the_worked_example_reproduces_the_expected_figures_number_for_number() -> None:
    folder = example_folder()
    result = import_cases(
        cases=(folder / "cases.csv").read_bytes(),
        surveys=(folder / "surveys.csv").read_bytes(),
        by=None,
        agency_code="AGY",
    )
    assert not result.checked.errors, result.errors[:3]
    # The interchange format has no column for reporting consent: the import records no refusal,
    # so nobody is left out, and the output is the contract's shape (no "left_out" anywhere).
    assert Consent.objects.exists()
    assert not Consent.objects.filter(anonymised_reporting=False).exists()
    got = quarterly_json()
    expected = _expected(folder)
    assert got["period"] == expected["period"]
    by_code = {item["code"]: item for item in got["indicators"]}
    for indicator in expected["indicators"]:
        mine = by_code[indicator["code"]]
        for name, value in indicator.items():
            if name != "by":
                assert mine[name] == value, (indicator["code"], name)
        for dimension, rows in indicator["by"].items():
            assert mine["by"][dimension] == rows, (indicator["code"], dimension)
    assert got == expected


def test_the_repository_copy_is_the_shared_example_byte_for_byte() -> None:
    if not SOURCE.is_dir():
        pytest.skip("../shared/examples is not next to this checkout: the copy is all there is")
    assert REPO_COPY.is_dir()
    for name in FILES:
        source = (SOURCE / name).read_bytes()
        assert (REPO_COPY / name).read_bytes() == source, f"tests/fixtures/{name} differs"
    # Nothing in the source is missing from the copy.
    assert {p.name for p in SOURCE.iterdir() if p.is_file()} <= set(FILES)


def test_the_example_is_read_from_shared_examples_first_and_the_copy_only_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, copy = (
        tmp_path / "shared" / "interchange-small",
        tmp_path / "repo" / "interchange-small",
    )
    copy.mkdir(parents=True)
    monkeypatch.setattr(sys.modules[__name__], "REPO_COPY", copy)
    monkeypatch.setattr(sys.modules[__name__], "SOURCE", source)
    assert example_folder() == copy  # no source next to the checkout
    source.mkdir(parents=True)
    assert example_folder() == source  # the source wins whenever it is there
