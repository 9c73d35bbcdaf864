"""Two app servers, one state: ending a session or revoking a token on one server holds on the
other at its next request, and a rate limit counts the requests both servers answered.

Two real server processes (`manage.py runserver`, production settings) against the test
database; this test process plays the people using them.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection

from casework.accounts import tokens
from conftest import PASSWORD

pytestmark = [
    pytest.mark.commits,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def servers() -> Iterator[list[str]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "CASEWORK_HTTPS": "0",
        "CASEWORK_RATE_LIMITS": json.dumps({"api": "5/m"}),
    }
    started = []
    urls = []
    for _ in range(2):
        port = _free_port()
        started.append(
            subprocess.Popen(  # noqa: S603 - our own manage.py
                [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            for _ in range(200):
                try:
                    requests.get(url + "/accounts/login/", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.05)
        yield urls
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=10)


def _production_password(*users: Any) -> None:
    """The servers run production settings, which know argon2 only (the tests hash with MD5)."""
    hasher = Argon2PasswordHasher()
    for user in users:
        user.password = hasher.encode(PASSWORD, hasher.salt())
        user.save(update_fields=["password"])


def _sign_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/accounts/login/", timeout=5)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    done = session.post(
        base + "/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": base + "/accounts/login/"},
        allow_redirects=False,
        timeout=5,
    )
    assert done.status_code == 302, done.status_code
    return session


def _post(session: requests.Session, base: str, path: str) -> requests.Response:
    return session.post(
        base + path,
        data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": base + path},
        allow_redirects=False,
        timeout=5,
    )


def test_ending_sessions_on_one_server_signs_out_on_the_other(
    servers: list[str], amina: Any, adam: Any
) -> None:
    first, second = servers
    _production_password(amina, adam)
    worker = _sign_in(first, "amina")
    assert worker.get(first + "/api/v1/tasks", timeout=5).status_code == 200
    admin = _sign_in(second, "adam")
    assert _post(admin, second, f"/accounts/users/{amina.pk}/end-sessions/").status_code == 302
    assert worker.get(first + "/api/v1/tasks", timeout=5).status_code == 401


def test_a_token_revoked_on_one_server_stops_on_the_other(
    servers: list[str], amina: Any, adam: Any
) -> None:
    first, second = servers
    token = tokens.create_token(owner=amina, by=None, name="sync", scopes=["read"], days=1)
    bearer = {"Authorization": f"Bearer {token}"}
    assert requests.get(first + "/api/v1/tasks", headers=bearer, timeout=5).status_code == 200
    _production_password(adam)
    admin = _sign_in(second, "adam")
    row = amina.api_tokens.get()
    assert _post(admin, second, f"/accounts/tokens/{row.pk}/revoke/").status_code == 302
    assert requests.get(first + "/api/v1/tasks", headers=bearer, timeout=5).status_code == 401


def test_a_rate_limit_counts_what_both_servers_answered(servers: list[str], amina: Any) -> None:
    """Twelve requests at once, half on each server, against a limit of five: exactly five are
    answered (a read-then-write counter would let more through)."""
    first, second = servers
    token = tokens.create_token(owner=amina, by=None, name="sync", scopes=["read"], days=1)
    bearer = {"Authorization": f"Bearer {token}"}

    def ask(base: str) -> requests.Response:
        return requests.get(base + "/api/v1/tasks", headers=bearer, timeout=30)

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(ask, [first, second] * 6))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 5 + [429] * 7
    assert all(int(a.headers["Retry-After"]) > 0 for a in answers if a.status_code == 429)
