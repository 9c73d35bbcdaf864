"""The data-protection officer's gate (casework/privacy/access.py), role by role: who may review
a package, whose alerts an officer reads, and what the audit trail keeps of a refusal (the id
asked for, so that someone probing ids shows up in the log)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.privacy import access, services
from casework.privacy.models import AccessPackage, DataRequest, ReadAlert

MISSING = 987654


def _alert(agency: Any, reader: Any) -> ReadAlert:
    now = timezone.now()
    return ReadAlert.objects.create(
        agency=agency,
        reader=reader,
        raised_at=now,
        window_start=now - datetime.timedelta(hours=1),
        cases_read=40,
        threshold=30,
    )


def test_officers_and_supervisors_may_review_packages_and_no_one_else(
    dana: Any, sam: Any, amina: Any, paul: Any, mei: Any, adam: Any
) -> None:
    assert access.require_reviewer(dana) == dana
    assert access.require_reviewer(sam) == sam
    for user in (amina, paul, mei, adam, AnonymousUser(), None):
        with pytest.raises(Http404):
            access.require_reviewer(user)
    dana.is_active = False
    with pytest.raises(Http404):
        access.require_reviewer(dana)


def test_an_officer_reads_the_alerts_of_their_own_agency_only(
    dana: Any, amina: Any, agency: Any, xena: Any, other_agency: Any
) -> None:
    ours = _alert(agency, amina)
    theirs = _alert(other_agency, xena)
    assert access.get_alert_for_user(dana, ours.pk) == ours
    for alert_id in (theirs.pk, MISSING, "not-a-number"):
        with pytest.raises(Http404):
            access.get_alert_for_user(dana, alert_id)
    with pytest.raises(Http404):
        access.get_alert_for_user(amina, ours.pk)  # a caseworker reads no audit log


@pytest.mark.parametrize(
    ("gate", "action", "key"),
    [
        (access.get_request_for_user, "privacy.request.denied", "request"),
        (access.get_alert_for_user, "privacy.alert.denied", "alert"),
        (access.get_package_for_user, "privacy.package.denied", "package"),
    ],
)
def test_a_refusal_is_audited_with_the_id_asked_for(
    dana: Any, gate: Any, action: str, key: str
) -> None:
    with pytest.raises(Http404):
        gate(dana, MISSING)
    with pytest.raises(Http404):
        gate(dana, "not-a-number")
    refusals = AuditEntry.objects.filter(action=action, actor=dana).order_by("id")
    assert [entry.data for entry in refusals] == [{key: MISSING}, {key: None}]
    assert {entry.outcome for entry in refusals} == {"denied"}


@pytest.fixture
def package(receive: Any, case: Any, dana: Any) -> AccessPackage:
    """Dana's package for the client of amina's case, waiting for review."""
    return services.compile_package(receive("access", case.reference), by=dana)


def test_a_package_is_reviewed_by_someone_other_than_its_compiler(
    package: AccessPackage, dana: Any, deputy: Any, sam: Any, olga: Any, amina: Any, olaf: Any
) -> None:
    assert package.case_ids and package.status == AccessPackage.Status.TO_REVIEW
    # Another officer, or the supervisor who may see every case it holds.
    assert access.may_review(deputy, package) and access.may_review(sam, package)
    # Not its compiler, a supervisor who cannot see its cases, a caseworker, another agency.
    for user in (dana, olga, amina, olaf, AnonymousUser(), None):
        assert not access.may_review(user, package), user
    assert access.may_read_package(dana, package)  # the handler, while the request is open
    assert access.may_read_package(sam, package)  # its reviewer
    for user in (olga, amina, olaf):
        assert not access.may_read_package(user, package), user


def test_a_package_that_holds_no_case_is_reviewed_by_an_officer_only(
    package: AccessPackage, deputy: Any, sam: Any
) -> None:
    package.case_ids = []
    assert access.may_review(deputy, package)
    assert not access.may_review(sam, package)


def test_no_one_reviews_a_package_already_decided_or_of_a_closed_request(
    package: AccessPackage, dana: Any, deputy: Any, sam: Any
) -> None:
    package.status = AccessPackage.Status.APPROVED
    assert not access.may_review(deputy, package) and not access.may_review(sam, package)
    package.status = AccessPackage.Status.TO_REVIEW
    package.request.status = DataRequest.Status.CLOSED
    assert not access.may_review(deputy, package) and not access.may_review(sam, package)
    # Once the request is closed, its handler no longer reads the package either.
    assert not access.may_read_package(dana, package)
    DataRequest.objects.filter(pk=package.request_id).update(status=DataRequest.Status.CLOSED)
    with pytest.raises(Http404):
        access.get_package_for_user(dana, package.pk)


def test_reading_a_package_is_audited_once_per_case_it_holds_or_once_without(
    package: AccessPackage, dana: Any
) -> None:
    """So that each case's access log shows the read; a package holding no case is still one
    entry."""
    package.case_ids = [101, 102]
    access.record_package_read(package, by=dana, action="privacy.package.viewed")
    package.case_ids = []
    access.record_package_read(package, by=dana, action="privacy.package.released")
    assert set(
        AuditEntry.objects.filter(action="privacy.package.viewed").values_list("case_id", flat=True)
    ) == {101, 102}
    assert list(
        AuditEntry.objects.filter(action="privacy.package.released").values_list(
            "case_id", flat=True
        )
    ) == [None]
