"""The dependency audit (tools/dependency_audit.py, run by `make lint`): pinned versions against
the stored OSV advisories, with acceptances that expire."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import dependency_audit as audit  # noqa: E402

TODAY = datetime.date(2026, 12, 2)


def _record(**affected: Any) -> dict[str, Any]:
    return {
        "id": "PYSEC-0000-1",
        "summary": "Something bad",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "Example_Pkg"}, **affected}],
    }


def test_pins_are_read_from_the_lock_file_by_canonical_name() -> None:
    text = "Django==5.2.19 \\\n    --hash=sha256:abc\npsycopg[binary]==3.3.9 \\\n# comment\n"
    assert audit.pins(text) == {"django": "5.2.19"}
    assert audit.pins("django_otp==1.7.5\n") == {"django-otp": "1.7.5"}


def test_ranges_listed_versions_and_withdrawn_records() -> None:
    fixed = _record(
        ranges=[{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]
    )
    assert audit.affects(fixed, "example-pkg", "1.9")
    assert not audit.affects(fixed, "example-pkg", "2.0")
    window = _record(
        ranges=[{"type": "ECOSYSTEM", "events": [{"introduced": "1.5"}, {"last_affected": "1.7"}]}]
    )
    assert not audit.affects(window, "example-pkg", "1.4")
    assert audit.affects(window, "example-pkg", "1.7")
    assert not audit.affects(window, "example-pkg", "1.8")
    listed = _record(versions=["3.1"])
    assert audit.affects(listed, "example-pkg", "3.1") and not audit.affects(listed, "other", "3.1")
    assert not audit.affects({**fixed, "withdrawn": "2024-01-01"}, "example-pkg", "1.0")


def test_an_affected_pin_fails_unless_accepted_and_an_acceptance_expires() -> None:
    record = _record(
        ranges=[{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2"}]}]
    )
    pinned = {"example-pkg": "1.0"}
    assert audit.check(pinned, [record], [], TODAY) == [
        "PYSEC-0000-1: example-pkg 1.0 is affected — Something bad"
    ]
    accepted = {
        "id": "PYSEC-0000-1",
        "package": "Example-Pkg",
        "until": "2027-01-31",
        "reason": "the affected function is not used",
        "by": "lead",
    }
    assert audit.check(pinned, [record], [accepted], TODAY) == []
    expired = {**accepted, "until": "2026-12-01"}
    problems = audit.check(pinned, [record], [expired], TODAY)
    assert len(problems) == 2 and "has passed" in problems[0]


def test_the_stored_advisories_find_an_old_django() -> None:
    """The real records: Django 3.2.0 had many advisories; they are in the repository's copy."""
    data = json.loads(audit.ADVISORIES.read_text())
    found = list(audit.findings({"django": "3.2.0"}, data["records"]))
    assert len(found) > 5 and all(item.package == "django" for item in found)


def test_the_stored_advisories_cover_every_pinned_package() -> None:
    data = json.loads(audit.ADVISORIES.read_text())
    assert set(audit.pins(audit.LOCK.read_text())) <= set(data["packages"])
    assert len(data["commit"]) == 40
