"""Enrolment codes: issued by an administrator (screen or command), shown once, single-use,
time-limited, throttled; a new code or a reset of two-factor sign-in voids the previous one."""

from __future__ import annotations

import datetime
import io
import re
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from casework.accounts import mfa, services
from casework.accounts.models import Authenticator, EnrolmentCode
from casework.accounts.tests.conftest import ENROL, begin_enrolment, code_for, unthrottle
from casework.audit.models import AuditEntry
from casework.core.errors import NotAllowed

USERS = "/accounts/users/"
CODE = re.compile(
    r'<code class="secret enrolment-code">([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code>'
)


def _issue_url(user: Any) -> str:
    return f"/accounts/users/{user.pk}/enrolment-code/"


def _verified(user: Any, login: Any, authenticator: Any) -> Any:
    """A session past the second factor (the administrator's agency requires it too)."""
    client = login(user)
    client.post("/accounts/two-factor/", {"code": code_for(authenticator(user))})
    return client


def _give(client: Any, code: str) -> Any:
    return client.post(ENROL, {"enrolment_code": code})


def _complete(client: Any, code: str) -> Any:
    device = begin_enrolment(client, code)
    return client.post(ENROL, {"code": code_for(device)})


def test_the_administrator_issues_a_code_shown_once_and_only_its_digest_is_kept(
    mfa_required: Any, amina: Any, adam: Any, login: Any, authenticator: Any
) -> None:
    admin = _verified(adam, login, authenticator)
    listing = admin.get(USERS).content.decode()
    assert _issue_url(amina) in listing and "Issue enrolment code" in listing

    response = admin.post(_issue_url(amina))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    (code,) = CODE.findall(response.content.decode())
    issued = EnrolmentCode.objects.get(user=amina)
    assert issued.issued_by == adam and issued.used_at is None
    assert issued.digest == mfa.enrolment_code_digest(code)
    assert code not in str(EnrolmentCode.objects.filter(pk=issued.pk).values().get())
    entry = AuditEntry.objects.get(action="accounts.mfa.enrolment_code_issued")
    assert (entry.actor, entry.object_id) == (adam, str(amina.pk))
    assert entry.data == {"enrolment_code": issued.pk, "voided": 0, "via": "screen"}
    # Never e-mailed (it must not travel with the password), never kept in a message.
    assert mail.outbox == []
    assert code not in admin.get(USERS).content.decode()
    assert "enrolment code valid until" in admin.get(USERS).content.decode()
    # Amina sets up with it.
    assert _complete(login(amina), code).status_code == 200
    assert mfa.has_authenticator(amina)
    assert _issue_url(amina) not in admin.get(USERS).content.decode()


def test_it_lasts_as_long_as_the_setting_says(amina: Any, adam: Any, settings: Any) -> None:
    settings.CASEWORK_ENROLMENT_CODE_HOURS = 5
    before = timezone.now()
    issued = services.issue_enrolment_code(amina, by=adam)
    assert issued.expires_at - before == pytest.approx(
        datetime.timedelta(hours=5), abs=datetime.timedelta(seconds=5)
    )


def test_a_code_works_once(
    mfa_required: Any, amina: Any, adam: Any, login: Any, enrolment_code: Any
) -> None:
    code = enrolment_code(amina)
    _complete(login(amina), code)
    services.reset_two_factor(amina, by=adam)
    amina.refresh_from_db()

    response = _give(login(amina), code)

    assert "already been used" in response.content.decode()
    assert AuditEntry.objects.filter(
        action="accounts.mfa.failed", data={"step": "enrolment_code", "reason": "used"}
    ).exists()


def test_an_expired_code_is_refused(
    mfa_required: Any, amina: Any, login: Any, enrolment_code: Any
) -> None:
    code = enrolment_code(amina)
    EnrolmentCode.objects.update(expires_at=timezone.now() - datetime.timedelta(minutes=1))

    response = _give(login(amina), code)

    assert "has expired" in response.content.decode()
    assert not Authenticator.objects.filter(user=amina).exists()


def test_a_new_code_voids_the_previous_one_and_any_set_up_begun_with_it(
    mfa_required: Any, amina: Any, login: Any, enrolment_code: Any
) -> None:
    first = enrolment_code(amina)
    session = login(amina)
    device = begin_enrolment(session, first)

    second = enrolment_code(amina)

    assert not Authenticator.objects.filter(pk=device.pk).exists()
    page = session.get(ENROL).content.decode()
    assert "replaced or withdrawn" in page and "<svg" not in page
    assert "replaced or withdrawn" in _give(login(amina), first).content.decode()
    unthrottle(EnrolmentCode.objects.get(voided_at__isnull=True))
    assert _complete(login(amina), second).status_code == 200
    assert AuditEntry.objects.filter(
        action="accounts.mfa.enrolment_code_issued", data__voided=1
    ).exists()


