"""How the client (and for a child, the caregiver) took part in each plan version."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from casework.core.errors import FieldErrors
from casework.plans import services
from casework.plans.models import CasePlan, Participation
from casework.plans.tests.conftest import assess, content, participation


def test_it_records_how_the_client_took_part(plan: CasePlan, amina: Any) -> None:
    services.record_participation(
        plan,
        by=amina,
        details=participation(
            ways=["expressed_needs", "chose_services", "declined_services", "agreed_plan"],
            declined_services="Did not want a referral to the police",
            client_views="I want to work, not to be sent home.",
        ),
    )
    row = Participation.objects.get(plan=plan)
    assert row.ways == ["expressed_needs", "chose_services", "declined_services", "agreed_plan"]
    assert row.told_right_to_decline is True
    assert row.client_agreed is True and row.agreed_on == timezone.localdate()
    assert row.declined_services == "Did not want a referral to the police"
    assert row.caregiver_involved is None


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"ways": []}, "ways"),
        ({"told_right_to_decline": False}, "told_right_to_decline"),
        ({"client_agreed": None}, "client_agreed"),
        ({"agreed_on": None}, "agreed_on"),
        ({"ways": ["declined_services"]}, "declined_services"),
        ({"client_agreed": False}, "ways"),  # did not agree, yet "agreed the plan" is ticked
    ],
)
def test_it_requires_the_client_part(
    plan: CasePlan, amina: Any, fields: dict[str, Any], error_field: str
) -> None:
    with pytest.raises(FieldErrors) as error:
        services.record_participation(plan, by=amina, details=participation(**fields))
    assert error_field in error.value.errors
    assert not Participation.objects.exists()


def test_a_client_may_decline_the_plan(plan: CasePlan, amina: Any) -> None:
    services.record_participation(
        plan,
        by=amina,
        details=participation(ways=["expressed_needs"], client_agreed=False, agreed_on=None),
    )
    assert Participation.objects.get(plan=plan).client_agreed is False


@pytest.fixture
def child_plan(register: Any, amina: Any) -> CasePlan:
    case = assess(register(amina, given_name="Awa", age=14), amina)
    return services.create_plan(case, by=amina, content=content())


def test_for_a_child_the_caregiver_part_is_required(child_plan: CasePlan, amina: Any) -> None:
    with pytest.raises(FieldErrors) as error:
        services.record_participation(child_plan, by=amina, details=participation())
    assert "caregiver_involved" in error.value.errors


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"caregiver_involved": True}, "caregiver_ways"),
        ({"caregiver_involved": True, "caregiver_ways": ["set_goals"]}, "caregiver_agreed"),
        (
            {"caregiver_involved": True, "caregiver_ways": ["set_goals"], "caregiver_agreed": True},
            "caregiver_agreed_on",
        ),
        ({"caregiver_involved": False}, "caregiver_not_involved_reason"),
    ],
)
def test_it_requires_each_part_of_the_caregiver_record(
    child_plan: CasePlan, amina: Any, fields: dict[str, Any], error_field: str
) -> None:
    with pytest.raises(FieldErrors) as error:
        services.record_participation(child_plan, by=amina, details=participation(**fields))
    assert error_field in error.value.errors


def test_it_records_the_caregiver_part(child_plan: CasePlan, amina: Any) -> None:
    services.record_participation(
        child_plan,
        by=amina,
        details=participation(
            caregiver_involved=True,
            caregiver_ways=["expressed_needs", "agreed_plan"],
            caregiver_agreed=True,
            caregiver_agreed_on=timezone.localdate(),
        ),
    )
    row = Participation.objects.get(plan=child_plan)
    assert row.caregiver_involved is True and row.caregiver_agreed is True


def test_a_caregiver_may_be_left_out_for_the_childs_sake(child_plan: CasePlan, amina: Any) -> None:
    services.record_participation(
        child_plan,
        by=amina,
        details=participation(
            caregiver_involved=False,
            caregiver_not_involved_reason="The uncle is the alleged abuser.",
        ),
    )
    assert Participation.objects.get(plan=child_plan).caregiver_not_involved_reason


def test_it_records_participation_over_http(login: Any, amina: Any, child_plan: CasePlan) -> None:
    client = login(amina)
    url = f"/cases/{child_plan.case_id}/plans/{child_plan.pk}/participation/"
    page = client.get(url).content.decode()
    assert "The caregiver took part" in page
    today = timezone.localdate().isoformat()
    data = {
        "ways": ["expressed_needs", "agreed_plan"],
        "told_right_to_decline": "on",
        "client_agreed": "yes",
        "agreed_on": today,
    }
    response = client.post(url, data)
    assert response.status_code == 400
    assert "record whether the caregiver took part" in response.content.decode()
    data |= {
        "caregiver_involved": "yes",
        "caregiver_ways": ["set_goals"],
        "caregiver_agreed": "yes",
        "caregiver_agreed_on": today,
    }
    assert client.post(url, data).status_code == 302
    assert Participation.objects.get(plan=child_plan).caregiver_ways == ["set_goals"]


def test_an_adult_plan_form_has_no_caregiver_fields(login: Any, amina: Any, plan: CasePlan) -> None:
    page = login(amina).get(f"/cases/{plan.case_id}/plans/{plan.pk}/participation/")
    assert "The caregiver took part" not in page.content.decode()
