"""Agency-defined attributes over HTTP: the administrator defines them (screen and API), a
caseworker records a case's values, a sensitive value is encrypted and shown only to roles that
see personal data; everyone else, another team or agency, gets 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection

from casework.attributes import services
from casework.attributes.models import Attribute, AttributeChoice, AttributeValue
from casework.audit.models import AuditEntry

API = "/api/v1/attributes"
pytestmark = pytest.mark.django_db


def _define(adam: Any, code: str, *, sensitive: bool, applies_to: str = "person") -> Attribute:
    return services.define_attribute(
        by=adam,
        code=code,
        label=code.title(),
        applies_to=applies_to,
        sensitive=sensitive,
        choices=[
            services.ChoiceDetails("group_a", "Group A", 0),
            services.ChoiceDetails("group_b", "Group B", 1),
        ],
    )


@pytest.fixture
def ethnicity(adam: Any) -> Attribute:
    return _define(adam, "ethnicity", sensitive=True)


@pytest.fixture
def site(adam: Any) -> Attribute:
    return _define(adam, "site", sensitive=False, applies_to="case")


def test_it_lets_the_administrator_define_an_attribute_on_the_screen(login: Any, adam: Any) -> None:
    client = login(adam)
    assert client.get("/administration/attributes/").status_code == 200
    response = client.post(
        "/administration/attributes/",
        {
            "code": "ethnicity",
            "label": "Ethnicity",
            "applies_to": "person",
            "sensitive": "on",
            "choices": "group_a, Group A\ngroup_b, Group B\n",
        },
    )
    assert response.status_code == 302, response.content
    attribute = Attribute.objects.get(code="ethnicity")
    assert attribute.sensitive and attribute.agency_id == adam.agency_id
    assert [c.code for c in attribute.choices.all()] == ["group_a", "group_b"]
    detail = f"/administration/attributes/{attribute.pk}/"
    assert client.get(detail).status_code == 200
    # A choice is retired, not deleted.
    retired = client.post(detail, {"code": "group_b", "label": "Group B", "order": 1})
    assert retired.status_code == 302
    assert AttributeChoice.objects.get(attribute=attribute, code="group_b").active is False
    renamed = client.post(detail, {"change": "1", "label": "Ethnic group", "active": "on"})
    assert renamed.status_code == 302
    assert Attribute.objects.get(pk=attribute.pk).label == "Ethnic group"
    assert AuditEntry.objects.filter(action="attributes.attribute.defined").count() == 1


def test_a_bad_code_is_refused_next_to_its_field(login: Any, adam: Any) -> None:
    response = login(adam).post(
        "/administration/attributes/",
        {"code": "Ethnic Group!", "label": "E", "applies_to": "person", "choices": "a, A"},
    )
    assert response.status_code == 400
    assert not Attribute.objects.exists()


def test_it_lets_the_administrator_define_an_attribute_through_the_api(
    login: Any, adam: Any
) -> None:
    client = login(adam)
    body = {
        "code": "site",
        "label": "Displacement site",
        "applies_to": "case",
        "choices": [{"code": "camp_1", "label": "Camp 1"}, {"code": "camp_2", "label": "Camp 2"}],
    }
    response = client.post(API, body, content_type="application/json")
    assert response.status_code == 201, response.content
    made = response.json()
    assert made["dimension"] == "attr:site" and made["sensitive"] is False
    again = client.post(API, body, content_type="application/json")
    assert again.status_code == 400 and "code" in again.json()["fields"]
    added = client.post(
        f"{API}/{made['id']}/choices",
        {"code": "camp_3", "label": "Camp 3", "order": 3},
        content_type="application/json",
    )
    assert [c["code"] for c in added.json()["choices"]] == ["camp_1", "camp_2", "camp_3"]
    changed = client.put(
        f"{API}/{made['id']}", {"label": "Site", "active": False}, content_type="application/json"
    )
    assert changed.json()["label"] == "Site" and changed.json()["active"] is False
    assert [a["code"] for a in client.get(API).json()] == ["site"]


def test_no_one_but_the_agencys_administrator_reaches_attributes(
    login: Any, everyone: dict[str, Any], make_user: Any, other_agency: Any, site: Attribute
) -> None:
    other_admin = make_user("ada", agency=other_agency, role="none", is_administrator=True)
    for user in [*(u for name, u in everyone.items() if name != "adam"), other_admin]:
        client = login(user)
        if user is not other_admin:
            assert client.get(API).status_code == 404, user.username
        assert client.get(f"{API}/{site.pk}").status_code == 404, user.username
        assert client.get(f"/administration/attributes/{site.pk}/").status_code == 404
        assert (
            client.post(
                f"{API}/{site.pk}/choices",
                {"code": "x", "label": "X"},
                content_type="application/json",
            ).status_code
            == 404
        )
    # Another agency's administrator has her own (empty) list, never ours.
    assert login(other_admin).get(API).json() == []
    assert login(everyone["amina"]).get("/administration/attributes/").status_code == 404


def test_a_caseworker_sets_her_cases_values_on_the_screen(
    login: Any, amina: Any, case: Any, ethnicity: Attribute, site: Attribute
) -> None:
    client = login(amina)
    page = client.get(f"/cases/{case.pk}/")
    assert b"Change the attributes" in page.content
    assert client.get(f"/cases/{case.pk}/attributes/").status_code == 200
    response = client.post(
        f"/cases/{case.pk}/attributes/", {"ethnicity": "group_b", "site": "group_a"}
    )
    assert response.status_code == 302, response.content
    assert AttributeValue.objects.get(attribute=site, case=case).code == "group_a"
    assert AttributeValue.objects.get(attribute=ethnicity, person=case.person).sealed_code == (
        "group_b"
    )
    assert b"Group B" in client.get(f"/cases/{case.pk}/").content


def test_a_caseworker_sets_and_clears_a_value_through_the_api(
    login: Any, amina: Any, case: Any, site: Attribute
) -> None:
    client = login(amina)
    url = f"{API}/cases/{case.pk}"
    answer = client.put(url, {"attribute": "site", "choice": "group_a"}, "application/json")
    assert answer.status_code == 200, answer.content
    assert [(v["attribute"], v["choice"]) for v in answer.json()] == [("site", "group_a")]
    wrong = client.put(url, {"attribute": "site", "choice": "nope"}, "application/json")
    assert wrong.status_code == 400 and "choice" in wrong.json()["fields"]
    cleared = client.put(url, {"attribute": "site", "choice": ""}, "application/json")
    assert cleared.json()[0]["choice"] is None
    assert not AttributeValue.objects.exists()
    entry = AuditEntry.objects.filter(action="attributes.value.set").last()
    assert entry is not None and entry.case_id == case.pk


def test_another_team_or_agency_gets_404_on_a_cases_attributes(
    login: Any, omar: Any, xena: Any, case: Any, site: Attribute
) -> None:
    for user in (omar, xena):
        client = login(user)
        url = f"{API}/cases/{case.pk}"
        assert client.get(url).status_code == 404
        put = client.put(url, {"attribute": "site", "choice": "group_a"}, "application/json")
        assert put.status_code == 404
        assert client.get(f"/cases/{case.pk}/attributes/").status_code == 404
    assert not AttributeValue.objects.exists()


def test_a_sensitive_value_is_stored_encrypted_with_a_keyed_grouping_code(
    amina: Any, case: Any, ethnicity: Attribute
) -> None:
    value = services.set_value(by=amina, case=case, attribute=ethnicity, choice_code="group_a")
    assert value is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code, sealed_code, grouping FROM attributes_attributevalue WHERE id = %s",
            [value.pk],
        )
        code, sealed, grouping = cursor.fetchone()
    assert code == ""
    assert "group_a" not in sealed
    assert grouping and grouping != "group_a" and "group_a" not in grouping
    assert grouping == services.grouping_code(ethnicity, "group_a")
    # The audit entry names the attribute, never the sensitive value.
    entry = AuditEntry.objects.filter(action="attributes.value.set").last()
    assert entry is not None and "group_a" not in str(entry.data)


def test_a_sensitive_value_is_hidden_from_roles_that_see_no_personal_data(
    login: Any,
    amina: Any,
    sam: Any,
    paul: Any,
    mei: Any,
    priya: Any,
    case: Any,
    ethnicity: Attribute,
    site: Attribute,
) -> None:
    services.set_value(by=amina, case=case, attribute=ethnicity, choice_code="group_a")
    services.set_value(by=amina, case=case, attribute=site, choice_code="group_b")
    url = f"{API}/cases/{case.pk}"
    for reader in (amina, sam):
        values = {v["attribute"]: v for v in login(reader).get(url).json()}
        assert values["ethnicity"]["choice"] == "group_a"
    # The programme manager reads the case, de-identified: the site, not the ethnicity.
    values = {v["attribute"]: v for v in login(paul).get(url).json()}
    assert values["ethnicity"] == {**values["ethnicity"], "choice": None, "hidden": True}
    assert values["site"]["choice"] == "group_b"
    page = login(paul).get(f"/cases/{case.pk}/")
    assert page.status_code == 200 and b"Group A" not in page.content
    for outsider in (mei, priya):
        assert login(outsider).get(url).status_code == 404


def test_a_merge_brings_the_merged_records_values_and_an_undone_merge_takes_them_back(
    amina: Any, sam: Any, register: Any, ethnicity: Attribute
) -> None:
    from casework.cases import merging

    first = register(amina, given_name="Awa")
    second = register(amina, given_name="Awa", family_name="Traore")
    services.set_value(by=amina, case=second, attribute=ethnicity, choice_code="group_b")
    survivor, merged = first.person, second.person
    keep = {name: merging.KEEP for name in merging.conflicts(survivor, merged)}
    merge = merging.merge_persons(survivor, merged, by=sam, choices=keep)
    assert AttributeValue.objects.get(attribute=ethnicity).person_id == survivor.pk
    merging.unmerge(merge, by=sam)
    assert AttributeValue.objects.get(attribute=ethnicity).person_id == merged.pk


def test_anonymising_a_person_blanks_her_sensitive_values_and_keeps_their_groups(
    adam: Any, amina: Any, case: Any, ethnicity: Attribute
) -> None:
    from django.utils import timezone

    from casework.retention.services import anonymise_people

    hidden_site = _define(adam, "hidden_site", sensitive=True, applies_to="case")
    services.set_value(by=amina, case=case, attribute=ethnicity, choice_code="group_a")
    services.set_value(by=amina, case=case, attribute=hidden_site, choice_code="group_b")
    anonymise_people([case.person_id], now=timezone.now())
    for value in AttributeValue.objects.all():
        assert value.sealed_code == "" and value.grouping


# --- no lost updates: the case's attributes form and the API ------------------------------------

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z0-9_]+-was)"(?: value="([^"]*)")?')


def _loaded(client: Any, case: Any) -> dict[str, str]:
    """What the form posts back untouched: each field as it showed, and what it showed."""
    page = client.get(f"/cases/{case.pk}/attributes/")
    assert page.status_code == 200
    shown = {name: value or "" for name, value in _HIDDEN.findall(page.content.decode())}
    assert shown, "the form carries what each field showed"
    return {**shown, **{name.removesuffix("-was"): value for name, value in shown.items()}}


def test_saving_the_form_leaves_a_value_someone_set_meanwhile_untouched(
    login: Any, amina: Any, sam: Any, case: Any, ethnicity: Attribute, site: Attribute
) -> None:
    client = login(amina)
    form = _loaded(client, case)
    assert form == {"ethnicity": "", "ethnicity-was": "", "site": "", "site-was": ""}
    # Meanwhile the supervisor records the case's site.
    put = login(sam).put(
        f"{API}/cases/{case.pk}", {"attribute": "site", "choice": "group_b"}, "application/json"
    )
    assert put.status_code == 200, put.content
    # Amina saves her ethnicity, the site field untouched (still showing none).
    response = client.post(f"/cases/{case.pk}/attributes/", {**form, "ethnicity": "group_a"})
    assert response.status_code == 302, response.content
    assert AttributeValue.objects.get(attribute=site, case=case).code == "group_b"
    assert AttributeValue.objects.get(attribute=ethnicity).sealed_code == "group_a"


def test_changing_a_value_someone_changed_meanwhile_is_refused_and_nothing_is_written(
    login: Any, amina: Any, sam: Any, case: Any, ethnicity: Attribute, site: Attribute
) -> None:
    services.set_value(by=amina, case=case, attribute=site, choice_code="group_a")
    client = login(amina)
    form = _loaded(client, case)
    assert form["site-was"] == "group_a"
    login(sam).put(
        f"{API}/cases/{case.pk}", {"attribute": "site", "choice": "group_b"}, "application/json"
    )
    before = AuditEntry.objects.filter(action="attributes.value.set").count()
    response = client.post(
        f"/cases/{case.pk}/attributes/", {**form, "ethnicity": "group_a", "site": ""}
    )
    assert response.status_code == 400  # the form again, the refusal next to the field
    assert response.context["form"].errors["site"] == [
        "Someone changed this value since you read it. Read it again and retry."
    ]
    assert AttributeValue.objects.get(attribute=site, case=case).code == "group_b"
    assert not AttributeValue.objects.filter(attribute=ethnicity).exists()
    assert AuditEntry.objects.filter(action="attributes.value.set").count() == before


def test_an_attribute_added_after_the_form_was_loaded_is_left_alone(
    login: Any, adam: Any, amina: Any, sam: Any, case: Any, site: Attribute
) -> None:
    client = login(amina)
    form = _loaded(client, case)
    language = _define(adam, "language", sensitive=False)
    login(sam).put(
        f"{API}/cases/{case.pk}", {"attribute": "language", "choice": "group_b"}, "application/json"
    )
    response = client.post(f"/cases/{case.pk}/attributes/", {**form, "site": "group_a"})
    assert response.status_code == 302, response.content
    assert AttributeValue.objects.get(attribute=language).code == "group_b"
    assert AttributeValue.objects.get(attribute=site).code == "group_a"


def test_the_api_refuses_with_412_a_value_changed_since_the_client_read_it(
    login: Any, amina: Any, sam: Any, case: Any, site: Attribute
) -> None:
    url = f"{API}/cases/{case.pk}"
    first = login(amina).put(
        url, {"attribute": "site", "choice": "group_a", "was": ""}, "application/json"
    )
    assert first.status_code == 200, first.content
    login(sam).put(url, {"attribute": "site", "choice": "group_b"}, "application/json")
    stale = login(amina).put(
        url, {"attribute": "site", "choice": "", "was": "group_a"}, "application/json"
    )
    assert stale.status_code == 412, stale.content
    assert stale.json()["code"] == "precondition_failed"
    assert AttributeValue.objects.get(attribute=site).code == "group_b"
    fresh = login(amina).put(
        url, {"attribute": "site", "choice": "", "was": "group_b"}, "application/json"
    )
    assert fresh.status_code == 200 and not AttributeValue.objects.exists()
