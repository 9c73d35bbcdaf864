"""An agency's attributes as disaggregations of the indicator report (grouped in SQL, a
sensitive one by its keyed grouping code, suppressed as the built-ins) and as fields of the rule
language (`attr.<code>`)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Count

from casework.attributes import services
from casework.attributes.models import Attribute
from casework.cases.models import Case
from casework.indicators import rules
from casework.indicators.dimensions import (
    UNKNOWN,
    DisaggregationError,
    dimension_for,
    dimensions_for_agency,
    parse_by,
)
from casework.indicators.periods import parse_period
from casework.indicators.report import build_report
from casework.indicators.services import define_indicator
from casework.indicators.tests.builders import CaseRows

pytestmark = pytest.mark.django_db
COUNT = "CM_CHILDREN_YOUTH"


def _attribute(adam: Any, code: str, *, sensitive: bool, applies_to: str) -> Attribute:
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
def world(agency: Any, adam: Any, amina: Any) -> dict[str, Any]:
    """34 children in case management: ethnicity (sensitive, of the person) A for 12, B for 2,
    none for 20; site (plain, of the case) A for 10."""
    ethnicity = _attribute(adam, "ethnicity", sensitive=True, applies_to="person")
    site = _attribute(adam, "site", sensitive=False, applies_to="case")
    rows = CaseRows(agency)
    group_a = rows.many(12)
    group_b = rows.many(2)
    rows.many(20)
    for number, case in enumerate(group_a):
        services.set_value(by=amina, case=case, attribute=ethnicity, choice_code="group_a")
        if number < 10:
            services.set_value(by=amina, case=case, attribute=site, choice_code="group_a")
    for case in group_b:
        services.set_value(by=amina, case=case, attribute=ethnicity, choice_code="group_b")
    return {"ethnicity": ethnicity, "site": site}


def _report(agency: Any, by: str, *, k: int, codes: list[str] | None = None) -> dict[str, Any]:
    report = build_report(
        agency_id=agency.pk,
        agency_code=agency.code,
        period=parse_period("2026-Q3"),
        by=parse_by(by, agency.pk),
        min_cell=k,
        codes=codes,
    )
    return {item["code"]: item for item in report.as_json()["indicators"]}


def _slices(item: dict[str, Any], by: str) -> dict[Any, Any]:
    return {
        (tuple(row["key"]) if isinstance(row["key"], list) else row["key"]): row["value"]
        for row in item["by"][by]
    }


def test_a_sensitive_attribute_disaggregates_the_report_by_its_choices(
    agency: Any, world: dict[str, Any]
) -> None:
    item = _report(agency, "attr:ethnicity,attr:site", k=1)[COUNT]
    assert item["value"] == 34
    # Keyed by the choice codes, mapped back from the grouping codes (nothing decrypted).
    assert _slices(item, "attr:ethnicity") == {"group_a": 12, "group_b": 2, UNKNOWN: 20}
    assert _slices(item, "attr:site") == {"group_a": 10, UNKNOWN: 24}


def test_a_small_attribute_cell_is_suppressed_and_so_is_its_complement(
    agency: Any, world: dict[str, Any]
) -> None:
    item = _report(agency, "attr:ethnicity", k=5)[COUNT]
    slices = _slices(item, "attr:ethnicity")
    assert slices["group_b"] is None
    # 34 - 12 - 20 would give group B back: the next smallest goes too.
    assert slices["group_a"] is None and slices[UNKNOWN] == 20
    pair = _report(agency, "attr:ethnicity,sex,attr:ethnicity+sex", k=5)[COUNT]
    cells = _slices(pair, "attr:ethnicity+sex")
    assert cells[("group_b", "female")] is None


def test_the_report_groups_a_sensitive_attribute_by_its_grouping_code_in_sql(
    agency: Any, world: dict[str, Any]
) -> None:
    dimension = dimension_for("attr:ethnicity", agency.pk)
    grouped = dict(
        Case.objects.filter(agency=agency)
        .annotate(key=dimension.expression())
        .values("key")
        .annotate(n=Count("pk"))
        .values_list("key", "n")
    )
    assert "group_a" not in grouped and "group_b" not in grouped
    assert sorted(grouped.values()) == [2, 12, 20]
    assert {dimension.key_of(key) for key in grouped} == {"group_a", "group_b", UNKNOWN}
    assert dimension.label_of("group_b") == "Group B"
    assert [d.code for d in dimensions_for_agency(agency.pk)][-2:] == [
        "attr:ethnicity",
        "attr:site",
    ]
    with pytest.raises(DisaggregationError):
        dimension_for("attr:ethnicity", agency.pk + 1000)
    with pytest.raises(DisaggregationError):
        parse_by("attr:ethnicity")  # no agency: no attributes


def test_the_indicator_api_and_screen_disaggregate_by_an_attribute(
    agency: Any, world: dict[str, Any], login: Any, mei: Any, xena: Any
) -> None:
    answer = login(mei).get("/api/v1/indicators", {"period": "2026-Q3", "by": "attr:site"})
    assert answer.status_code == 200, answer.content
    [item] = [i for i in answer.json()["indicators"] if i["code"] == COUNT]
    assert _slices(item, "attr:site") == {"group_a": 10, UNKNOWN: 24}
    page = login(mei).get("/indicators/", {"period": "2026-Q3", "by": ["attr:site"]})
    assert page.status_code == 200 and b"Site" in page.content and b"Group A" in page.content
    csv = login(mei).get(
        "/api/v1/indicators", {"period": "2026-Q3", "by": "attr:site", "format": "hxl"}
    )
    assert csv.status_code == 200 and b"#group+attr_site" in csv.content
    # Another agency has no such attribute.
    refused = login(xena).get("/api/v1/indicators", {"period": "2026-Q3", "by": "attr:site"})
    assert refused.status_code in (400, 404)


def test_a_rule_on_an_attribute_selects_its_persons(
    agency: Any, adam: Any, world: dict[str, Any]
) -> None:
    define_indicator(
        agency=agency,
        by=adam,
        code="GROUP_A_SITE_A",
        names={"en": "Group A at site A"},
        kind="count",
        population={
            "cases": {
                "all": [
                    {"field": "attr.ethnicity", "in": ["group_a", "group_b"]},
                    {"not": {"field": "attr.site", "is_empty": True}},
                ]
            }
        },
    )
    define_indicator(
        agency=agency,
        by=adam,
        code="GROUP_B",
        names={"en": "Group B"},
        kind="count",
        population={"persons": {"field": "attr.ethnicity", "equals": "group_b"}},
    )
    items = _report(agency, "", k=1, codes=["GROUP_A_SITE_A", "GROUP_B"])
    assert items["GROUP_A_SITE_A"]["value"] == 10
    assert items["GROUP_B"]["value"] == 2


def test_a_rule_naming_an_unknown_attribute_is_refused_with_its_path(
    agency: Any, adam: Any, world: dict[str, Any]
) -> None:
    with pytest.raises(rules.RuleError) as unknown:
        define_indicator(
            agency=agency,
            by=adam,
            code="BAD",
            names={"en": "Bad"},
            kind="count",
            population={"cases": {"all": [{"fact": "assessed_by_end"}, {"field": "attr.nope"}]}},
        )
    assert unknown.value.field == "population.cases.all[1]"
    with pytest.raises(rules.RuleError) as unknown_code:
        define_indicator(
            agency=agency,
            by=adam,
            code="BAD",
            names={"en": "Bad"},
            kind="count",
            population={"cases": {"any": [{"field": "attr.nope", "equals": "x"}]}},
        )
    assert unknown_code.value.field == "population.cases.any[0]"
    assert "attr.nope" in str(unknown_code.value.message)
    with pytest.raises(rules.RuleError) as wrong_operator:
        define_indicator(
            agency=agency,
            by=adam,
            code="BAD",
            names={"en": "Bad"},
            kind="count",
            population={"persons": {"field": "attr.ethnicity", "between": [1, 2]}},
        )
    assert wrong_operator.value.field == "population.persons"


def test_a_report_by_an_attribute_is_frozen_and_compared_like_any_other(
    agency: Any, world: dict[str, Any], login: Any, mei: Any
) -> None:
    from casework.indicators.models import FrozenReport

    body = {"period": "2026-Q3", "by": "attr:site", "recipient": "Cluster"}
    made = login(mei).post("/api/v1/indicators/frozen", body, content_type="application/json")
    assert made.status_code == 201, made.content
    found = FrozenReport.objects.get(pk=made.json()["id"])
    assert found.disaggregations == "attr:site"
    [item] = [i for i in found.report["indicators"] if i["code"] == COUNT]
    assert _slices(item, "attr:site") == {"group_a": 10, UNKNOWN: 24}
    compared = login(mei).get(f"/api/v1/indicators/frozen/{found.pk}/comparison")
    assert compared.status_code == 200 and compared.json()["signature_ok"] is True
    screen = login(mei).get("/indicators/frozen/new/", {"period": "2026-Q3"})
    assert b'value="attr:site"' in screen.content
