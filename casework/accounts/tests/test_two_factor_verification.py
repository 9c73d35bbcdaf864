"""Signing in with an authenticator code or a recovery code, and the hold until then."""

from __future__ import annotations

from typing import Any

from casework.accounts import mfa
from casework.accounts.models import Authenticator
from casework.accounts.tests.conftest import code_for, unthrottle
from casework.audit.models import AuditEntry

VERIFY = "/accounts/two-factor/"


def _enrolled(user: Any, authenticator: Any) -> tuple[Authenticator, list[str]]:
    """An authenticator and recovery codes, as left by a completed set-up."""
    device = authenticator(user)
    codes = mfa._new_recovery_codes(user)
    return device, codes


def test_it_asks_for_the_code_after_the_password(
    mfa_required: Any, amina: Any, authenticator: Any, password_login: Any
) -> None:
    authenticator(amina)
    _client, response = password_login("amina", next="/cases/")
    assert response["Location"] == f"{VERIFY}?next=%2Fcases%2F"


def test_until_verified_only_the_two_factor_pages_sign_out_and_language_are_open(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any, case: Any
) -> None:
    authenticator(amina)
    client = login(amina)

    for path in ("/cases/", f"/cases/{case.pk}/", "/accounts/users/", "/admin/", "/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(VERIFY), path
    assert client.get(VERIFY).status_code == 200
    assert client.get("/static/casework/casework.css").status_code == 200
    language = client.post("/i18n/setlang/", {"language": "fr", "next": VERIFY})
    assert language["Location"] == VERIFY
    assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"


def test_until_verified_the_api_answers_401_mfa_required(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any
) -> None:
    authenticator(amina)
    response = login(amina).get("/api/v1/cases")
    assert response.status_code == 401
    assert response.json()["code"] == "mfa_required"
    assert response.json()["message"]


def test_the_redirect_keeps_the_page_asked_for(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any, case: Any
) -> None:
    device = authenticator(amina)
    client = login(amina)
    held = client.get(f"/cases/{case.pk}/")

    response = client.post(held["Location"], {"code": code_for(device)})

    assert response["Location"] == f"/cases/{case.pk}/"


def test_it_signs_in_with_a_code_from_the_authenticator(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any
) -> None:
    device = authenticator(amina)
    client = login(amina)
    key_before = client.session.session_key

    response = client.post(VERIFY, {"code": code_for(device)})

    assert response.status_code == 302
    assert response["Location"] == "/cases/"
    assert client.get("/cases/").status_code == 200
    assert client.get("/api/v1/cases").status_code == 200
    assert client.session.session_key != key_before
    entry = AuditEntry.objects.get(action="accounts.mfa.verified", actor=amina)
    assert entry.data == {"method": "totp"}


def test_it_refuses_a_wrong_code_audits_it_and_keeps_the_hold(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any
) -> None:
    device = authenticator(amina)
    client = login(amina)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"

    response = client.post(VERIFY, {"code": wrong})

    assert response.status_code == 200
    assert "That code is not valid" in response.content.decode()
    assert AuditEntry.objects.get(action="accounts.mfa.failed").data == {
        "step": "verify",
        "reason": "invalid",
    }
    assert client.get("/cases/")["Location"].startswith(VERIFY)


def test_after_a_wrong_code_it_makes_the_person_wait(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any
) -> None:
    device = authenticator(amina)
    client = login(amina)
    client.post(VERIFY, {"code": "000000" if code_for(device) != "000000" else "111111"})

    response = client.post(VERIFY, {"code": code_for(device)})

    assert "Too many wrong codes" in response.content.decode()
    assert AuditEntry.objects.filter(
        action="accounts.mfa.failed", data__reason="throttled"
    ).exists()
    unthrottle(device)
    assert client.post(VERIFY, {"code": code_for(device)}).status_code == 302


def test_a_code_cannot_be_used_twice(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any
) -> None:
    device = authenticator(amina)
    code = code_for(device)
    assert login(amina).post(VERIFY, {"code": code}).status_code == 302

    replay = login(amina).post(VERIFY, {"code": code})

    assert replay.status_code == 200
    assert "That code is not valid" in replay.content.decode()


def test_a_recovery_code_signs_in_once_and_is_audited(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any
) -> None:
    _device, codes = _enrolled(amina, authenticator)
    client = login(amina)

    response = client.post(VERIFY, {"code": codes[0].upper().replace("-", " ")}, follow=True)

    assert response.redirect_chain[0][0] == "/cases/"
    assert "9 left" in response.content.decode()
    used = AuditEntry.objects.get(action="accounts.mfa.recovery_used", actor=amina)
    assert used.data == {"left": 9}
    assert AuditEntry.objects.get(action="accounts.mfa.verified").data == {"method": "recovery"}

    again = login(amina).post(VERIFY, {"code": codes[0]})
    assert again.status_code == 200
    assert "That code is not valid" in again.content.decode()


def test_a_verified_user_is_not_asked_again_in_the_same_session(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any
) -> None:
    device = authenticator(amina)
    client = login(amina)
    client.post(VERIFY, {"code": code_for(device)})
    assert client.get(VERIFY)["Location"] == "/cases/"


def test_an_outside_address_is_not_followed_after_verification(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any
) -> None:
    device = authenticator(amina)
    response = login(amina).post(
        VERIFY, {"code": code_for(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/cases/"


def test_users_who_need_no_second_factor_are_untouched(
    amina: Any, authenticator: Any, login: Any
) -> None:
    authenticator(amina)  # enrolled once, but the agency does not require it
    client = login(amina)
    assert client.get("/cases/").status_code == 200
    assert client.get("/api/v1/cases").status_code == 200
