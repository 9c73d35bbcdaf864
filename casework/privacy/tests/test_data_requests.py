"""Clients' requests as rows with deadlines: recorded by the officer naming the person by number
(never by name), due the agency's number of days later, overdue ones marked, the requester's
identity checked before anything is done, closed with an outcome that must be on record; every
change audited, and no one else (another agency's officer included) reaches them."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.core.errors import CaseworkError, NotAllowed
from casework.privacy import services
from casework.privacy.models import DataRequest

DAY = datetime.timedelta(days=1)


def test_the_officer_records_a_request_by_case_reference(login: Any, case: Any, dana: Any) -> None:
    received = timezone.localdate() - 3 * DAY
    response = login(dana).post(
        "/privacy/requests/new/",
        {
            "kind": "access",
            "requested_by": "subject",
            "received_on": received.isoformat(),
            "identifier": case.reference,
            "handler": dana.pk,
        },
    )
    request = DataRequest.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/privacy/requests/{request.pk}/"
    )
    assert request.person == case.person and request.handler == dana
    assert request.due_on == received + 30 * DAY
    entry = AuditEntry.objects.get(action="privacy.request.received")
    assert entry.data == {"kind": "access", "person": case.person_id, "due": str(request.due_on)}
    page = login(dana).get(f"/privacy/requests/{request.pk}/").content.decode()
    assert case.reference in page and case.person.reference in page and "amina" in page
    assert "Fatima" not in page and "Traoré" not in page  # no case content


def test_a_name_finds_no_one_and_the_deadline_follows_the_setting(
    login: Any, case: Any, dana: Any
) -> None:
    client = login(dana)
    refused = client.post(
        "/privacy/requests/new/",
        {
            "kind": "erasure",
            "requested_by": "subject",
            "received_on": timezone.localdate().isoformat(),
            "identifier": "Fatima Traoré",
        },
    )
    assert refused.status_code == 400 and not DataRequest.objects.exists()
    assert "No person number or case reference of your agency matches." in refused.content.decode()
    services.change_settings(by=dana, response_days=10, unusual_reads=50, unusual_reads_hours=24)
    made = services.receive_request(
        by=dana,
        kind="erasure",
        requested_by="representative",
        received_on=timezone.localdate(),
        identifier=case.person.reference,
    )
    assert made.due_on == timezone.localdate() + 10 * DAY and made.person == case.person


def test_overdue_requests_are_marked(
    login: Any, receive: Any, case: Any, dana: Any, django_assert_max_num_queries: Any
) -> None:
    late = receive("access", case.reference, received_on=timezone.localdate() - 40 * DAY)
    receive("rectification", case.reference)
    client = login(dana)
    client.get("/")
    with django_assert_max_num_queries(7):
        body = client.get("/privacy/requests/").content.decode()
    assert body.count("Overdue:") == 1 and "Overdue (1)" in body
    overdue = client.get("/privacy/requests/", {"show": "overdue"}).context["page"]
    assert [item.pk for item in overdue] == [late.pk]
    api = client.get("/api/v1/privacy/requests").json()
    assert [(item["id"], item["overdue"]) for item in api["items"]][0] == (late.pk, True)
    assert api["items"][0]["person_reference"] == case.person.reference


def test_nothing_is_done_before_the_identity_is_checked(
    login: Any, receive: Any, case: Any, dana: Any, deputy: Any
) -> None:
    request = receive("access", case.reference, checked=False)
    client = login(dana)
    client.post(f"/privacy/requests/{request.pk}/compile/")
    assert not request.packages.exists()
    login(deputy).post(f"/privacy/requests/{request.pk}/identity/")
    request.refresh_from_db()
    assert request.identity_checked_by == deputy
    assert AuditEntry.objects.filter(action="privacy.request.identity_checked").exists()
    client.post(f"/privacy/requests/{request.pk}/compile/")
    assert request.packages.count() == 1


def test_one_officer_alone_cannot_vouch_for_a_request_they_recorded(
    login: Any, receive: Any, case: Any, dana: Any, deputy: Any
) -> None:
    """The attack: an officer records an access request for anyone, ticks "identity checked"
    themself, compiles and reads the file. The check is someone else's, in the service too."""
    request = receive("access", case.reference, checked=False)
    client = login(dana)
    page = client.get(f"/privacy/requests/{request.pk}/").content.decode()
    assert "Another officer checks who is asking" in page
    assert f"/privacy/requests/{request.pk}/identity/" not in page
    client.post(f"/privacy/requests/{request.pk}/identity/")
    with pytest.raises(NotAllowed):
        services.confirm_identity(request, by=dana)
    request.refresh_from_db()
    assert not request.identity_checked
    refused = AuditEntry.objects.filter(action="privacy.request.identity_refused", actor=dana)
    assert refused.count() == 2 and {entry.outcome for entry in refused} == {"denied"}
    client.post(f"/privacy/requests/{request.pk}/compile/")
    with pytest.raises(CaseworkError) as not_checked:
        services.compile_package(request, by=dana)
    assert not_checked.value.code == "identity_not_checked"
    assert not request.packages.exists()
    # A check the recorder made before the rule (written straight to the row) counts for nothing.
    DataRequest.objects.filter(pk=request.pk).update(
        identity_checked_at=timezone.now(), identity_checked_by=dana
    )
    request.refresh_from_db()
    with pytest.raises(CaseworkError):
        services.compile_package(request, by=dana)
    assert not request.packages.exists()
    # A second officer vouches for the requester: now the package is compiled.
    services.confirm_identity(request, by=deputy)
    assert services.compile_package(request, by=dana).request_id == request.pk


