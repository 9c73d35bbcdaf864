"""Setting up two-factor sign-in after the password: the administrator's enrolment code, the QR
code, confirmation, recovery codes."""

from __future__ import annotations

import re
from typing import Any

from casework.accounts import mfa
from casework.accounts.models import Authenticator, EnrolmentCode, RecoveryCode
from casework.accounts.tests.conftest import ENROL, begin_enrolment, code_for
from casework.audit.models import AuditEntry

VERIFY = "/accounts/two-factor/"


def test_it_sends_a_user_without_an_authenticator_to_set_up_after_the_password(
    mfa_required: Any, amina: Any, password_login: Any
) -> None:
    _client, response = password_login("amina")
    assert response.status_code == 302
    assert response["Location"].startswith(ENROL + "?next=")


def test_it_asks_for_the_enrolment_code_first_and_shows_no_secret_without_it(
    mfa_required: Any, amina: Any, login: Any
) -> None:
    client = login(amina)

    page = client.get(ENROL).content.decode()
    empty = client.post(ENROL, {"enrolment_code": ""}).content.decode()

    assert "ask your administrator" in page
    assert 'name="enrolment_code"' in page
    assert "<svg" not in page and "<svg" not in empty
    assert "ask your administrator for one" in empty
    assert not Authenticator.objects.filter(user=amina).exists()


def test_the_password_alone_cannot_bind_an_authenticator(
    mfa_required: Any, amina: Any, login: Any
) -> None:
    """The attack: whoever has a new user's password binds their own authenticator first."""
    client = login(amina)
    client.get(ENROL)

    guessed = client.post(ENROL, {"enrolment_code": "AAAA-BBBB-CCCC"})
    confirmed = client.post(ENROL, {"code": "123456"})

    assert guessed.status_code == 200
    assert "That enrolment code is not valid" in guessed.content.decode()
    assert confirmed.status_code == 200 and "<svg" not in confirmed.content.decode()
    assert not Authenticator.objects.filter(user=amina).exists()
    assert not mfa.has_authenticator(amina)
    assert client.get("/cases/")["Location"].startswith(ENROL)
    failure = AuditEntry.objects.get(action="accounts.mfa.failed", actor=amina)
    assert failure.data == {"step": "enrolment_code", "reason": "invalid"}


def test_it_shows_the_qr_code_inline_and_the_key_as_text_once_the_code_is_given(
    mfa_required: Any, amina: Any, login: Any, enrolment_code: Any
) -> None:
    client = login(amina)
    device = begin_enrolment(client, enrolment_code(amina))

    body = client.get(ENROL).content.decode()

    assert "<svg" in body and "<path" in body
    assert mfa.secret_for_display(device) in body
    # Drawn here, not by a QR service that would learn the secret.
    assert "otpauth" not in body and "chart.googleapis" not in body
    assert " style=" not in body and "<script>" not in body


def test_it_keeps_the_same_key_when_the_page_is_reloaded(
    mfa_required: Any, amina: Any, login: Any, enrolment_code: Any
) -> None:
    client = login(amina)
    begin_enrolment(client, enrolment_code(amina))
    client.get(ENROL)
    client.get(ENROL)
    assert Authenticator.objects.filter(user=amina).count() == 1


def test_another_session_never_sees_the_secret_being_confirmed(
    mfa_required: Any, amina: Any, login: Any, enrolment_code: Any
) -> None:
    code = enrolment_code(amina)
    first = begin_enrolment(login(amina), code)
    second = begin_enrolment(login(amina), code)
    assert first.pk != second.pk
    assert first.secret != second.secret


def test_it_confirms_with_a_code_and_shows_ten_recovery_codes_once(
    mfa_required: Any, amina: Any, login: Any, enrolment_code: Any
) -> None:
    client = login(amina)
    device = begin_enrolment(client, enrolment_code(amina))

    response = client.post(ENROL, {"code": code_for(device), "next": "/cases/"})

    assert response.status_code == 200
    shown = re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4})</code>", response.content.decode())
    assert len(shown) == 10
    stored = {
        str(code)
        for code in RecoveryCode.objects.filter(code_set__user=amina).values_list("code", flat=True)
    }
    assert {code.replace("-", "") for code in shown} == stored
    device.refresh_from_db()
    assert device.confirmed
    issued = EnrolmentCode.objects.get(user=amina)
    assert issued.used_at is not None
    entry = AuditEntry.objects.get(action="accounts.mfa.enrolled", actor=amina)
    assert (entry.object_id, entry.data) == (
        str(amina.pk),
        {"method": "totp", "enrolment_code": issued.pk},
    )
    # Signed in fully now; the codes are not shown a second time.
    assert client.get("/cases/").status_code == 200
    again = client.get(ENROL)
    assert again.status_code == 302
    assert "<code>" not in client.get(again["Location"]).content.decode()


def test_it_refuses_a_wrong_code_and_audits_the_failure(
    mfa_required: Any, amina: Any, login: Any, enrolment_code: Any
) -> None:
    client = login(amina)
    device = begin_enrolment(client, enrolment_code(amina))
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
    assert EnrolmentCode.objects.get(user=amina).used_at is None
    assert client.get("/cases/").status_code == 302


def test_a_password_alone_cannot_replace_an_enrolled_authenticator(
    mfa_required: Any, amina: Any, login: Any, authenticator: Any
) -> None:
    enrolled = authenticator(amina)
    client = login(amina)

    assert client.get(ENROL)["Location"].startswith(VERIFY)
    response = client.post(ENROL, {"code": "123456"})

    assert response["Location"].startswith(VERIFY)
    assert list(Authenticator.objects.filter(user=amina)) == [enrolled]


def test_a_user_who_does_not_need_two_factor_is_not_asked_to_set_it_up(
    amina: Any, password_login: Any, login: Any
) -> None:
    _client, response = password_login("amina")
    assert response["Location"] == "/cases/"
    assert login(amina).get(ENROL).status_code == 302
    assert not Authenticator.objects.filter(user=amina).exists()


def test_a_role_without_personal_data_is_not_asked_even_where_the_agency_requires_it(
    mfa_required: Any, mei: Any, password_login: Any
) -> None:
    _client, response = password_login("mei")
    assert not response["Location"].startswith("/accounts/two-factor/")
