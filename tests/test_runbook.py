"""The incident runbook (docs/runbook.md) is walked as written: every `casework …` command in it
parses against today's commands, every screen path resolves, and each procedure's steps are run
in order against a test database, then the incident is shown to be over (sessions and tokens
refused, the trail read and whole, the agency's data unreadable after the purge)."""

from __future__ import annotations

import csv
import datetime
import io
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command, get_commands, load_command_class
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone

from casework.accounts import tokens
from casework.accounts.models import ApiToken, Authenticator, User
from casework.cases.models import Case
from casework.core import backup
from casework.people.models import Person
from casework.retention.models import AgencyPurge
from casework.vault import keys, rotation
from casework.vault.crypto import Unreadable
from casework.vault.models import DataKey

RUNBOOK = Path(settings.BASE_DIR) / "docs" / "runbook.md"
PROCEDURES = ("Lost laptop or phone", "Leaked API token", "Suspected insider", "Evacuation")
LOGIN = "/accounts/login/"

# Who follows a screen step, how, and the answer: the administrator presses buttons (POST) on the
# users screen, the data-protection officer reads the audit log. A new screen in the runbook must be
# added here, so that it is walked too.
SCREENS: dict[str, tuple[str, str, int]] = {
    "accounts:users": ("adam", "get", 200),
    "accounts:user_end_sessions": ("adam", "post", 302),
    "accounts:user_reset_two_factor": ("adam", "post", 302),
    "accounts:user_issue_enrolment_code": ("adam", "post", 200),  # shows the code once
    "accounts:user_deactivate": ("adam", "post", 302),
    "administration:tokens": ("adam", "get", 200),
    "privacy:audit_log": ("dana", "get", 200),
    "privacy:audit_export": ("dana", "get", 200),
    "privacy:readers": ("dana", "get", 200),
    "retention:purge": ("adam", "get", 200),
}


def _runbook() -> str:
    return RUNBOOK.read_text(encoding="utf-8")


def _spans(text: str) -> list[str]:
    """Inline code spans, in order (a span may wrap across a line break)."""
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", text)]


def _procedures() -> dict[str, list[str]]:
    """Each `## ` section's steps: its code spans that are commands or screen paths."""
    sections = re.split(r"^## ", _runbook(), flags=re.MULTILINE)[1:]
    steps: dict[str, list[str]] = {}
    for section in sections:
        title, _, body = section.partition("\n")
        steps[title.strip()] = [
            span for span in _spans(body) if span.startswith(("casework ", "/"))
        ]
    return steps


def _all_steps() -> list[str]:
    return [span for span in _spans(_runbook()) if span.startswith(("casework ", "/"))]


def _fill(step: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        step = step.replace(placeholder, value)
    return step


SAMPLE = {
    "<user-id>": "1",
    "USER": "amina",
    "PREFIX": "abcdefgh",
    "CODE": "AGY",
    "DATE": "2026-01-01",
}


# --- every step names something that exists -----------------------------------------------


def test_the_runbook_has_the_four_procedures_each_with_steps() -> None:
    procedures = _procedures()
    for title in PROCEDURES:
        assert title in procedures, title
        commands = [step for step in procedures[title] if step.startswith("casework ")]
        screens = [step for step in procedures[title] if step.startswith("/")]
        assert commands and screens, title


@pytest.mark.parametrize("step", [s for s in _all_steps() if s.startswith("casework ")])
def test_every_command_parses_as_today_s_command(step: str) -> None:
    name, *arguments = shlex.split(_fill(step, SAMPLE))[1:]
    commands = get_commands()
    assert name in commands, f"no command {name!r}"
    parser = load_command_class(commands[name], name).create_parser("casework", name)
    parser.parse_args(arguments)  # a CommandError for an unknown subcommand or option


@pytest.mark.parametrize("step", [s for s in _all_steps() if s.startswith("/")])
def test_every_screen_exists_and_is_walked(step: str) -> None:
    path = _fill(step, SAMPLE).partition("?")[0]
    try:
        match = resolve(path)
    except Resolver404:
        pytest.fail(f"{step} is no screen")
    assert match.view_name in SCREENS, f"{step}: say in SCREENS who follows it and how"


# --- each procedure, run ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _key_directory(settings: Any, tmp_path: Any, db: Any) -> None:
    """Master keys in a key file (as in production), so rotation and the purge can replace it."""
    settings.CASEWORK_MASTER_KEYS = ""
    settings.CASEWORK_KEY_DIR = str(tmp_path / "keys")
    keys.init_key_files(tmp_path / "keys")
    keys.clear_cache()


@dataclass
class Walk:
    """What following a procedure produced: each command's output, each screen's response."""

    outputs: dict[str, str] = field(default_factory=dict)
    pages: dict[str, Any] = field(default_factory=dict)

    def output(self, start: str) -> str:
        return next(text for step, text in self.outputs.items() if step.startswith(start))

    def page(self, start: str) -> Any:
        return next(page for step, page in self.pages.items() if step.startswith(start))


def _settle() -> None:
    """The wait the runbook asks for before `keys rotate --retire`: the new key is old enough."""
    DataKey.objects.filter(is_primary=True).update(
        created_at=timezone.now() - datetime.timedelta(seconds=rotation.SETTLE_SECONDS + 1)
    )


@pytest.fixture
def follow(login: Any, adam: Any, dana: Any) -> Callable[..., Walk]:
    """Follow one procedure of the runbook for `subject`, step by step."""
    staff = {"adam": login(adam), "dana": login(dana)}

    def walk(title: str, subject: User, **values: str) -> Walk:
        assert subject.agency is not None
        filled = {
            "<user-id>": str(subject.pk),
            "USER": subject.username,
            "DATE": timezone.localdate().isoformat(),
            "CODE": subject.agency.code,
            **values,
        }
        done = Walk()
        for step in _procedures()[title]:
            concrete = _fill(step, filled)
            if step.startswith("casework "):
                if "--retire" in step:
                    _settle()
                out = io.StringIO()
                call_command(*shlex.split(concrete)[1:], stdout=out)
                done.outputs[step] = out.getvalue()
                continue
            actor, method, status = SCREENS[resolve(concrete.partition("?")[0]).view_name]
            response = getattr(staff[actor], method)(concrete)
            assert response.status_code == status, step
            done.pages[step] = response
        return done

    return walk


def _signed_out(client: Client) -> bool:
    response = client.get("/cases/")
    return response.status_code == 302 and response["Location"].startswith(LOGIN)


def _bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def _token(owner: User) -> str:
    return tokens.create_token(owner=owner, by=None, name="field laptop", scopes=["read"], days=30)


def _csv(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode())))


