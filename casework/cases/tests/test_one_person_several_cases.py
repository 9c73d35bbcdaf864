"""One person, several cases: a person page seen through the cases, another case opened for
the same person (MHPSS beside case management), and every report counting the person once."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.cases import services
from casework.cases.models import Case, Status
from casework.core.errors import CaseworkError
from casework.indicators.periods import parse_period
from casework.indicators.report import build_report
from casework.people.models import Person
from casework.reference.models import Programme


def _cm_children(case: Case) -> tuple[int, int | None]:
    """CM_CHILDREN_YOUTH this year: (persons counted, of whom also in MHPSS)."""
    report = build_report(
        agency_id=case.agency_id,
        agency_code=case.agency.code,
        period=parse_period(str(timezone.localdate().year)),
        min_cell=1,
        codes=["CM_CHILDREN_YOUTH"],
    )
    indicator = report.indicators[0]
    return indicator.total.figures[0], indicator.measures.get("also_mhpss")


def _planned(case: Case, by: Any) -> None:
    services.transition_case(case, to=Status.ASSESSED, by=by)
    services.transition_case(case, to=Status.PLANNED, by=by)


def _opening_form(**changes: Any) -> dict[str, Any]:
    today = timezone.localdate()
    data = {
        "programme": Programme.objects.get(code="MHPSS").pk,
        "service_type": "case_management",
        "identification_source": "self",
        "identified_on": today,
        "consent_given_by": "caregiver",
        "consent_child_assent": "yes",
        "consent_receive_services": "on",
        "consent_anonymised_reporting": "on",
        "consent_method": "written",
        "consent_given_on": today,
    }
    return data | changes


@pytest.fixture
def child(register: Any, amina: Any) -> Case:
    return register(amina, given_name="Mariam", age=12)


def test_the_person_page_lists_the_cases_and_opens_another(
    login: Any, child: Case, amina: Any
) -> None:
    client = login(amina)
    page = client.get(f"/persons/{child.person_id}/").content.decode()
    assert child.reference in page and "Mariam" in page
    assert f"/persons/{child.person_id}/cases/new/" in page
    response = client.post(f"/persons/{child.person_id}/cases/new/", _opening_form())
    assert response.status_code == 302, response.content.decode()
    second = Case.objects.exclude(pk=child.pk).get()
    assert second.person_id == child.person_id and second.programme.code == "MHPSS"
    assert second.status == Status.REGISTERED and second.age_at_registration == 12
    assert second.consents.get().caregiver is not None  # the caregiver already on record
    assert Case.objects.values("person").distinct().count() == 1
    page = client.get(f"/persons/{child.person_id}/").content.decode()
    assert child.reference in page and second.reference in page
    assert AuditEntry.objects.filter(
        action="cases.case.opened_for_person", case_id=second.pk
    ).exists()


def test_a_second_case_for_the_same_person_is_counted_once(
    login: Any, child: Case, amina: Any
) -> None:
    _planned(child, amina)
    assert _cm_children(child) == (1, 0)
    login(amina).post(f"/persons/{child.person_id}/cases/new/", _opening_form())
    second = Case.objects.exclude(pk=child.pk).get()
    _planned(second, amina)
    assert _cm_children(child) == (1, 1)  # one child, also in MHPSS


def test_the_api_opens_another_case_and_lists_the_persons_cases(
    login: Any, child: Case, amina: Any
) -> None:
    client = login(amina)
    person = client.get(f"/api/v1/persons/{child.person_id}")
    assert person.json()["cases"] == [child.pk]
    response = client.post(
        f"/api/v1/persons/{child.person_id}/cases",
        {
            "case": {"programme": "MHPSS"},
            "consent": {"receive_services": True, "given_by": "caregiver", "child_assent": True},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    second = response.json()["id"]
    listed = client.get(f"/api/v1/persons/{child.person_id}/cases").json()
    assert [case["id"] for case in listed] == [child.pk, second]
    _planned(child, amina)
    _planned(Case.objects.get(pk=second), amina)
    assert _cm_children(child) == (1, 1)


def test_an_anonymised_person_gets_no_new_case(child: Case, amina: Any) -> None:
    Person.objects.filter(pk=child.person_id).update(anonymised_at=timezone.now())
    child.person.refresh_from_db()
    with pytest.raises(CaseworkError) as refused:
        services.open_case(
            child.person,
            by=amina,
            details=services.CaseDetails(programme=Programme.objects.get(code="MHPSS")),
            consent=None,
        )
    assert refused.value.code == "anonymised"


@pytest.mark.parametrize("who", ["omar", "olga", "paul", "mei", "priya", "adam", "xena"])
def test_outsiders_cannot_open_a_case_for_the_person(
    who: str, request: pytest.FixtureRequest, login: Any, child: Case
) -> None:
    client = login(request.getfixturevalue(who))
    assert client.get(f"/persons/{child.person_id}/cases/new/").status_code == 404
    assert client.post(f"/persons/{child.person_id}/cases/new/", _opening_form()).status_code == 404
    response = client.post(
        f"/api/v1/persons/{child.person_id}/cases",
        {"case": {"programme": "MHPSS"}},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert Case.objects.count() == 1


def test_the_programme_manager_reads_the_person_but_does_not_see_the_name(
    login: Any, child: Case, paul: Any
) -> None:
    page = login(paul).get(f"/persons/{child.person_id}/").content.decode()
    assert child.reference in page and "Mariam" not in page
    assert "/cases/new/" not in page
    body = login(paul).get(f"/api/v1/persons/{child.person_id}").json()
    assert body["given_name"] is None and body["cases"] == [child.pk]


def test_a_person_of_another_team_is_not_found(login: Any, child: Case, omar: Any) -> None:
    assert login(omar).get(f"/persons/{child.person_id}/").status_code == 404
    assert login(omar).get(f"/api/v1/persons/{child.person_id}").status_code == 404
    assert login(omar).get(f"/api/v1/persons/{child.person_id}/cases").status_code == 404
    assert AuditEntry.objects.filter(action="people.person.denied", outcome="denied").exists()


def test_identification_dates_are_checked_for_the_new_case_too(
    login: Any, child: Case, amina: Any
) -> None:
    future = timezone.localdate() + datetime.timedelta(days=2)
    response = login(amina).post(
        f"/persons/{child.person_id}/cases/new/", _opening_form(identified_on=future)
    )
    assert response.status_code == 400
    assert "The identification date cannot be in the future." in response.content.decode()
    assert Case.objects.count() == 1
