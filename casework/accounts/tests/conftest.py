"""Helpers for the account tests: an agency that requires two-factor sign-in, and authenticators."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP

from casework.accounts import services
from casework.accounts.models import Authenticator
from conftest import PASSWORD

ENROL = "/accounts/two-factor/set-up/"


@pytest.fixture
def mfa_required(agency: Any) -> Any:
    """The shared agency, switched to require two-factor sign-in (as in production)."""
    agency.require_mfa = True
    agency.save(update_fields=["require_mfa"])
    return agency


def code_for(device: Authenticator, *, steps_ahead: int = 0) -> str:
    """What the person's authenticator app shows (`steps_ahead` 30-second steps from now).

    A code is accepted only once, so a test that needs a second fresh code asks for the next step
    (the device tolerates one step of clock drift).
    """
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def authenticator() -> Callable[[Any], Authenticator]:
    """Give a user a confirmed authenticator (as if they had enrolled earlier)."""

    def make(user: Any) -> Authenticator:
        return Authenticator.objects.create(user=user, name="authenticator", confirmed=True)

    return make


@pytest.fixture
def enrolment_code() -> Callable[[Any], str]:
    """An enrolment code for the user, as the operator's command issues it."""

    def issue(user: Any) -> str:
        return services.issue_enrolment_code(user, by=None).code

    return issue


def begin_enrolment(client: Client, code: str) -> Authenticator:
    """Give the enrolment code on the set-up page; return the authenticator it then shows."""
    response = client.post(ENROL, {"enrolment_code": code})
    assert response.status_code == 302, response.content.decode()
    assert client.get(ENROL).status_code == 200
    return Authenticator.objects.get(pk=client.session["cw_mfa_pending_authenticator"])


@pytest.fixture
def password_login() -> Callable[..., tuple[Client, Any]]:
    """Sign in through the login form, as a person does; returns the client and the response."""

    def sign_in(username: str, password: str = PASSWORD, **extra: Any) -> tuple[Client, Any]:
        client = Client()
        response = client.post(
            "/accounts/login/", {"username": username, "password": password, **extra}
        )
        return client, response

    return sign_in


def unthrottle(device: Any) -> None:
    """Pretend the wait that django-otp imposes after a wrong code is over."""
    type(device).objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - datetime.timedelta(hours=1)
    )
