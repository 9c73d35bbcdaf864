"""API tokens: made after a fresh second factor, scoped, short-lived, revocable by the owner and
the agency's administrator, voided with the owner's sessions — and able to write.

Each finding of the security review is reproduced here and now fails:
- a token of a user who owes a second factor they never set up read case files;
- after "end sessions", a new password or a two-factor reset the token still answered 200;
- tokens could only be made and revoked in Django admin, with the user's full rights;
- every POST with a bearer token got 403 (the session's CSRF check ran first).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from casework.accounts import services, tokens
from casework.accounts.models import ApiToken, User
from casework.accounts.tests.conftest import code_for, unthrottle
from casework.audit.models import AuditEntry
from casework.core.errors import FieldErrors, NotAllowed
from conftest import PASSWORD

NOTE = {"text": "Home visit: all well.", "contact_type": "home_visit"}


def _bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", enforce_csrf_checks=True)


def _token(owner: Any, *scopes: str, days: int = 30) -> str:
    return tokens.create_token(
        owner=owner, by=None, name="test", scopes=scopes or ("read",), days=days
    )


def _note(client: Client, case: Any) -> Any:
    return client.post(f"/api/v1/cases/{case.pk}/notes", NOTE, content_type="application/json")


# --- writing with a token --------------------------------------------------------------------


def test_a_write_token_writes_without_a_csrf_token(amina: Any, case: Any) -> None:
    client = _bearer(_token(amina, "read", "write"))
    response = _note(client, case)
    assert response.status_code == 201, response.content
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200


def test_a_session_write_still_needs_its_csrf_token(amina: Any, case: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(amina)
    assert _note(client, case).status_code == 403


def test_a_read_token_cannot_write_and_a_write_token_cannot_read(amina: Any, case: Any) -> None:
    reader = _bearer(_token(amina, "read"))
    refused = _note(reader, case)
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert reader.get(f"/api/v1/cases/{case.pk}").status_code == 200
    writer = _bearer(_token(amina, "write"))
    assert writer.get(f"/api/v1/cases/{case.pk}").status_code == 403
    assert AuditEntry.objects.filter(action="accounts.token.refused", outcome="denied").count() == 2


def test_exporting_needs_the_export_scope(paul: Any) -> None:
    body = {"file_format": "csv", "with_names": False, "period": ""}
    without = _bearer(_token(paul, "read", "write")).post(
        "/api/v1/interchange/exports", body, content_type="application/json"
    )
    assert without.status_code == 403 and without.json()["code"] == "insufficient_scope"
    allowed = _bearer(_token(paul, "export")).post(
        "/api/v1/interchange/exports", body, content_type="application/json"
    )
    assert allowed.status_code in (200, 201), allowed.content


def test_a_token_reaches_only_what_its_owner_may(xena: Any, case: Any) -> None:
    client = _bearer(_token(xena, "read", "write"))
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 404
    assert _note(client, case).status_code == 404


def test_an_unknown_or_malformed_token_is_401(case: Any) -> None:
    for token in ("cw_not-a-real-token", "something-else"):
        assert _bearer(token).get(f"/api/v1/cases/{case.pk}").status_code == 401


# --- bound to the owner's sessions and second factor ----------------------------------------


@pytest.mark.parametrize("ending", ["end_sessions", "password", "mfa_reset", "deactivate"])
def test_incident_response_voids_the_token(
    ending: str,
    amina: Any,
    adam: Any,
    case: Any,
    authenticator: Callable[[Any], Any],
) -> None:
    authenticator(amina)
    client = _bearer(_token(amina, "read"))
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200
    if ending == "end_sessions":
        services.end_sessions(amina, by=adam)
    elif ending == "password":
        amina.set_password("a new and long pass phrase 2026")
        amina.save()
    elif ending == "mfa_reset":
        services.reset_two_factor(amina, by=adam)
    else:
        services.deactivate_user(amina, by=adam)
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 401


def test_a_token_of_someone_who_owes_a_second_factor_does_not_work(
    mfa_required: Any, amina: Any, case: Any
) -> None:
    # The old way in: a token row made for a user who never set up two-factor sign-in.
    row = ApiToken.objects.create(
        user=amina,
        name="made in Django admin",
        digest=tokens._digest("cw_" + "x" * 43),
        prefix="xxxxxxxx",
        scopes="read write export",
        generation=amina.session_generation,
        expires_at=timezone.now() + datetime.timedelta(days=90),
    )
    assert _bearer("cw_" + "x" * 43).get(f"/api/v1/cases/{case.pk}").status_code == 401
    refused = AuditEntry.objects.get(action="accounts.token.refused")
    assert refused.data == {"reason": "no_second_factor"} and refused.object_id == str(row.pk)
    # Nor can one be made for them.
    with pytest.raises(tokens.TokenRefused):
        _token(amina, "read")


def test_an_expired_token_is_401_and_use_is_recorded(amina: Any, case: Any) -> None:
    token = _token(amina, "read", days=1)
    client = _bearer(token)
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200
    row = ApiToken.objects.get(user=amina)
    assert row.last_used_at is not None
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now())
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 401


def test_expiry_is_chosen_and_at_most_90_days(amina: Any) -> None:
    with pytest.raises(tokens.TokenRefused):
        _token(amina, "read", days=91)
    with pytest.raises(tokens.TokenRefused):
        _token(amina, "read", days=0)
    _token(amina, "read", days=90)
    row = ApiToken.objects.get(user=amina)
    assert row.expires_at - row.created_at <= datetime.timedelta(days=90, seconds=5)


# --- the screens: own tokens, the administrator's list, service accounts ---------------------


def test_a_member_makes_a_token_on_the_screen_after_a_fresh_code(
    mfa_required: Any, amina: Any, authenticator: Callable[[Any], Any], case: Any
) -> None:
    device = authenticator(amina)
    client = Client()
    client.force_login(amina)
    _verify_session(client, device)
    form = {"name": "reports", "scopes": ["read"], "days": "30"}
    assert client.post("/accounts/tokens/", form).status_code == 400  # no code
    wrong = client.post("/accounts/tokens/", {**form, "code": "000000"})
    assert wrong.status_code == 400 and not ApiToken.objects.exists()
    unthrottle(device)  # a wrong code makes the next wait a moment
    made = client.post("/accounts/tokens/", {**form, "code": code_for(device, steps_ahead=1)})
    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    token = made.context["token"]
    assert token.startswith("cw_") and token in made.content.decode()
    row = ApiToken.objects.get(user=amina)
    assert row.digest != token and token not in str(list(AuditEntry.objects.values()))
    assert _bearer(token).get(f"/api/v1/cases/{case.pk}").status_code == 200
    listing = client.get("/accounts/tokens/").content.decode()
    assert "reports" in listing and token not in listing


def _verify_session(client: Client, device: Any) -> None:
    response = client.post("/accounts/two-factor/", {"code": code_for(device)})
    assert response.status_code == 302


def test_the_owner_revokes_their_token(amina: Any, case: Any, login: Any) -> None:
    token = _token(amina, "read")
    row = ApiToken.objects.get(user=amina)
    response = login(amina).post(f"/accounts/tokens/{row.pk}/revoke/")
    assert response.status_code == 302
    assert _bearer(token).get(f"/api/v1/cases/{case.pk}").status_code == 401
    assert AuditEntry.objects.filter(action="accounts.token.revoked").exists()


def test_others_get_404_when_revoking_a_token(
    amina: Any, omar: Any, xena: Any, sam: Any, login: Any
) -> None:
    _token(amina, "read")
    row = ApiToken.objects.get(user=amina)
    for other in (omar, xena, sam):
        assert login(other).post(f"/accounts/tokens/{row.pk}/revoke/").status_code == 404
    row.refresh_from_db()
    assert row.revoked_at is None


def test_the_administrator_lists_and_revokes_every_token_of_the_agency(
    amina: Any, adam: Any, xena: Any, make_user: Any, other_agency: Any, login: Any, case: Any
) -> None:
    token = _token(amina, "read")
    _token(xena, "read")
    admin = login(adam)
    page = admin.get("/administration/tokens/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "amina" in text and "xena" not in text
    row = ApiToken.objects.get(user=amina)
    assert admin.post(f"/accounts/tokens/{row.pk}/revoke/").status_code == 302
    assert _bearer(token).get(f"/api/v1/cases/{case.pk}").status_code == 401
    other_admin = make_user("otto", agency=other_agency, role="none", is_administrator=True)
    other = login(other_admin)
    assert "amina" not in other.get("/administration/tokens/").content.decode()
    xenas = ApiToken.objects.get(user=xena)
    assert admin.post(f"/accounts/tokens/{xenas.pk}/revoke/").status_code == 404


def test_the_administration_area_is_404_for_everyone_but_administrators(
    amina: Any, sam: Any, paul: Any, mei: Any, priya: Any, dana: Any, login: Any
) -> None:
    for user in (amina, sam, paul, mei, priya, dana):
        client = login(user)
        for path in (
            "/administration/",
            "/administration/tokens/",
            "/administration/service-accounts/",
            "/administration/service-accounts/1/token/",
        ):
            assert client.get(path).status_code == 404, (user.username, path)


def test_a_service_account_gets_a_token_from_the_administrator(
    adam: Any, mei: Any, login: Any
) -> None:
    admin = login(adam)
    made = admin.post(
        "/administration/service-accounts/", {"username": "dhis2-sync", "role": "me_officer"}
    )
    assert made.status_code == 302
    account = User.objects.get(username="dhis2-sync")
    assert account.is_service_account and not account.has_usable_password()
    assert not account.must_use_mfa
    page = admin.post(
        f"/administration/service-accounts/{account.pk}/token/",
        {"name": "sync", "scopes": ["read"], "days": "7"},
    )
    token = page.context["token"]
    assert _bearer(token).get("/api/v1/indicators", {"period": "2026-Q3"}).status_code == 200
    # It has no password: the sign-in form refuses it.
    client = Client()
    response = client.post("/accounts/login/", {"username": "dhis2-sync", "password": ""})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_an_administrator_cannot_mint_a_way_into_case_files(
    adam: Any, amina: Any, north: Any, login: Any
) -> None:
    """A service account that reads personal data, or a token for a colleague, would be a way
    around the colleague's (or any) two-factor sign-in: not from the screen."""
    refused = login(adam).post(
        "/administration/service-accounts/",
        {"username": "reader", "role": "supervisor", "team": north.pk},
    )
    assert refused.status_code == 400 and not User.objects.filter(username="reader").exists()
    with pytest.raises(FieldErrors):
        services.create_service_account(by=adam, username="x", role="caseworker", team=north)
    with pytest.raises(NotAllowed):
        tokens.create_token(owner=amina, by=adam, name="x", scopes=["read"], days=1)


