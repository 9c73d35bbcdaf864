"""Each rule of the contract's three indicators, one edge at a time (unsuppressed, k = 1).

Period throughout: 2026-Q3 = 2026-07-01 .. 2026-09-30.
"""

from __future__ import annotations

from typing import Any

import pytest

from casework.indicators.dimensions import parse_by
from casework.indicators.periods import parse_period
from casework.indicators.report import build_report, percentage
from casework.indicators.selectors import load_specs
from casework.indicators.tests.builders import CaseRows

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(agency: Any) -> CaseRows:
    return CaseRows(agency)


def report(agency: Any, *, period: str = "2026-Q3", by: str = "") -> dict[str, Any]:
    result = build_report(
        agency_id=agency.pk,
        agency_code=agency.code,
        period=parse_period(period),
        by=parse_by(by),
        min_cell=1,
    )
    return {item["code"]: item for item in result.as_json()["indicators"]}


def keys(item: dict[str, Any], dimension: str) -> dict[str, Any]:
    return {
        row["key"]: row.get("value")
        if "numerator" not in row
        else (row["numerator"], row["denominator"])
        for row in item["by"][dimension]
    }


# --- the period and "in case management" ---------------------------------------------------------


def test_it_counts_a_case_registered_on_the_last_day_and_one_closed_on_the_first(agency, rows):
    rows.case(registered_on="2026-09-30", assessed_on="2026-09-30", plan_on="2026-09-30")
    rows.case(
        registered_on="2025-01-10",
        assessed_on="2025-01-11",
        plan_on="2025-01-12",
        closed_on="2026-07-01",
    )
    figures = report(agency)
    assert figures["INDIVIDUAL_PLAN"]["denominator"] == 2
    assert figures["CM_CHILDREN_YOUTH"]["value"] == 2


def test_it_leaves_out_cases_registered_after_the_end_or_closed_before_the_start(agency, rows):
    rows.case(registered_on="2026-10-01", assessed_on="2026-10-01", plan_on="2026-10-01")
    rows.case(registered_on="2026-01-10", closed_on="2026-06-30")
    rows.case(registered_on=None, assessed_on=None, plan_on=None)  # identified, never registered
    figures = report(agency)
    assert figures["INDIVIDUAL_PLAN"]["denominator"] == 0
    assert figures["INDIVIDUAL_PLAN"]["value"] is None  # no denominator: null, not 0
    assert figures["CM_CHILDREN_YOUTH"]["value"] == 0


def test_one_shot_services_never_count(agency, rows):
    rows.case(service_type="ipa", plan_text="A plan")
    rows.case(service_type="referral_only", plan_text="Another plan")
    figures = report(agency)
    assert figures["CM_CHILDREN_YOUTH"]["value"] == 0
    assert figures["INDIVIDUAL_PLAN"]["denominator"] == 0
    assert figures["PARTICIPATION"]["denominator"] == 0


def test_another_agencys_cases_are_not_counted(agency, other_agency, rows):
    CaseRows(other_agency).case()
    rows.case()
    assert report(agency)["CM_CHILDREN_YOUTH"]["value"] == 1


def test_the_same_period_can_be_written_as_two_dates(agency, rows):
    rows.case(registered_on="2026-08-15")
    by_quarter = report(agency, period="2026-Q3")
    by_dates = report(agency, period="2026-07-01..2026-09-30")
    assert by_quarter == by_dates
    assert report(agency, period="2026-07")["CM_CHILDREN_YOUTH"]["value"] == 0
    assert report(agency, period="2026-08")["CM_CHILDREN_YOUTH"]["value"] == 1
    assert report(agency, period="2026")["CM_CHILDREN_YOUTH"]["value"] == 1


# --- persons, not rows ---------------------------------------------------------------------------


def test_a_person_with_two_qualifying_cases_counts_once(agency, rows):
    rows.case("C-1", "P-1", programme="CP")
    rows.case("C-2", "P-1", programme="GBV")
    figures = report(agency)
    assert figures["CM_CHILDREN_YOUTH"]["value"] == 1
    assert figures["INDIVIDUAL_PLAN"]["denominator"] == 1


def test_attributes_come_from_the_earliest_registered_case(agency, rows):
    rows.case("C-2", "P-1", registered_on="2026-07-01", age=16, protection_concern="neglect")
    rows.case("C-1", "P-1", registered_on="2026-08-01", age=17, protection_concern="detention")
    figures = report(agency, by="age_group,protection_concern")
    assert keys(figures["CM_CHILDREN_YOUTH"], "protection_concern") == {"neglect": 1}
    assert keys(figures["INDIVIDUAL_PLAN"], "protection_concern") == {"neglect": (0, 1)}


