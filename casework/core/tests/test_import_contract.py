"""The process runs downward: the import contract (pyproject.toml, checked by `make lint`) holds,
names every app, and nothing hides an arrow from it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CASEWORK = ROOT / "casework"


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["id"] == "process"]
    return [name.strip() for layer in contract["layers"] for name in re.split(r"[|:]", layer)]


def _source_files() -> list[Path]:
    return [
        path
        for path in CASEWORK.rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    ]


def test_every_app_is_named_in_the_contract() -> None:
    apps = sorted(path.parent.name for path in CASEWORK.glob("*/apps.py"))
    assert sorted(_layers()) == apps


def test_the_contract_holds() -> None:
    # In a process of its own: import-linter configures logging with disable_existing_loggers,
    # which would silence the loggers other tests of this process read.
    checked = subprocess.run(  # noqa: S603 - our own virtualenv's tool
        [str(Path(sys.executable).parent / "lint-imports"), "--config", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout[-2000:]


def test_nothing_imports_a_casework_module_by_name_or_pretends_an_app_is_optional() -> None:
    """importlib and `except ImportError` would hide arrows from the contract and from mypy."""
    hidden = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _source_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"import_module\(\s*[\"']casework|except ImportError", line)
    ]
    assert hidden == []


def test_no_module_imports_a_views_module_of_another_file() -> None:
    """Reads that HTML and API share are selectors; views are imported only by urls.py (and the
    shared plumbing of casework/core/views.py by every app's views)."""
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in _source_files()
        if path.name not in ("urls.py",)
        for match in re.finditer(
            r"^\s*from casework\.(?!core\.)\w+\.(?:views|workflow_views) import .*$|"
            r"^\s*from casework\.(?!core\b)\w+ import .*\bviews\b.*$",
            path.read_text(),
            re.MULTILINE,
        )
    ]
    assert offenders == []