def test_an_operator_makes_a_service_account_that_reads_case_files(
    agency: Any, north: Any, case: Any, capsys: Any
) -> None:
    call_command(
        "token",
        "service-account",
        "case-sync",
        "--agency",
        "AGY",
        "--role",
        "supervisor",
        "--team",
        "North",
    )
    call_command("token", "create", "case-sync", "--scope", "read", "--days", "5")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert _bearer(token).get(f"/api/v1/cases/{case.pk}").status_code == 200
    made = AuditEntry.objects.get(action="accounts.service_account.created")
    assert made.actor is None and made.data["via"] == "command"


def test_the_tokens_an_administrator_made_end_with_the_administrators_sessions(
    adam: Any, mei: Any
) -> None:
    account = services.create_service_account(
        by=adam, username="sync", role="me_officer", team=None
    )
    token = tokens.create_token(owner=account, by=adam, name="s", scopes=["read"], days=1)
    assert _bearer(token).get("/api/v1/tasks").status_code in (200, 404)
    services.end_sessions(adam, by=adam)
    assert _bearer(token).get("/api/v1/tasks").status_code == 401


def test_a_service_account_makes_no_tokens_of_its_own(adam: Any, north: Any) -> None:
    account = services.create_service_account(
        by=adam, username="sync", role="me_officer", team=None
    )
    with pytest.raises(NotAllowed):
        tokens.create_token(owner=account, by=account, name="x", scopes=["read"], days=1)


