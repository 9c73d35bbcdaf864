"""Making new recovery codes takes a fresh authenticator code; the old ones stop working."""

from __future__ import annotations

import re
from typing import Any

from casework.accounts import mfa
from casework.accounts.models import RecoveryCodeSet
from casework.accounts.tests.conftest import code_for, unthrottle
from casework.audit.models import AuditEntry

PAGE = "/accounts/two-factor/recovery-codes/"
VERIFY = "/accounts/two-factor/"


def _verified_client(user: Any, authenticator: Any, login: Any) -> tuple[Any, Any, list[str]]:
    device = authenticator(user)
    old_codes = mfa._new_recovery_codes(user)
    client = login(user)
    assert client.post(VERIFY, {"code": code_for(device)}).status_code == 302
    return client, device, old_codes


def test_it_shows_how_many_codes_are_left(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any
) -> None:
    client, _device, _codes = _verified_client(amina, authenticator, login)
    assert "10 unused recovery codes" in client.get(PAGE).content.decode()


def test_it_makes_ten_new_codes_for_a_fresh_code_and_the_old_ones_stop_working(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any
) -> None:
    client, device, old_codes = _verified_client(amina, authenticator, login)

    response = client.post(PAGE, {"code": code_for(device, steps_ahead=1)})

    assert response.status_code == 200
    new_codes = re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4})</code>", response.content.decode())
    assert len(new_codes) == 10
    assert not set(new_codes) & set(old_codes)
    assert AuditEntry.objects.filter(action="accounts.mfa.recovery_regenerated").exists()
    assert login(amina).post(VERIFY, {"code": old_codes[0]}).status_code == 200
    unthrottle(RecoveryCodeSet.objects.get(user=amina))
    assert login(amina).post(VERIFY, {"code": new_codes[0]}).status_code == 302


def test_it_refuses_without_a_fresh_code(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any
) -> None:
    client, device, old_codes = _verified_client(amina, authenticator, login)

    replayed = client.post(PAGE, {"code": code_for(device)})  # already used to sign in
    recovery = client.post(PAGE, {"code": old_codes[0]})

    for response in (replayed, recovery):
        assert response.status_code == 200
        assert "<code>" not in response.content.decode()
    assert mfa.recovery_codes_left(amina) == 10
    assert AuditEntry.objects.filter(action="accounts.mfa.failed", data__step="regenerate").exists()


def test_a_session_without_the_second_factor_cannot_reach_it(
    mfa_required: Any, amina: Any, authenticator: Any, login: Any
) -> None:
    authenticator(amina)
    assert login(amina).get(PAGE)["Location"].startswith(VERIFY)


def test_someone_signed_out_is_sent_to_sign_in(client: Any) -> None:
    assert client.get(PAGE)["Location"].startswith("/accounts/login/")