def test_every_service_checks_the_agency_itself(
    receive: Any, full_case: Any, dana: Any, sam: Any, olaf: Any
) -> None:
    """Called directly, not through a view's lookup, each service refuses an officer of another
    agency (the gate's 404, audited) and changes nothing."""
    access_request = receive("access", full_case.reference)
    package = services.compile_package(access_request, by=dana)
    services.review_package(package, by=sam, approve=True)
    unchecked = receive("access", full_case.reference, checked=False)
    rectification = receive("rectification", full_case.reference)
    erasure = receive("erasure", full_case.reference)
    calls: list[Callable[[], object]] = [
        lambda: services.assign_request(access_request, by=olaf, handler=olaf),
        lambda: services.confirm_identity(unchecked, by=olaf),
        lambda: services.close_request(access_request, by=olaf, outcome="withdrawn"),
        lambda: services.compile_package(access_request, by=olaf),
        lambda: services.link_corrections(
            rectification, by=olaf, person_revisions=[], case_revisions=[]
        ),
        lambda: services.erase_person(erasure, by=olaf),
        lambda: services.release_package(package, by=olaf, file_format="json"),
    ]
    for call in calls:
        with pytest.raises(Http404):
            call()
    assert AuditEntry.objects.filter(actor=olaf, outcome="denied").count() == len(calls)
    access_request.refresh_from_db()
    unchecked.refresh_from_db()
    package.refresh_from_db()
    assert access_request.is_open and access_request.handler == dana
    assert not unchecked.identity_checked and package.released_at is None
    assert access_request.packages.count() == 1
    assert not AuditEntry.objects.filter(actor=olaf, outcome="ok").exists()


def test_closing_needs_the_answer_on_record(login: Any, receive: Any, case: Any, dana: Any) -> None:
    request = receive("access", case.reference)
    client = login(dana)
    refused = client.post(f"/privacy/requests/{request.pk}/close/", {"outcome": "completed"})
    assert refused.status_code == 400
    assert "No approved package was released yet." in refused.content.decode()
    nothing = client.post(f"/privacy/requests/{request.pk}/close/", {"outcome": "nothing_held"})
    assert nothing.status_code == 400
    assert (
        client.post(f"/privacy/requests/{request.pk}/close/", {"outcome": "withdrawn"}).status_code
        == 302
    )
    request.refresh_from_db()
    assert (request.status, request.outcome, request.closed_by) == ("closed", "withdrawn", dana)
    closed = AuditEntry.objects.get(action="privacy.request.closed")
    assert closed.data == {"outcome": "withdrawn", "overdue": False}
    # A request with no one on record is answered "nothing held".
    empty = receive("access")
    page = client.get(f"/privacy/requests/{empty.pk}/").content.decode()
    assert "The agency holds no record of this person." in page
    assert services.close_request(empty, by=dana, outcome="nothing_held").outcome == "nothing_held"


def test_the_request_is_handed_to_another_officer(
    login: Any, make_user: Any, agency: Any, receive: Any, case: Any, dana: Any, amina: Any
) -> None:
    deputy = make_user("dora", agency=agency, role="data_protection_officer")
    request = receive("access", case.reference)
    client = login(dana)
    refused = client.post(f"/privacy/requests/{request.pk}/handler/", {"handler": amina.pk})
    assert refused.status_code == 400
    client.post(f"/privacy/requests/{request.pk}/handler/", {"handler": deputy.pk})
    request.refresh_from_db()
    assert request.handler == deputy
    assert AuditEntry.objects.get(action="privacy.request.assigned").data == {"handler": deputy.pk}


def test_no_one_else_reaches_a_request(
    login: Any, receive: Any, case: Any, amina: Any, sam: Any, adam: Any, olaf: Any
) -> None:
    request = receive("access", case.reference)
    for user in (amina, sam, adam, olaf):
        client = login(user)
        for path in ("", "handler/", "close/", "corrections/", "erase/"):
            assert client.get(f"/privacy/requests/{request.pk}/{path}").status_code == 404
        for path in ("identity/", "compile/", "close/"):
            assert client.post(f"/privacy/requests/{request.pk}/{path}").status_code == 404
    assert login(olaf).get("/privacy/requests/").context["page"].paginator.count == 0
    assert AuditEntry.objects.filter(action="privacy.request.denied", actor=olaf).exists()
