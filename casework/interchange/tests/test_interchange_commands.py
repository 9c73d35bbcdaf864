"""`casework import`, `casework export` and `casework decrypt-export` at the command line."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError

from casework.cases.models import Case, Consent, ConsentRecipient
from casework.interchange.example import example_dir, load_example
from casework.interchange.tests.conftest import case_rows, cases_bytes


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_the_commands_are_installed_under_their_contract_names() -> None:
    commands = get_commands()
    assert commands["import"] == commands["export"] == "casework.interchange"
    assert commands["decrypt-export"] == "casework.interchange"


def test_casework_import_imports_the_example(db: Any) -> None:
    folder = example_dir()
    output = _run(
        "import",
        str(folder / "cases.csv"),
        "--surveys",
        str(folder / "surveys.csv"),
        "--agency",
        "AGY",
    )
    assert "182 case rows (182 valid)" in output
    assert "Imported: 182 case(s) created" in output
    assert Case.objects.count() == 182


def test_a_dry_run_writes_nothing(db: Any) -> None:
    folder = example_dir()
    output = _run("import", str(folder / "cases.csv"), "--dry-run")
    assert "Dry run: would create 182" in output
    assert not Case.objects.exists()


def test_errors_stop_the_import_with_the_lines(agency: Any, amina: Any, tmp_path: Path) -> None:
    rows = case_rows(2)
    rows[1]["risk_level"] = "extreme"
    path = tmp_path / "cases.csv"
    path.write_bytes(cases_bytes(rows))
    with pytest.raises(CommandError, match="1 error"):
        _run("import", str(path), "--agency", "AGY")
    assert not Case.objects.exists()
    output = _run("import", str(path), "--agency", "AGY", "--valid-only")
    assert "line 3, risk_level" in output
    assert Case.objects.count() == 1


def test_casework_export_writes_the_two_csv_files(agency: Any, tmp_path: Path) -> None:
    load_example()
    target = tmp_path / "out.csv"
    output = _run("export", "--agency", "AGY", "--period", "2026-Q3", "-o", str(target))
    assert "Exported" in output
    cases = list(csv.DictReader(target.open(encoding="utf-8")))
    surveys = list(csv.DictReader((tmp_path / "out-surveys.csv").open(encoding="utf-8")))
    assert cases and "date_of_birth" not in cases[0] and "given_name" not in cases[0]
    assert all(row["registered_on"] <= "2026-09-30" for row in cases)
    assert surveys and set(surveys[0]) == {
        "case_ref",
        "surveyed_on",
        "q1_aware",
        "q2_involved",
        "q3_how",
    }


def test_an_export_with_names_needs_a_user_and_decrypts_with_its_password(
    agency: Any, paul: Any, tmp_path: Path
) -> None:
    load_example()
    target = tmp_path / "named.xlsx"
    with pytest.raises(CommandError):
        _run("export", "--agency", "AGY", "--with-names", "--recipient", "X", "-o", str(target))
    consent = Consent.objects.get(case__reference="C11-000001")
    Consent.objects.filter(pk=consent.pk).update(given_on="2026-01-01")
    ConsentRecipient.objects.create(
        consent=consent,
        organisation_name="Cluster Lead",
        purpose="export",
        information=["identity", "case_summary"],
    )
    args = ["export", "--user", "paul", "--with-names", "--recipient", "Cluster Lead"]
    args += ["--password", "twelve chars at least", "-o", str(target)]
    with pytest.raises(CommandError, match="C11-000002"):
        _run(*args)
    output = _run(*args, "--leave-out-refused")
    sealed = tmp_path / "named.xlsx.cwx"
    assert sealed.is_file() and not target.exists() and "Left out" in output
    with pytest.raises(CommandError):
        _run(
            "decrypt-export",
            str(sealed),
            "--password",
            "not the password",
            "-o",
            str(tmp_path / "x"),
        )
    _run(
        "decrypt-export",
        str(sealed),
        "--password",
        "twelve chars at least",
        "-o",
        str(tmp_path / "open"),
    )
    assert (tmp_path / "open" / "export.xlsx").read_bytes()[:2] == b"PK"