def test_a_tie_on_the_registration_date_goes_to_the_smallest_case_reference(agency, rows):
    rows.case("C-B", "P-1", registered_on="2026-07-01", location="NE-02")
    rows.case("C-A", "P-1", registered_on="2026-07-01", location="SO-01")
    figures = report(agency, by="location_code,adm1")
    assert keys(figures["CM_CHILDREN_YOUTH"], "location_code") == {"SO-01": 1}
    assert keys(figures["CM_CHILDREN_YOUTH"], "adm1") == {"SO": 1}


def test_the_earliest_case_is_chosen_among_the_qualifying_ones_only(agency, rows):
    # The earlier case is an IPA, so it does not qualify: the person is 20 (18-24), not 15.
    rows.case("C-1", "P-1", service_type="ipa", registered_on="2026-01-05", age=15)
    rows.case("C-2", "P-1", registered_on="2026-07-05", age=20)
    figures = report(agency, by="age_group")
    assert keys(figures["CM_CHILDREN_YOUTH"], "age_group") == {"18-24": 1}


def test_empty_values_are_reported_under_unknown(agency, rows):
    rows.case(protection_concern=None, location=None, age=None, mobility_status="", disability="")
    figures = report(
        agency, by="protection_concern,location_code,mobility_status,disability,age_group"
    )
    item = figures["INDIVIDUAL_PLAN"]
    for dimension in ("protection_concern", "location_code", "mobility_status", "disability"):
        assert keys(item, dimension) == {"unknown": (0, 1)}
    assert keys(item, "age_group") == {"unknown": (0, 1)}


# --- CM_CHILDREN_YOUTH -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "group", "counted"),
    [
        (0, "0-17", True),
        (17, "0-17", True),
        (18, "18-24", True),
        (24, "18-24", True),
        (25, "25-59", False),
        (59, "25-59", False),
        (60, "60+", False),
        (None, "unknown", False),
    ],
)
def test_age_at_registration_sets_the_group_and_only_0_to_24_are_children_and_youth(
    agency, rows, age, group, counted
):
    rows.case(age=age)
    figures = report(agency, by="age_group")
    assert keys(figures["INDIVIDUAL_PLAN"], "age_group") == {group: (0, 1)}
    assert figures["CM_CHILDREN_YOUTH"]["value"] == (1 if counted else 0)


def test_children_need_an_assessment_and_a_plan_by_the_period_end(agency, rows):
    rows.case(assessed_on=None, plan_on=None)
    rows.case(assessed_on="2026-08-01", plan_on=None)
    rows.case(assessed_on="2026-08-01", plan_on="2026-10-01")
    rows.case(assessed_on="2026-10-01", plan_on="2026-10-02")
    rows.case(assessed_on="2026-09-30", plan_on="2026-09-30")
    assert report(agency)["CM_CHILDREN_YOUTH"]["value"] == 1


def test_open_and_closed_are_read_at_the_period_end(agency, rows):
    rows.case(closed_on=None)
    rows.case(closed_on="2026-10-05")  # closed after the end: open at the end
    rows.case(closed_on="2026-09-30")
    rows.case("C-A", "P-2", closed_on="2026-08-01")
    rows.case("C-B", "P-2", closed_on=None)  # one of P-2's cases is still open
    figures = report(agency)["CM_CHILDREN_YOUTH"]
    assert (figures["value"], figures["open"], figures["closed"]) == (4, 3, 1)


def test_also_mhpss_counts_any_mhpss_service_overlapping_the_period(agency, rows):
    rows.case("C-1", "P-1")
    rows.case("C-2", "P-1", programme="MHPSS", service_type="ipa")
    rows.case("C-3", "P-2", programme="MHPSS")  # the qualifying case itself is MHPSS
    rows.case("C-4", "P-3")
    rows.case("C-5", "P-3", programme="MHPSS", registered_on="2025-01-01", closed_on="2025-03-01")
    rows.case("C-6", "P-4", service_type="ipa", programme="MHPSS")  # no CM case: not counted
    figures = report(agency)["CM_CHILDREN_YOUTH"]
    assert (figures["value"], figures["also_mhpss"]) == (3, 2)


# --- INDIVIDUAL_PLAN ----------------------------------------------------------------------------------


def test_a_plan_is_individualised_when_it_has_text_is_not_a_group_plan_and_is_due(agency, rows):
    rows.case(plan_text="Enrol in the Gao school; counselling weekly")
    rows.case(plan_text="")  # a plan date without text
    rows.case(plan_text="Shelter life skills", plan_is_group=True)
    rows.case(plan_text="Medical follow-up in Kayes", plan_on="2026-10-01")
    rows.case(plan_text="Legal aid for papers", plan_on=None)
    assert (report(agency)["INDIVIDUAL_PLAN"]["numerator"]) == 1


