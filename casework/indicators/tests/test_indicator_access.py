"""Who sees indicators: M&E officers, supervisors and programme managers; everyone else a 404.

Seeing figures below the agency's threshold (min_cell) needs Perm.VIEW_UNSUPPRESSED and leaves
an audit entry.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from casework.audit.models import AuditEntry
from casework.indicators.models import Dhis2Mapping
from casework.indicators.tests.builders import CaseRows

pytestmark = pytest.mark.django_db

API = "/api/v1/indicators"


@pytest.fixture
def some_cases(agency):
    rows = CaseRows(agency)
    rows.many(12, plan_text="")
    rows.case(sex="male", plan_text="A plan of their own")
    return rows


@pytest.mark.parametrize("name", ["mei", "sam", "paul"])
def test_viewers_see_the_page_and_the_api(request, login, some_cases, name):
    client = login(request.getfixturevalue(name))
    page = client.get(reverse("indicators:report"), {"period": "2026-Q3", "by": ["sex"]})
    assert page.status_code == 200
    assert b"CM_CHILDREN_YOUTH" in page.content
    answer = client.get(API, {"period": "2026-Q3", "by": "sex"})
    assert answer.status_code == 200
    codes = [item["code"] for item in answer.json()["indicators"]]
    assert codes == ["CM_CHILDREN_YOUTH", "INDIVIDUAL_PLAN", "PARTICIPATION"]
    assert client.get(reverse("indicators:trends")).status_code == 200


@pytest.mark.parametrize("name", ["amina", "priya", "xena", "adam"])
def test_everyone_else_gets_404_on_page_api_and_trends(request, login, some_cases, name):
    client = login(request.getfixturevalue(name))
    assert client.get(reverse("indicators:report"), {"period": "2026-Q3"}).status_code == 404
    assert client.get(reverse("indicators:trends")).status_code == 404
    assert client.get(API, {"period": "2026-Q3"}).status_code == 404
    assert client.get(f"{API}/trends", {"start": "2026-01", "end": "2026-09"}).status_code == 404
    assert client.get(f"{API}/definitions").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in_and_refused_by_the_api(client):
    assert client.get(reverse("indicators:report")).status_code == 302
    assert client.get(API, {"period": "2026-Q3"}).status_code == 401


def test_an_me_officer_is_refused_unsuppressed_figures_and_the_refusal_is_audited(login, mei):
    client = login(mei)
    answer = client.get(API, {"period": "2026-Q3", "min_cell": 1})
    assert answer.status_code == 403
    assert answer.json()["code"] == "not_allowed"
    entry = AuditEntry.objects.get(action="indicators.unsuppressed")
    assert entry.outcome == "denied" and entry.actor == mei
    # The page does not offer the setting to her at all: a forged parameter is ignored.
    page = client.get(reverse("indicators:report"), {"period": "2026-Q3", "min_cell": 1})
    assert page.status_code == 200
    assert b'name="min_cell"' not in page.content
    assert AuditEntry.objects.filter(action="indicators.unsuppressed").count() == 1


def test_a_programme_manager_may_see_unsuppressed_figures_and_it_is_audited(
    login, paul, some_cases
):
    client = login(paul)
    answer = client.get(API, {"period": "2026-Q3", "by": "sex", "min_cell": 1})
    assert answer.status_code == 200
    male = next(row for row in answer.json()["indicators"][1]["by"]["sex"] if row["key"] == "male")
    assert male == {"key": "male", "numerator": 1, "denominator": 1, "value": 100.0}
    entry = AuditEntry.objects.get(action="indicators.unsuppressed")
    assert entry.actor == paul and entry.outcome == "ok"
    assert entry.data == {"period": "2026-Q3", "min_cell": 1}


def test_the_same_request_without_min_cell_is_suppressed_and_not_audited(login, paul, some_cases):
    answer = login(paul).get(API, {"period": "2026-Q3", "by": "sex"})
    male = next(row for row in answer.json()["indicators"][1]["by"]["sex"] if row["key"] == "male")
    assert male == {
        "key": "male",
        "numerator": None,
        "denominator": None,
        "value": None,
        "suppressed": True,
    }
    assert not AuditEntry.objects.filter(action="indicators.unsuppressed").exists()


def test_a_stricter_threshold_needs_no_permission(login, mei, some_cases):
    answer = login(mei).get(API, {"period": "2026-Q3", "min_cell": 20})
    assert answer.status_code == 200
    assert answer.json()["indicators"][0]["value"] is None


def test_a_bad_period_or_disaggregation_is_a_400_with_the_field(login, mei):
    client = login(mei)
    answer = client.get(API, {"period": "2026-Q5"})
    assert answer.status_code == 400 and answer.json()["field"] == "period"
    answer = client.get(API, {"period": "2026-Q3", "by": "name"})
    assert answer.status_code == 400 and answer.json()["field"] == "by"
    assert client.get(reverse("indicators:report"), {"period": "last year"}).status_code == 400


def test_the_page_shows_no_case_reference_and_no_name(login, mei, agency, register, amina):
    rows = CaseRows(agency)
    rows.case("SECRET-REF-1", "PERSON-REF-1")
    register(amina, given_name="Zainab", family_name="Kouyaté")
    client = login(mei)
    page = client.get(
        reverse("indicators:report"),
        {"period": "2026-Q3", "by": ["sex", "location_code"], "pair": "sex+age_group"},
    )
    assert page.status_code == 200
    for secret in (b"SECRET-REF-1", b"PERSON-REF-1", b"Zainab", "Kouyaté".encode()):
        assert secret not in page.content


def test_the_page_and_the_api_take_a_constant_number_of_queries(
    login, mei, agency, django_assert_max_num_queries
):
    client = login(mei)
    params = {
        "period": "2026-Q3",
        "by": ["sex", "age_group", "protection_concern"],
        "pair": "sex+age_group",
    }
    CaseRows(agency).many(3)
    client.get(reverse("indicators:report"), params)  # sessions, keys and caches warmed
    with django_assert_max_num_queries(40) as few:
        assert client.get(reverse("indicators:report"), params).status_code == 200
    CaseRows(agency).many(300)
    with django_assert_max_num_queries(40) as many:
        assert client.get(reverse("indicators:report"), params).status_code == 200
    assert len(few.captured_queries) == len(many.captured_queries)


@pytest.mark.parametrize(
    ("output_format", "content_type"),
    [
        ("csv", "text/csv"),
        ("hxl", "text/csv"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("dhis2", "application/json"),
    ],
)
def test_the_api_and_the_page_hand_out_each_format_as_a_file(
    login, mei, some_cases, output_format, content_type
):
    client = login(mei)
    # One figure mapped to DHIS2: a DHIS2 export with nothing mapped is refused (dhis2.py).
    Dhis2Mapping.objects.create(
        agency_id=mei.agency_id,
        indicator_code="CM_CHILDREN_YOUTH",
        data_element="AbCdEfGhIj1",
        org_unit="OrgUnit0001",
    )
    answer = client.get(API, {"period": "2026-Q3", "by": "sex", "format": output_format})
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith(content_type)
    assert answer["Content-Disposition"].startswith('attachment; filename="indicators-AGY-2026-Q3')
    page = client.get(
        reverse("indicators:report"),
        {"period": "2026-Q3", "by": ["sex"], "download": output_format},
    )
    assert page.status_code == 200 and page["Content-Type"].startswith(content_type)
    if output_format != "xlsx":  # a workbook carries the time it was written
        assert page.content == answer.content


def test_an_unknown_format_is_refused(login, mei):
    answer = login(mei).get(API, {"period": "2026-Q3", "format": "pdf"})
    assert answer.status_code == 400 and answer.json()["field"] == "format"


def test_the_api_lists_the_definitions_and_answers_trends(login, sam, some_cases):
    client = login(sam)
    definitions = client.get(f"{API}/definitions").json()
    assert [item["code"] for item in definitions] == [
        "CM_CHILDREN_YOUTH",
        "INDIVIDUAL_PLAN",
        "PARTICIPATION",
    ]
    assert definitions[1]["numerator"] == {"any_case": {"fact": "individualised_plan"}}
    trends = client.get(f"{API}/trends", {"start": "2026-07", "end": "2026-09"}).json()
    assert trends["start"] == "2026-07-01" and trends["end"] == "2026-09-30"
    new_by_sex = next(table for table in trends["tables"] if table["code"] == "new_by_sex")
    assert new_by_sex["periods"] == ["2026-07", "2026-08", "2026-09"]
    # July: 12 women and 1 man; the man is hidden, and so the women (13 - 12 would give him).
    assert new_by_sex["values"]["male"] == [None, 0, 0]
    assert new_by_sex["values"]["female"] == [None, 0, 0]
    assert new_by_sex["period_totals"] == [13, 0, 0]
