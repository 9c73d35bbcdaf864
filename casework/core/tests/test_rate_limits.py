"""Rate limits answer 429 with Retry-After, per user (or token) and per address, on sign-in,
password reset, the API, exports and uploads; sign-in pauses grow instead of a hard lock."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import Client

from casework.accounts import throttle, tokens
from casework.core import ratelimits
from conftest import PASSWORD

WRONG = "not the right passphrase at all"


def _limits(settings: Any, **rates: str) -> None:
    settings.CASEWORK_RATE_LIMITS = rates


def _retry_after(response: Any) -> int:
    assert response.status_code == 429, response.status_code
    return int(response["Retry-After"])


def test_the_api_limits_each_caller_and_says_when_to_come_back(
    settings: Any, login: Any, amina: Any, omar: Any
) -> None:
    _limits(settings, api="3/m")
    client = login(amina)
    for _ in range(3):
        assert client.get("/api/v1/tasks").status_code == 200
    refused = client.get("/api/v1/tasks")
    assert 0 < _retry_after(refused) <= 60
    assert refused.json()["code"] == "rate_limited"
    # Someone else, from the same office address, is not held back by it.
    assert login(omar).get("/api/v1/tasks").status_code == 200


def test_a_token_is_limited_as_its_own_caller(settings: Any, amina: Any) -> None:
    _limits(settings, api="2/m")
    token = tokens.create_token(owner=amina, by=None, name="t", scopes=["read"], days=1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/tasks").status_code == 200
    assert client.get("/api/v1/tasks").status_code == 200
    _retry_after(client.get("/api/v1/tasks"))


def test_guessing_tokens_is_limited_by_address(settings: Any, db: Any) -> None:
    _limits(settings, api_address="3/m")
    statuses = [
        Client(HTTP_AUTHORIZATION=f"Bearer cw_guess{n}").get("/api/v1/tasks").status_code
        for n in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_sign_in_is_limited_by_address(settings: Any, amina: Any) -> None:
    _limits(settings, sign_in_address="3/10m")
    client = Client()
    for n in range(3):
        client.post("/accounts/login/", {"username": f"someone{n}", "password": WRONG})
    refused = client.post("/accounts/login/", {"username": "amina", "password": PASSWORD})
    assert _retry_after(refused) > 0
    assert "Too many requests" in refused.content.decode()


def test_guessing_one_account_from_many_addresses_is_limited(settings: Any, amina: Any) -> None:
    _limits(settings, sign_in_account="3/h")
    for n in range(3):
        Client(REMOTE_ADDR=f"10.0.0.{n}").post(
            "/accounts/login/", {"username": "amina", "password": WRONG}
        )
    refused = Client(REMOTE_ADDR="10.0.9.9").post(
        "/accounts/login/", {"username": "amina", "password": WRONG}
    )
    assert _retry_after(refused) > 0


def test_password_reset_is_limited_per_address_and_per_account(settings: Any, amina: Any) -> None:
    _limits(settings, reset_account="2/h", reset_address="4/h")
    client = Client()
    for _ in range(2):
        client.post("/accounts/password-reset/", {"email": "amina@example.org"})
    _retry_after(client.post("/accounts/password-reset/", {"email": "amina@example.org"}))
    client.post("/accounts/password-reset/", {"email": "x@example.org"})
    _retry_after(client.post("/accounts/password-reset/", {"email": "y@example.org"}))


def test_exports_and_uploads_are_limited_per_user(settings: Any, login: Any, paul: Any) -> None:
    _limits(settings, export="1/h", upload="1/h")
    client = login(paul)
    body = {"file_format": "csv", "with_names": False, "period": ""}
    first = client.post("/api/v1/interchange/exports", body, content_type="application/json")
    assert first.status_code in (200, 201)
    second = client.post("/api/v1/interchange/exports", body, content_type="application/json")
    _retry_after(second)
    client.post("/imports/", {})
    _retry_after(client.post("/imports/", {}))


def test_limits_can_be_switched_off(settings: Any, login: Any, amina: Any) -> None:
    _limits(settings, api="1/m")
    settings.CASEWORK_RATE_LIMITS_ENABLED = False
    client = login(amina)
    assert [client.get("/api/v1/tasks").status_code for _ in range(3)] == [200, 200, 200]


# --- sign-in back-off ----------------------------------------------------------------------------


def _fail(client: Client, times: int) -> Any:
    response = None
    for _ in range(times):
        response = client.post("/accounts/login/", {"username": "amina", "password": WRONG})
    return response


def _age_attempts(seconds: int) -> None:
    """Let `seconds` pass for the pause: the failures in the database and the strike's end."""
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= datetime.timedelta(seconds=seconds)
        attempt.save(update_fields=["attempt_time"])
        key = throttle._key(attempt.username or "", attempt.ip_address or "")
        count, until = throttle._state(key)
        cache.set(key, (count, until - seconds), throttle.STRIKES_TTL)