def test_wrong_codes_are_throttled_and_audited_without_the_code(
    mfa_required: Any, amina: Any, login: Any, enrolment_code: Any
) -> None:
    code = enrolment_code(amina)
    client = login(amina)

    wrong = _give(client, "ZZZZ-ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ-ZZZZ" else "YYYY-YYYY-YYYY")
    right_too_soon = _give(client, code)

    assert "not valid" in wrong.content.decode()
    assert "Too many wrong codes" in right_too_soon.content.decode()
    issued = EnrolmentCode.objects.get(user=amina)
    assert issued.throttling_failure_count == 1
    reasons = list(
        AuditEntry.objects.filter(action="accounts.mfa.failed")
        .order_by("seq")
        .values_list("data__reason", flat=True)
    )
    assert reasons == ["invalid", "throttled"]
    assert code not in str(list(AuditEntry.objects.values_list("data", flat=True)))
    unthrottle(issued)
    # Typed as read out over the phone: lower case, spaces, an O for a zero.
    spoken = code.lower().replace("-", " ").replace("0", "o")
    assert _give(client, spoken).status_code == 302
    issued.refresh_from_db()
    assert issued.throttling_failure_count == 0


def test_a_reset_voids_the_code_and_setting_up_again_needs_a_fresh_one(
    mfa_required: Any, amina: Any, adam: Any, login: Any, authenticator: Any, enrolment_code: Any
) -> None:
    authenticator(amina)
    with pytest.raises(NotAllowed):
        services.issue_enrolment_code(amina, by=adam)  # enrolled: reset first
    _verified(adam, login, authenticator).post(f"/accounts/users/{amina.pk}/reset-two-factor/")
    assert not mfa.has_authenticator(amina)
    amina.refresh_from_db()  # her sessions ended: sign in again with the new generation
    pending = enrolment_code(amina)
    session = login(amina)
    begin_enrolment(session, pending)

    services.reset_two_factor(amina, by=adam)
    amina.refresh_from_db()

    assert EnrolmentCode.objects.get(
        user=amina, digest=mfa.enrolment_code_digest(pending)
    ).voided_at
    assert "<svg" not in login(amina).get(ENROL).content.decode()
    assert "replaced or withdrawn" in _give(login(amina), pending).content.decode()
    assert AuditEntry.objects.filter(action="accounts.mfa.reset", data={"voided": 1}).exists()


def test_only_an_administrator_of_the_agency_issues_codes(
    amina: Any, omar: Any, adam: Any, make_user: Any, other_agency: Any, login: Any
) -> None:
    stranger = make_user("olaf", agency=other_agency, role="none", is_administrator=True)
    assert login(stranger).post(_issue_url(amina)).status_code == 404
    assert login(omar).post(_issue_url(amina)).status_code == 404
    assert login(adam).get(_issue_url(amina)).status_code == 405
    assert login(adam).post("/accounts/users/999999/enrolment-code/").status_code == 404
    refused = login(adam).post(_issue_url(adam), follow=True)
    assert "Another administrator must issue your enrolment code" in refused.content.decode()
    assert not EnrolmentCode.objects.exists()
    assert not AuditEntry.objects.filter(action="accounts.mfa.enrolment_code_issued").exists()


def test_a_deactivated_account_gets_no_code(amina: Any, adam: Any) -> None:
    services.deactivate_user(amina, by=adam)
    with pytest.raises(NotAllowed):
        services.issue_enrolment_code(amina, by=adam)
    assert not EnrolmentCode.objects.exists()


def test_the_command_issues_a_code_and_audits_it(mfa_required: Any, amina: Any, login: Any) -> None:
    out = io.StringIO()
    call_command("mfa", "issue-code", "amina", stdout=out)

    (code,) = re.findall(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", out.getvalue())
    entry = AuditEntry.objects.get(action="accounts.mfa.enrolment_code_issued")
    assert entry.actor is None and entry.data["via"] == "command"
    assert entry.agency_id == amina.agency_id
    assert EnrolmentCode.objects.get(user=amina).issued_by is None
    assert _complete(login(amina), code).status_code == 200
    with pytest.raises(CommandError, match="No such user"):
        call_command("mfa", "issue-code", "nobody", stdout=io.StringIO())
    with pytest.raises(CommandError, match="reset it first"):
        call_command("mfa", "issue-code", "amina", stdout=io.StringIO())


def test_a_code_that_expires_during_set_up_is_asked_for_again(
    mfa_required: Any, amina: Any, login: Any, enrolment_code: Any
) -> None:
    client = login(amina)
    device = begin_enrolment(client, enrolment_code(amina))
    EnrolmentCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    response = client.post(ENROL, {"code": code_for(device)})

    body = response.content.decode()
    assert "has expired" in body and 'name="enrolment_code"' in body
    assert not mfa.has_authenticator(amina)
    assert EnrolmentCode.objects.get(user=amina).used_at is None
