"""Sign-in failures: one message for every failure, and a pause after five for any username."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core import mail

from conftest import PASSWORD

WRONG = "not the right passphrase at all"


def _comparable(response: Any, username: str) -> str:
    """The page without what differs by nature: the CSRF token and the username typed back."""
    body = response.content.decode()
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    return body.replace(f'value="{username}"', "")


def test_it_says_the_same_for_a_wrong_password_and_an_unknown_username(
    amina: Any, password_login: Any
) -> None:
    _client, known = password_login("amina", WRONG)
    _client, unknown = password_login("nobody-here", WRONG)

    assert known.status_code == unknown.status_code == 200
    assert known.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()
    assert "do not match an active account" in known.content.decode()
    assert _comparable(known, "amina") == _comparable(unknown, "nobody-here")


def test_a_deactivated_account_gets_the_same_message(amina: Any, password_login: Any) -> None:
    amina.is_active = False
    amina.save(update_fields=["is_active"])
    _client, inactive = password_login("amina")
    _client, unknown = password_login("nobody-here", WRONG)
    assert _comparable(inactive, "amina") == _comparable(unknown, "nobody-here")


def test_it_pauses_the_account_after_the_failure_limit(amina: Any, password_login: Any) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    for _attempt in range(limit - 1):
        _client, response = password_login("amina", WRONG)
        assert response.status_code == 200

    _client, last = password_login("amina", WRONG)
    client, right_password = password_login("amina", PASSWORD)

    assert last.status_code == 429
    assert right_password.status_code == 429
    assert "Too many failed attempts" in right_password.content.decode()
    assert client.get("/cases/")["Location"].startswith("/accounts/login/")


def test_an_unknown_username_is_paused_the_same_way(amina: Any, password_login: Any) -> None:
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _client, known = password_login("amina", WRONG)
        _client, unknown = password_login("nobody-here", WRONG)

    assert known.status_code == unknown.status_code == 429
    assert _comparable(known, "amina") == _comparable(unknown, "nobody-here")


def test_the_pause_is_per_account_not_per_address(
    amina: Any, omar: Any, password_login: Any
) -> None:
    """A field office shares one address: one person's typos must not lock out colleagues."""
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        password_login("amina", WRONG)
    _client, colleague = password_login("omar", PASSWORD)
    assert colleague.status_code == 302


def test_a_success_before_the_limit_forgets_earlier_failures(
    amina: Any, password_login: Any
) -> None:
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        password_login("amina", WRONG)
    password_login("amina", PASSWORD)
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        password_login("amina", WRONG)
    _client, response = password_login("amina", PASSWORD)
    assert response.status_code == 302


def test_password_reset_does_not_tell_whether_an_address_has_an_account(
    amina: Any, client: Any
) -> None:
    known = client.post("/accounts/password-reset/", {"email": "amina@example.org"})
    unknown = client.post("/accounts/password-reset/", {"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/accounts/password-reset/sent/"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["amina@example.org"]


def test_password_reset_sends_nothing_to_a_deactivated_account(amina: Any, client: Any) -> None:
    amina.is_active = False
    amina.save(update_fields=["is_active"])
    response = client.post("/accounts/password-reset/", {"email": "amina@example.org"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []
