"""The inbox, the directory and the case page's referral panel cost the same for 1 row or 20."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from casework.cases.models import Case
from casework.referrals.models import Organisation, Referral, Service
from casework.referrals.panel import context as case_panel_context

# Fixed costs (session read and touch, user, agency; the audit entry, one insert without a lock)
# plus the page's own few queries.
INBOX_QUERIES = 10
DIRECTORY_QUERIES = 10
# An API request is counted against the caller's rate limit (casework/core/ratelimits.py): one
# atomic statement.
RATE_LIMIT_QUERIES = 1
# The case page's referrals section: referrals, needs that need none, unmet needs.
PANEL_QUERIES = 3


def _many_referrals(
    register: Any, amina: Any, clinic_care: Service, consent_to: Any, refer: Any, count: int
) -> list[Referral]:
    made = []
    for number in range(count):
        case = register(amina, given_name=f"Client{number}")
        consent_to(case, amina)
        made.append(refer(case, amina, clinic_care, urgent=number % 2 == 0))
    return made


def _many_services(clinic: Organisation, areas: dict[str, Any], count: int) -> None:
    for number in range(count):
        service = Service.objects.create(
            organisation=clinic, name=f"Service {number}", sector="health"
        )
        service.locations.set([areas["north"], areas["lakeside"]])


def test_the_inbox_query_count_does_not_grow_with_referrals(
    login: Any,
    priya: Any,
    register: Any,
    amina: Any,
    clinic_care: Service,
    consent_to: Any,
    refer: Any,
    django_assert_max_num_queries: Any,
) -> None:
    _many_referrals(register, amina, clinic_care, consent_to, refer, 20)
    client = login(priya)
    with django_assert_max_num_queries(INBOX_QUERIES):
        response = client.get("/referrals/inbox/")
    assert response.content.decode().count("/referrals/") >= 20
    # The API counts the caller's request in the shared cache: two more statements.
    with django_assert_max_num_queries(INBOX_QUERIES + RATE_LIMIT_QUERIES):
        assert len(client.get("/api/v1/referrals/inbox").json()["items"]) == 20


def test_the_directory_query_count_does_not_grow_with_services(
    login: Any,
    amina: Any,
    clinic: Organisation,
    areas: dict[str, Any],
    legal_aid: Service,
    django_assert_max_num_queries: Any,
) -> None:
    _many_services(clinic, areas, 20)
    client = login(amina)
    with django_assert_max_num_queries(DIRECTORY_QUERIES):
        response = client.get("/services/", {"location": areas["harbour"].pk})
    assert response.content.decode().count("Service ") >= 20
    with django_assert_max_num_queries(DIRECTORY_QUERIES + RATE_LIMIT_QUERIES):
        assert client.get("/api/v1/referrals/services").json()["count"] == 21


def test_the_case_page_panel_does_not_grow_with_referrals(
    login: Any,
    amina: Any,
    case: Case,
    clinic: Organisation,
    areas: dict[str, Any],
    consent_to: Any,
    refer: Any,
    django_assert_max_num_queries: Any,
) -> None:
    consent_to(case, amina)
    _many_services(clinic, areas, 11)
    services = list(Service.objects.all())
    refer(case, amina, services[0])
    client = login(amina)
    with CaptureQueriesContext(connection) as one:
        client.get(f"/cases/{case.pk}/")
    for service in services[1:]:
        refer(case, amina, service)
    with CaptureQueriesContext(connection) as eleven:
        body = client.get(f"/cases/{case.pk}/").content.decode()
    assert body.count(f"/cases/{case.pk}/referrals/") >= 11
    # (The first request also refreshes the session, so it may cost a little more.)
    assert len(eleven) <= len(one)
    with django_assert_max_num_queries(PANEL_QUERIES):
        context = case_panel_context(case, amina, True)
        assert len(context["referrals"]) == 11