def _name(case: Case) -> Any:
    keys.clear_cache()
    return Person.objects.get(pk=case.person_id).given_name


def test_lost_laptop(follow: Any, login: Any, amina: Any, case: Case) -> None:
    Authenticator.objects.create(user=amina, name="phone", confirmed=True)
    laptop = login(amina)
    token = _token(amina)
    assert laptop.get(f"/cases/{case.pk}/").status_code == 200  # read on the lost laptop
    assert _bearer(token).get(f"/api/v1/cases/{case.pk}").status_code == 200

    walk = follow("Lost laptop or phone", amina)

    assert _signed_out(laptop)
    assert _bearer(token).get(f"/api/v1/cases/{case.pk}").status_code == 401
    assert not Authenticator.objects.filter(user=amina).exists()
    listed = walk.output("casework token list")
    assert f"cw_{token[3:11]}" in listed and "  live  " not in listed
    # The officer sees the read made on the laptop, on the screen and in the export.
    assert "cases.case.viewed" in walk.page("/privacy/audit-log/?").content.decode()
    rows = _csv(walk.page("/privacy/audit-log/export.csv"))
    assert any("cases.case.viewed" in row.values() for row in rows)
    assert "Enrolment code for amina" in walk.output("casework mfa issue-code")


def test_leaked_token(follow: Any, amina: Any, case: Case) -> None:
    leaked = _token(amina)
    assert _bearer(leaked).get(f"/api/v1/cases/{case.pk}").status_code == 200

    walk = follow("Leaked API token", amina, PREFIX=leaked[3:11])

    assert walk.output("casework token revoke").strip() == "Revoked."
    assert _bearer(leaked).get(f"/api/v1/cases/{case.pk}").status_code == 401
    assert ApiToken.objects.get(prefix=leaked[3:11]).revoked_at is not None
    assert f"cw_{leaked[3:11]}" in walk.page("/administration/tokens/").content.decode()
    # The replacement works; the leaked one's refused use is on the officer's screen.
    replacement = walk.output("casework token create").strip()
    assert replacement.startswith("cw_") and replacement != leaked
    assert _bearer(replacement).get(f"/api/v1/cases/{case.pk}").status_code == 200
    again = follow("Leaked API token", amina, PREFIX=replacement[3:11])
    trail = again.page("/privacy/audit-log/?action=accounts.token").content.decode()
    assert "accounts.token.refused" in trail and "accounts.token.revoked" in trail


def test_suspected_insider(
    follow: Any, login: Any, amina: Any, omar: Any, register: Any, case: Case
) -> None:
    elsewhere = register(omar, given_name="Awa")
    session = login(amina)
    assert session.get(f"/cases/{case.pk}/").status_code == 200
    assert session.get(f"/cases/{elsewhere.pk}/").status_code == 404  # another team's: refused

    walk = follow("Suspected insider", amina)

    assert "amina" in walk.page("/privacy/audit-log/readers/").content.decode()
    reads = walk.page("/privacy/audit-log/?user=<user-id>&action").content.decode()
    refusals = walk.page("/privacy/audit-log/?user=<user-id>&outcome").content.decode()
    assert "cases.case.viewed" in reads and "cases.case.denied" in refusals
    exported = _csv(walk.page("/privacy/audit-log/export.csv"))
    assert {"cases.case.viewed", "cases.case.denied"} <= {
        a for row in exported for a in row.values()
    }
    assert walk.output("casework audit verify").startswith("OK:")
    amina.refresh_from_db()
    assert not amina.is_active and _signed_out(session)
    assert "Deleted old data keys" in walk.output("casework keys rotate --retire")
    assert _name(case) == "Fatima" and _name(elsewhere) == "Awa"  # rotated, still readable


def test_evacuation(follow: Any, amina: Any, xena: Any, register: Any, case: Case) -> None:
    theirs = register(xena, given_name="Binta")
    older = backup.back_up().path  # made before: holds the agency's keys, under the old master

    walk = follow("Evacuation", amina)

    assert "Purge of AGY finished." in walk.output("casework purge")
    assert AgencyPurge.objects.get(agency=case.agency).finished_at is not None
    assert isinstance(_name(case), Unreadable)
    assert _name(theirs) == "Binta"  # another agency's data is untouched
    assert not DataKey.objects.filter(agency=case.agency).exists()
    assert "The key files are not in the backup" in walk.output("casework backup")
    left = list(backup.backup_dir().glob("*.cwbackup"))
    assert len(left) == 1 and left[0] != older and not older.exists()
    assert walk.output("casework audit verify").startswith("OK:")
