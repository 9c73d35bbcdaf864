"""Dependency audit: are any of our pinned packages (requirements.lock) named in a security
advisory?

These machines reach the package registry but no advisory service, so the audit works from a copy
of the advisories kept in the repository: `security/advisories.json`, the OSV records of the PyPA
advisory database (https://github.com/pypa/advisory-database) for the packages we pin, with the
commit they were taken from. Where pip-audit is installed and its service answers, run
`pip-audit -r requirements.lock` as well (README, "Dependency audit").

- `python tools/dependency_audit.py` (make lint): fails when a pinned version is affected by an
  advisory that is not accepted in `security/accepted.json`, or when an acceptance has expired.
  An acceptance names the advisory, the package, why, who, and until when: a new advisory never
  blocks unrelated work for longer than it takes to accept it for a while, with a reason.
- `python tools/dependency_audit.py refresh PATH`: rebuild `security/advisories.json` from a
  checkout of the advisory database at PATH (for the pinned packages only).
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
ADVISORIES = ROOT / "security" / "advisories.json"
ACCEPTED = ROOT / "security" / "accepted.json"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def canonical(name: str) -> str:
    """PEP 503 names: `Django_OTP` and `django-otp` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """{package: pinned version} from a requirements file."""
    found = {}
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            found[canonical(match.group(1))] = match.group(2)
    return found


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def affects(record: dict[str, Any], package: str, version: str) -> bool:
    """Whether an OSV record names `version` of `package` as affected (listed versions, or an
    ECOSYSTEM range: introduced ≤ v < fixed, or ≤ last_affected)."""
    if record.get("withdrawn"):
        return False
    wanted = _version(version)
    for affected in record.get("affected", []):
        if canonical(affected.get("package", {}).get("name", "")) != package:
            continue
        if version in affected.get("versions", []):
            return True
        if wanted is None:
            continue
        for span in affected.get("ranges", []):
            if span.get("type") == "ECOSYSTEM" and _in_range(wanted, span.get("events", [])):
                return True
    return False


def _in_range(version: Version, events: Iterable[dict[str, str]]) -> bool:
    inside = False
    for event in events:
        if "introduced" in event:
            start = _version(event["introduced"]) if event["introduced"] != "0" else None
            if start is None or version >= start:
                inside = True
        elif "fixed" in event:
            end = _version(event["fixed"])
            if inside and end is not None and version >= end:
                inside = False
        elif "last_affected" in event:
            end = _version(event["last_affected"])
            if inside and end is not None and version > end:
                inside = False
    return inside


@dataclass(frozen=True)
class Finding:
    advisory: str
    package: str
    version: str
    summary: str


def findings(pinned: dict[str, str], records: list[dict[str, Any]]) -> Iterator[Finding]:
    for record in records:
        names = {
            canonical(item.get("package", {}).get("name", ""))
            for item in record.get("affected", [])
        }
        for package in sorted(names & set(pinned)):
            if affects(record, package, pinned[package]):
                yield Finding(
                    record["id"], package, pinned[package], str(record.get("summary", ""))[:120]
                )


def check(
    pinned: dict[str, str],
    records: list[dict[str, Any]],
    accepted: list[dict[str, str]],
    today: datetime.date,
) -> list[str]:
    """The problems: unaccepted findings and expired acceptances (empty: the audit passes)."""
    problems = []
    live: dict[tuple[str, str], dict[str, str]] = {}
    for item in accepted:
        until = datetime.date.fromisoformat(item["until"])
        if until < today:
            problems.append(
                f"{item['id']} ({item['package']}): accepted until {until}, which has passed"
            )
        else:
            live[(item["id"], canonical(item["package"]))] = item
    for found in findings(pinned, records):
        if (found.advisory, found.package) not in live:
            problems.append(
                f"{found.advisory}: {found.package} {found.version} is affected — "
                f"{found.summary or 'see the advisory'}"
            )
    return problems


def refresh(database: Path, pinned: dict[str, str]) -> dict[str, Any]:
    """The records of the advisory database checkout at `database` for the pinned packages."""
    import yaml  # a development dependency, needed only to refresh

    records = []
    vulns = database / "vulns"
    for folder in sorted(vulns.iterdir()):
        if canonical(folder.name) not in pinned:
            continue
        for path in sorted(folder.glob("*.yaml")):
            records.append(yaml.safe_load(path.read_text()))
    commit = subprocess.run(  # noqa: S603 - git, on a path the operator names
        ["git", "-C", str(database), "rev-parse", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "source": "https://github.com/pypa/advisory-database",
        "commit": commit,
        "packages": sorted(pinned),
        "records": records,
    }


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    pinned = pins(LOCK.read_text())
    if args[:1] == ["refresh"] and len(args) == 2:
        data = refresh(Path(args[1]), pinned)
        ADVISORIES.parent.mkdir(exist_ok=True)
        ADVISORIES.write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")
        print(f"{len(data['records'])} advisories for {len(pinned)} pinned packages written.")
        return 0
    if args:
        print(__doc__)
        return 2
    data = json.loads(ADVISORIES.read_text())
    accepted = json.loads(ACCEPTED.read_text()) if ACCEPTED.exists() else []
    today = datetime.datetime.now(tz=datetime.UTC).date()
    problems = check(pinned, data["records"], accepted, today)
    missing = sorted(set(pinned) - set(data.get("packages", [])))
    if missing:
        problems.append("advisories not refreshed for newly pinned packages: " + ", ".join(missing))
    for problem in problems:
        print(problem)
    if problems:
        print(
            f"Dependency audit: {len(problems)} problems (advisories as of commit "
            f"{str(data.get('commit', ''))[:12]}). Upgrade, or accept in {ACCEPTED.name}."
        )
        return 1
    print(
        f"Dependency audit: {len(pinned)} pinned packages, no open advisory (advisory database "
        f"commit {str(data.get('commit', ''))[:12]})."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
