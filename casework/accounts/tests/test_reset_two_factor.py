"""An administrator resets the two-factor sign-in of someone who lost their phone."""

from __future__ import annotations

from typing import Any

import pytest

from casework.accounts import mfa, services
from casework.accounts.models import Authenticator, RecoveryCodeSet
from casework.audit.models import AuditEntry
from casework.core.errors import NotAllowed


def _url(user: Any) -> str:
    return f"/accounts/users/{user.pk}/reset-two-factor/"


def test_the_administrator_resets_it_and_the_user_sets_up_a_new_authenticator(
    amina: Any, adam: Any, login: Any, authenticator: Any, password_login: Any
) -> None:
    authenticator(amina)
    mfa._new_recovery_codes(amina)
    aminas_session = login(amina)
    assert aminas_session.get("/cases/").status_code == 200
    admin = login(adam)
    assert "Reset two-factor" in admin.get("/accounts/users/").content.decode()

    response = admin.post(_url(amina))

    assert response.status_code == 302 and response["Location"] == "/accounts/users/"
    assert not Authenticator.objects.filter(user=amina).exists()
    assert not RecoveryCodeSet.objects.filter(user=amina).exists()
    assert aminas_session.get("/cases/")["Location"].startswith("/accounts/login/")
    entry = AuditEntry.objects.get(action="accounts.mfa.reset")
    assert (entry.actor, entry.object_id) == (adam, str(amina.pk))
    # Her agency requires two-factor sign-in: her next sign-in goes to setting up a new one.
    amina.agency.require_mfa = True
    amina.agency.save(update_fields=["require_mfa"])
    _client, signed_in = password_login("amina")
    assert signed_in.status_code == 302
    assert signed_in["Location"].startswith("/accounts/two-factor/set-up/")


def test_an_administrator_of_another_agency_gets_404_and_changes_nothing(
    amina: Any, make_user: Any, other_agency: Any, login: Any, authenticator: Any
) -> None:
    authenticator(amina)
    stranger = make_user("olaf", agency=other_agency, role="none", is_administrator=True)
    assert login(stranger).post(_url(amina)).status_code == 404
    assert Authenticator.objects.filter(user=amina).exists()
    assert not AuditEntry.objects.filter(action="accounts.mfa.reset").exists()


def test_a_caseworker_may_not_reset_a_colleague(
    amina: Any, omar: Any, login: Any, authenticator: Any
) -> None:
    authenticator(omar)
    assert login(amina).post(_url(omar)).status_code in (403, 404)
    assert Authenticator.objects.filter(user=omar).exists()


def test_it_takes_a_post(amina: Any, adam: Any, login: Any, authenticator: Any) -> None:
    authenticator(amina)
    assert login(adam).get(_url(amina)).status_code == 405
    assert Authenticator.objects.filter(user=amina).exists()


def test_nobody_resets_their_own_and_there_must_be_something_to_reset(
    amina: Any, adam: Any, login: Any, authenticator: Any
) -> None:
    authenticator(adam)
    with pytest.raises(NotAllowed):
        services.reset_two_factor(adam, by=adam)
    assert Authenticator.objects.filter(user=adam).exists()
    page = login(adam).post(_url(amina), follow=True)
    assert "no two-factor sign-in to reset" in page.content.decode()
    assert not AuditEntry.objects.filter(action="accounts.mfa.reset").exists()