def test_the_same_plan_text_as_another_persons_case_is_not_individual(agency, rows):
    rows.case("C-1", "P-1", plan_text="Counselling, then school.")
    # Folding: case, punctuation and spacing do not make a plan different.
    rows.case("C-2", "P-2", plan_text="  counselling -- THEN school ")
    # Even a case outside the period and outside case management makes it a copy.
    rows.case("C-3", "P-3", plan_text="Safe housing near Mopti")
    rows.case(
        "C-4",
        "P-4",
        plan_text="safe housing near mopti",
        service_type="ipa",
        registered_on="2024-01-01",
    )
    rows.case("C-5", "P-5", plan_text="Vocational training in Bamako")
    assert report(agency)["INDIVIDUAL_PLAN"]["numerator"] == 1


def test_the_same_persons_two_cases_sharing_a_plan_are_not_duplicates(agency, rows):
    rows.case("C-1", "P-1", plan_text="Reunification with the aunt in Kidal")
    rows.case("C-2", "P-1", plan_text="Reunification with the aunt in Kidal", programme="GBV")
    figures = report(agency)["INDIVIDUAL_PLAN"]
    assert (figures["numerator"], figures["denominator"], figures["value"]) == (1, 1, 100.0)


def test_a_plan_of_another_agency_is_not_compared(agency, other_agency, rows):
    CaseRows(other_agency).case(plan_text="Counselling, then school")
    rows.case(plan_text="Counselling, then school")
    assert report(agency)["INDIVIDUAL_PLAN"]["numerator"] == 1


def test_one_individual_plan_among_a_persons_cases_is_enough(agency, rows):
    rows.case("C-1", "P-1", plan_text="")
    rows.case("C-2", "P-1", plan_text="Family tracing and school", registered_on="2026-08-01")
    assert report(agency)["INDIVIDUAL_PLAN"]["numerator"] == 1


# --- PARTICIPATION -----------------------------------------------------------------------------------


def test_only_the_latest_survey_inside_the_period_counts(agency, rows):
    rows.case("C-1", "P-1")
    rows.survey("C-1", "2026-07-10", q1_aware=True, q2_involved=True)
    rows.survey("C-1", "2026-09-01", q1_aware=True, q2_involved=False)
    rows.survey("C-1", "2026-10-02", q1_aware=True, q2_involved=True)  # after the end
    rows.case("C-2", "P-2")
    rows.survey("C-2", "2026-06-30", q1_aware=True, q2_involved=True)  # before the start
    rows.survey("C-2", "2026-07-20", q1_aware=True, q2_involved=True, q3=("set_goals",))
    figures = report(agency)["PARTICIPATION"]
    assert (figures["numerator"], figures["denominator"], figures["surveyed"]) == (1, 2, 2)


def test_the_latest_survey_is_taken_over_all_the_persons_cases(agency, rows):
    rows.case("C-1", "P-1")
    rows.case("C-2", "P-1", service_type="ipa", registered_on="2026-07-01")
    rows.survey("C-1", "2026-07-10", q1_aware=True, q2_involved=True)
    rows.survey("C-2", "2026-08-10", q1_aware=False, q2_involved=None)
    figures = report(agency)["PARTICIPATION"]
    assert (figures["numerator"], figures["surveyed"]) == (0, 1)


def test_involved_needs_yes_to_both_questions(agency, rows):
    for number, (q1, q2) in enumerate([(True, True), (True, False), (False, None)]):
        rows.case(f"C-{number}", f"P-{number}")
        rows.survey(f"C-{number}", "2026-08-01", q1_aware=q1, q2_involved=q2)
    rows.case("C-9", "P-9")  # not surveyed: in the denominator, not in the numerator
    figures = report(agency)["PARTICIPATION"]
    assert (figures["numerator"], figures["denominator"], figures["value"]) == (1, 4, 25.0)
    assert figures["surveyed"] == 3


def test_q3_counts_the_ways_of_the_involved_persons_latest_surveys(agency, rows):
    rows.case("C-1", "P-1")
    rows.survey("C-1", "2026-07-01", q3=("agreed_plan",))
    rows.survey("C-1", "2026-08-01", q3=("set_goals", "expressed_needs"))
    rows.case("C-2", "P-2")
    rows.survey("C-2", "2026-08-01", q3=("set_goals",))
    rows.case("C-3", "P-3")
    rows.survey("C-3", "2026-08-01", q2_involved=False)
    q3 = report(agency)["PARTICIPATION"]["q3"]
    assert q3 == {
        "expressed_needs": 1,
        "chose_services": 0,
        "set_goals": 2,
        "agreed_plan": 0,
        "declined_services": 0,
        "other": 0,
    }


# --- disaggregation and rounding ----------------------------------------------------------------------