def test_the_sign_in_pause_grows_with_each_lock_out(settings: Any, amina: Any) -> None:
    client = Client(REMOTE_ADDR="10.1.1.1")
    first = _fail(client, settings.AXES_FAILURE_LIMIT)
    assert 50 <= _retry_after(first) <= 60
    # Retrying while paused does not make the pause longer.
    assert 50 <= _retry_after(_fail(client, 1)) <= 60
    _age_attempts(61)
    second = _fail(client, settings.AXES_FAILURE_LIMIT)
    assert 110 <= _retry_after(second) <= 120
    assert "try again in 2 minutes" in second.content.decode()


def test_a_pause_holds_only_for_the_address_it_came_from(settings: Any, amina: Any) -> None:
    """Someone guessing from elsewhere does not lock the person out at their own office."""
    _fail(Client(REMOTE_ADDR="203.0.113.9"), settings.AXES_FAILURE_LIMIT)
    office = Client(REMOTE_ADDR="10.1.1.1").post(
        "/accounts/login/", {"username": "amina", "password": PASSWORD}
    )
    assert office.status_code == 302


def test_nothing_is_limited_below_the_defaults(login: Any, amina: Any) -> None:
    client = login(amina)
    assert all(client.get("/api/v1/tasks").status_code == 200 for _ in range(20))
    strangers = Client()
    for n in range(20):
        answer = strangers.post("/accounts/login/", {"username": f"x{n}", "password": WRONG})
        assert answer.status_code == 200


def test_an_extra_bearer_header_does_not_escape_the_limit(
    settings: Any, login: Any, amina: Any
) -> None:
    """A signed-in user is counted as themself, whatever Authorization header they add."""
    _limits(settings, api="3/m", api_address="3/m")
    client = login(amina)
    statuses = [
        client.get("/api/v1/tasks", HTTP_AUTHORIZATION=f"Bearer random-{n}").status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_a_window_lasts_its_length_and_then_starts_again(
    settings: Any, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _limits(settings, api="2/h")
    rule = ratelimits.BY_NAME["api"]
    now = 1_800_000_000.0
    monkeypatch.setattr(ratelimits.time, "time", lambda: now)
    assert ratelimits.hit(rule, "someone")[0] == 1
    now += 3000  # 50 minutes later: the same hour window, whatever a cache's timeout says
    hits, left = ratelimits.hit(rule, "someone")
    assert hits == 2 and left <= 600
    now += 3600
    assert ratelimits.hit(rule, "someone")[0] == 1


def test_the_real_person_signs_in_from_a_known_browser_while_someone_guesses(
    settings: Any, amina: Any
) -> None:
    _limits(settings, sign_in_account="3/h")
    office = Client(REMOTE_ADDR="10.1.1.1")
    assert (
        office.post("/accounts/login/", {"username": "amina", "password": PASSWORD}).status_code
        == 302
    )
    assert ratelimits.KNOWN_DEVICE_COOKIE in office.cookies
    office.post("/accounts/logout/")
    for n in range(4):  # someone guessing from elsewhere runs the account's limit up
        Client(REMOTE_ADDR=f"198.51.100.{n}").post(
            "/accounts/login/", {"username": "amina", "password": WRONG}
        )
    stranger = Client(REMOTE_ADDR="10.1.1.2")
    _retry_after(stranger.post("/accounts/login/", {"username": "amina", "password": PASSWORD}))
    back = office.post("/accounts/login/", {"username": "amina", "password": PASSWORD})
    assert back.status_code == 302


def test_names_are_counted_as_django_compares_them(settings: Any, amina: Any) -> None:
    _limits(settings, sign_in_account="2/h")
    for name in ("amina", "AMINA"):
        Client().post("/accounts/login/", {"username": name, "password": WRONG})
    fullwidth = Client().post("/accounts/login/", {"username": "\uff41mina", "password": PASSWORD})
    _retry_after(fullwidth)


def test_every_upload_route_is_limited(settings: Any, login: Any, mei: Any) -> None:
    for path in (
        "/imports/",
        "/questionnaires/upload/",
        "/questionnaires/7/upload/",
        "/services/import/",
        "/api/v1/interchange/imports",
        "/api/v1/assessments/questionnaires",
        "/api/v1/assessments/questionnaires/new",
        "/api/v1/assessments/questionnaires/7/versions",
        "/api/v1/referrals/services/import",
    ):
        assert ratelimits.BY_NAME["upload"].path.match(path), path


def test_behind_a_proxy_the_pause_holds_for_the_guessers_address_only(
    settings: Any, amina: Any
) -> None:
    settings.AXES_IPWARE_PROXY_COUNT = 1
    guesser = Client(HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.1")
    _fail(guesser, settings.AXES_FAILURE_LIMIT)
    office = Client(HTTP_X_FORWARDED_FOR="198.51.100.7", REMOTE_ADDR="10.0.0.1")
    response = office.post("/accounts/login/", {"username": "amina", "password": PASSWORD})
    assert response.status_code == 302
    assert _retry_after(_fail(guesser, 1)) > 0
