"""Ending sessions: by an administrator, on deactivation, after idle time and maximum lifetime."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import override_settings

from casework.accounts import services
from casework.accounts.middleware import SEEN, STARTED
from casework.audit.models import AuditEntry
from casework.core.errors import NotAllowed

LOGIN = "/accounts/login/"


def _is_signed_out(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_ending_sessions_signs_a_logged_in_client_out_at_once(
    amina: Any, adam: Any, login: Any
) -> None:
    client = login(amina)
    other_device = login(amina)
    assert client.get("/cases/").status_code == 200

    services.end_sessions(amina, by=adam)

    assert _is_signed_out(client.get("/cases/"))
    assert _is_signed_out(other_device.get("/cases/"))
    assert other_device.get("/api/v1/cases").status_code == 401
    entry = AuditEntry.objects.get(action="accounts.sessions.ended")
    assert (entry.actor, entry.object_id) == (adam, str(amina.pk))


def test_the_user_can_sign_in_again_after_their_sessions_end(
    amina: Any, adam: Any, password_login: Any
) -> None:
    services.end_sessions(amina, by=adam)
    client, response = password_login("amina")
    assert response.status_code == 302
    assert client.get("/cases/").status_code == 200


def test_deactivating_a_user_ends_their_sessions_at_once(amina: Any, adam: Any, login: Any) -> None:
    client = login(amina)
    assert client.get("/cases/").status_code == 200

    services.deactivate_user(amina, by=adam)

    amina.refresh_from_db()
    assert not amina.is_active
    assert _is_signed_out(client.get("/cases/"))
    assert AuditEntry.objects.filter(
        action="accounts.user.deactivated", object_id=str(amina.pk)
    ).exists()


def test_only_an_administrator_of_the_same_agency_may_end_sessions(
    amina: Any, sam: Any, xena: Any, adam: Any
) -> None:
    for outsider, target in ((sam, amina), (adam, xena)):
        with pytest.raises(NotAllowed):
            services.end_sessions(target, by=outsider)
        with pytest.raises(NotAllowed):
            services.deactivate_user(target, by=outsider)
    services.end_sessions(amina, by=amina)  # "sign me out everywhere"


def test_an_administrator_cannot_deactivate_themself(adam: Any) -> None:
    with pytest.raises(NotAllowed):
        services.deactivate_user(adam, by=adam)


def test_the_administrator_ends_sessions_from_the_users_page(
    amina: Any, adam: Any, login: Any
) -> None:
    victim_session = login(amina)
    admin = login(adam)

    response = admin.post(f"/accounts/users/{amina.pk}/end-sessions/", follow=True)

    assert response.redirect_chain[-1][0] == "/accounts/users/"
    assert "amina has been signed out everywhere" in response.content.decode()
    assert _is_signed_out(victim_session.get("/cases/"))


def test_the_administrator_deactivates_from_the_users_page(
    amina: Any, adam: Any, login: Any
) -> None:
    victim_session = login(amina)
    response = login(adam).post(f"/accounts/users/{amina.pk}/deactivate/")
    assert response["Location"] == "/accounts/users/"
    assert _is_signed_out(victim_session.get("/cases/"))


def test_anyone_else_gets_404_from_the_end_sessions_page(
    amina: Any, sam: Any, mei: Any, xena: Any, adam: Any, login: Any
) -> None:
    for user in (sam, mei, xena):
        assert login(user).post(f"/accounts/users/{amina.pk}/end-sessions/").status_code == 404
        assert login(user).post(f"/accounts/users/{amina.pk}/deactivate/").status_code == 404
    # Someone of another agency is as unknown as no one.
    admin = login(adam)
    assert admin.post(f"/accounts/users/{xena.pk}/end-sessions/").status_code == 404
    assert admin.post(f"/accounts/users/{xena.pk}/deactivate/").status_code == 404
    assert admin.post("/accounts/users/999999/end-sessions/").status_code == 404
    assert admin.get(f"/accounts/users/{amina.pk}/end-sessions/").status_code == 405
    assert AuditEntry.objects.filter(action="accounts.sessions.ended").count() == 0


def test_the_users_page_lists_the_agency_accounts_without_case_data(
    amina: Any,
    sam: Any,
    omar: Any,
    mei: Any,
    xena: Any,
    adam: Any,
    authenticator: Any,
    login: Any,
    case: Any,
    django_assert_max_num_queries: Any,
) -> None:
    authenticator(amina)
    client = login(adam)
    client.get("/")  # the session's first request writes its timestamps; count a later one

    with django_assert_max_num_queries(5):
        response = client.get("/accounts/users/")

    assert response.status_code == 200
    rows = {user.username: user for user in response.context["users"]}
    assert set(rows) == {"amina", "sam", "omar", "mei", "adam"}
    assert rows["amina"].mfa_enrolled and not rows["sam"].mfa_enrolled
    body = response.content.decode()
    assert "North" in body and "Caseworker" in body
    assert "xena" not in body
    assert case.reference not in body and "Fatima" not in body


def test_the_users_page_is_404_for_everyone_but_administrators(
    sam: Any, paul: Any, priya: Any, xena: Any, login: Any, client: Any
) -> None:
    for user in (sam, paul, priya, xena):
        assert login(user).get("/accounts/users/").status_code == 404
    assert client.get("/accounts/users/").status_code == 404


def _age_session(client: Any, **seconds_ago: float) -> None:
    session = client.session
    now = time.time()
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


@override_settings(CASEWORK_SESSION_IDLE_SECONDS=600)
def test_an_idle_session_ends(amina: Any, login: Any) -> None:
    client = login(amina)
    assert client.get("/cases/").status_code == 200

    _age_session(client, **{SEEN: 601})

    assert _is_signed_out(client.get("/cases/"))
    assert AuditEntry.objects.filter(action="accounts.session_expired", actor=amina).exists()
    assert _is_signed_out(client.get("/cases/"))


@override_settings(CASEWORK_SESSION_IDLE_SECONDS=600)
def test_a_session_in_use_stays_open(amina: Any, login: Any) -> None:
    client = login(amina)
    client.get("/cases/")
    _age_session(client, **{SEEN: 599})
    assert client.get("/cases/").status_code == 200


@override_settings(CASEWORK_SESSION_ABSOLUTE_SECONDS=3600)
def test_a_session_ends_at_its_maximum_lifetime_even_when_in_use(amina: Any, login: Any) -> None:
    client = login(amina)
    client.get("/cases/")

    _age_session(client, **{STARTED: 3601, SEEN: 5})

    assert _is_signed_out(client.get("/cases/"))


def test_an_expired_session_gets_a_json_401_from_the_api(amina: Any, login: Any) -> None:
    client = login(amina)
    client.get("/cases/")
    _age_session(client, **{SEEN: 10**6})

    response = client.get("/api/v1/cases")

    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"