def test_a_read_token_searches_by_post(amina: Any, case: Any) -> None:
    client = _bearer(_token(amina, "read"))
    found = client.post(
        "/api/v1/cases/search", {"query": "Fatima"}, content_type="application/json"
    )
    assert found.status_code == 200 and found.json()


def test_a_revoked_token_in_a_loop_is_audited_once(amina: Any, case: Any) -> None:
    token = _token(amina, "read")
    tokens.revoke_token(ApiToken.objects.get(user=amina), by=amina)
    for _ in range(5):
        assert _bearer(token).get(f"/api/v1/cases/{case.pk}").status_code == 401
    assert AuditEntry.objects.filter(action="accounts.token.refused").count() == 1


def test_a_stronger_password_hash_at_sign_in_does_not_sign_the_person_out(
    settings: Any, amina: Any
) -> None:
    """Django rehashes an old-style password at sign-in; that is not a new password."""
    from django.contrib.auth.hashers import ScryptPasswordHasher

    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ]
    amina.password = ScryptPasswordHasher().encode(PASSWORD, "saltsaltsalt")
    amina.save(update_fields=["password"])
    generation = User.objects.get(pk=amina.pk).session_generation
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": "amina", "password": PASSWORD}).status_code
        == 302
    )
    assert User.objects.get(pk=amina.pk).password.startswith("md5$")
    assert User.objects.get(pk=amina.pk).session_generation == generation
    assert client.get("/api/v1/tasks").status_code == 200


# --- the command --------------------------------------------------------------------------------


def test_the_command_makes_lists_and_revokes_tokens_audited(
    amina: Any, case: Any, capsys: Any
) -> None:
    call_command("token", "create", "amina", "--scope", "read", "--days", "5")
    token = capsys.readouterr().out.strip()
    assert _bearer(token).get(f"/api/v1/cases/{case.pk}").status_code == 200
    created = AuditEntry.objects.get(action="accounts.token.created")
    assert created.actor is None and created.data["via"] == "command"
    call_command("token", "list", "amina")
    assert "live" in capsys.readouterr().out
    call_command("token", "revoke", token[3:11])
    assert _bearer(token).get(f"/api/v1/cases/{case.pk}").status_code == 401


def test_a_prefix_never_reads_as_an_option(monkeypatch: pytest.MonkeyPatch) -> None:
    """`casework token revoke PREFIX` would take "-abc…" for an option (the runbook found it)."""
    bodies = iter(["-starts-with-a-dash" + "x" * 24, "fine" + "y" * 39])
    monkeypatch.setattr(tokens.secrets, "token_urlsafe", lambda n: next(bodies))
    assert tokens._new_token() == "cw_fine" + "y" * 39