def test_each_slice_carries_its_own_numerator_and_denominator_and_they_add_up(agency, rows):
    rows.case(plan_text="Plan one", sex="female")
    rows.case(plan_text="", sex="female")
    rows.case(plan_text="Plan three", sex="male", age=30)
    item = report(agency, by="sex,sex+age_group")["INDIVIDUAL_PLAN"]
    assert item["by"]["sex"] == [
        {"key": "female", "numerator": 1, "denominator": 2, "value": 50.0},
        {"key": "male", "numerator": 1, "denominator": 1, "value": 100.0},
    ]
    pairs = {
        tuple(row["key"]): (row["numerator"], row["denominator"])
        for row in item["by"]["sex+age_group"]
    }
    # Every pair of the two margins is listed, empty ones included.
    assert pairs == {
        ("female", "0-17"): (1, 2),
        ("female", "25-59"): (0, 0),
        ("male", "0-17"): (0, 0),
        ("male", "25-59"): (1, 1),
    }


@pytest.mark.parametrize(
    ("numerator", "denominator", "value"),
    [
        (51, 87, 58.6),
        (17, 87, 19.5),
        (5, 16, 31.3),
        (1, 8, 12.5),
        (1, 19, 5.3),
        (0, 3, 0.0),
        (0, 0, None),
    ],
)
def test_percentages_round_to_one_decimal_with_halves_up(numerator, denominator, value):
    assert percentage(numerator, denominator) == value


# --- indicators an agency defines itself ------------------------------------------------------------


def test_an_agency_indicator_written_in_the_rule_language_is_computed_like_the_built_ins(
    agency, rows, make_user
):
    from casework.indicators.services import define_indicator

    admin = make_user("ada", agency=agency, role="me_officer", is_administrator=True)
    define_indicator(
        agency=agency,
        by=admin,
        code="HIGH_RISK_GIRLS_PLANNED",
        names={"en": "% of high-risk girls with a plan"},
        kind="percentage",
        population={
            "cases": {"field": "risk_level", "in": ["high"]},
            "persons": {
                "all": [{"field": "sex", "equals": "female"}, {"field": "age", "at_most": 17}]
            },
        },
        numerator={"any_case": {"fact": "planned_by_end"}},
        disaggregations=["location_code"],
    )
    rows.case(risk_level="high", sex="female", age=12)
    rows.case(risk_level="high", sex="female", age=15, plan_on=None)
    rows.case(risk_level="high", sex="male", age=12)
    rows.case(risk_level="low", sex="female", age=12)
    figures = report(agency, by="sex,location_code")
    item = figures["HIGH_RISK_GIRLS_PLANNED"]
    assert (item["numerator"], item["denominator"], item["value"]) == (1, 2, 50.0)
    assert set(item["by"]) == {"location_code"}  # only the disaggregations it allows
    assert [spec.code for spec in load_specs(agency.pk)][-1] == "HIGH_RISK_GIRLS_PLANNED"


@pytest.mark.parametrize(
    "population",
    [
        {"cases": {"field": "password", "equals": "x"}},
        {"cases": {"fact": "__import__('os')"}},
        {"cases": {"field": "age", "between": [30, 2]}},
        {"cases": {"all": []}},
        {"persons": "age < 18"},
    ],
)
def test_a_rule_outside_the_language_is_refused(agency, make_user, population):
    from casework.indicators.rules import RuleError
    from casework.indicators.services import define_indicator

    admin = make_user("ada", agency=agency, role="me_officer", is_administrator=True)
    with pytest.raises(RuleError):
        define_indicator(
            agency=agency, by=admin, code="BAD", names={}, kind="count", population=population
        )


# --- the database does the counting ----------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_the_number_of_cases(
    agency, rows, django_assert_max_num_queries
):
    by = "sex,age_group,protection_concern,mobility_status,disability,location_code,adm1,sex+age_group"
    rows.many(5, plan_text="")
    with django_assert_max_num_queries(4) as few:
        report(agency, by=by)
    rows.many(400, plan_text="")
    with django_assert_max_num_queries(4) as many:
        report(agency, by=by)
    assert len(few.captured_queries) == len(many.captured_queries)


def test_an_agency_count_can_report_closed_without_open(agency, rows, make_user):
    from casework.indicators.services import define_indicator

    admin = make_user("ada", agency=agency, role="me_officer", is_administrator=True)
    define_indicator(
        agency=agency,
        by=admin,
        code="GBV_SURVIVORS",
        names={"en": "# of GBV survivors in case management"},
        kind="count",
        population={"cases": {"field": "programme", "equals": "GBV"}},
        measures=["closed"],
    )
    rows.case(programme="GBV", closed_on="2026-08-01")
    rows.case(programme="GBV")
    rows.case(programme="CP", closed_on="2026-08-01")
    item = report(agency)["GBV_SURVIVORS"]
    assert (item["value"], item["closed"]) == (2, 1)
    assert "open" not in item
