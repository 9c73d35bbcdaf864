"""Setting up two-factor sign-in after the password: QR code, confirmation, recovery codes."""

from __future__ import annotations

import re
from typing import Any

from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.accounts import mfa
from casework.accounts.tests.conftest import code_for
from casework.audit.models import AuditEntry

ENROL = "/accounts/two-factor/set-up/"
VERIFY = "/accounts/two-factor/"


def test_it_sends_a_user_without_an_authenticator_to_set_up_after_the_password(
    mfa_required: Any, amina: Any, password_login: Any
) -> None:
    _client, response = password_login("amina")
    assert response.status_code == 302
    assert response["Location"].startswith(ENROL + "?next=")


def test_it_shows_the_qr_code_inline_and_the_key_as_text(
    mfa_required: Any, amina: Any, login: Any
) -> None:
    response = login(amina).get(ENROL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and "<path" in body
    device = TOTPDevice.objects.get(user=amina, confirmed=False)
    assert mfa.secret_for_display(device) in body
    # Drawn here, not by a QR service that would learn the secret.
    assert "otpauth" not in body and "chart.googleapis" not in body
    assert " style=" not in body and "<script>" not in body


def test_it_keeps_the_same_key_when_the_page_is_reloaded(
    mfa_required: Any, amina: Any, login: Any
) -> None:
    client = login(amina)
    client.get(ENROL)
    client.get(ENROL)
    assert TOTPDevice.objects.filter(user=amina).count() == 1


def test_it_confirms_with_a_code_and_shows_ten_recovery_codes_once(
    mfa_required: Any, amina: Any, login: Any
) -> None:
    client = login(amina)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=amina)

    response = client.post(ENROL, {"code": code_for(device), "next": "/cases/"})

    assert response.status_code == 200
    shown = re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4})</code>", response.content.decode())
    assert len(shown) == 10
    stored = set(StaticToken.objects.filter(device__user=amina).values_list("token", flat=True))
    assert {code.replace("-", "") for code in shown} == stored
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEntry.objects.filter(
        action="accounts.mfa.enrolled", actor=amina, object_id=str(amina.pk)
    ).exists()
    # Signed in fully now; the codes are not shown a second time.
    assert client.get("/cases/").status_code == 200
    again = client.get(ENROL)
    assert again.status_code == 302
    assert "<code>" not in client.get(again["Location"]).content.decode()


def test_it_refuses_a_wrong_code_and_audits_the_failure(
    mfa_required: Any, amina: Any, login: Any
) -> None:
    client = login(amina)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=amina)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"

    response = client.post(ENROL, {"code": wrong})

    assert response.status_code == 200
    assert "That code is not valid" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert device.throttling_failure_count == 1
    failure = AuditEntry.objects.get(action="accounts.mfa.failed", actor=amina)
    assert failure.outcome == "failed"
    assert failure.data == {"step": "enrol", "reason": "invalid"}
    assert client.get("/cases/").status_code == 302


def test_a_password_alone_cannot_replace_an_enrolled_authenticator(
    mfa_required: Any, amina: Any, login: Any, authenticator: Any
) -> None:
    enrolled = authenticator(amina)
    client = login(amina)

    assert client.get(ENROL)["Location"].startswith(VERIFY)
    response = client.post(ENROL, {"code": "123456"})

    assert response["Location"].startswith(VERIFY)
    assert list(TOTPDevice.objects.filter(user=amina)) == [enrolled]


def test_a_user_who_does_not_need_two_factor_is_not_asked_to_set_it_up(
    amina: Any, password_login: Any, login: Any
) -> None:
    _client, response = password_login("amina")
    assert response["Location"] == "/cases/"
    assert login(amina).get(ENROL).status_code == 302
    assert not TOTPDevice.objects.filter(user=amina).exists()


def test_a_role_without_personal_data_is_not_asked_even_where_the_agency_requires_it(
    mfa_required: Any, mei: Any, password_login: Any
) -> None:
    _client, response = password_login("mei")
    assert not response["Location"].startswith("/accounts/two-factor/")
