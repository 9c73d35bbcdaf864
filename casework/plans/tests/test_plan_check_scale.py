"""Checking a plan reads a bounded number of rows whatever the number of plans (seed 001 at scale).

Thousands of plans are written in bulk (as an import would), then a new plan is checked: the
exact rule is one indexed lookup, near-duplicates come from one indexed band query, and only the
few candidates are decrypted and scored.
"""

from __future__ import annotations

import random
import time
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from casework.cases.models import Case
from casework.core.text import fold_hash
from casework.plans import services, similarity
from casework.plans.models import CasePlan, PlanBand
from casework.plans.tests.conftest import assess, content

PLANS = 2000
WORDS = [f"word{n}" for n in range(3000)]


def _bulk_plans(case: Case, count: int) -> list[CasePlan]:
    """`count` plan rows with unrelated texts and their bands, in a few bulk statements."""
    rng = random.Random(4)
    today = timezone.localdate()
    plans = CasePlan.objects.bulk_create(
        [
            CasePlan(
                case=case,
                version=number,
                status=CasePlan.Status.APPROVED,
                planned_on=today,
                text=" ".join(rng.choice(WORDS) for _ in range(30)),
            )
            for number in range(1, count + 1)
        ],
        batch_size=1000,
    )
    for plan in plans:
        plan.fold_hash = fold_hash(plan.text)
    CasePlan.objects.bulk_update(plans, ["fold_hash"], batch_size=1000)
    PlanBand.objects.bulk_create(
        [
            PlanBand(plan_id=plan.pk, person_id=1_000_000 + plan.version, band=band)
            for plan in plans
            for band in similarity.band_values(plan.text, agency_id=case.agency_id)
        ],
        batch_size=5000,
    )
    return plans


def test_it_checks_a_plan_among_thousands_with_a_bounded_number_of_queries(
    assessed: Case, register: Any, amina: Any
) -> None:
    plans = _bulk_plans(assessed, PLANS)
    assert PlanBand.objects.count() == PLANS * similarity.BANDS
    # A plan copied from one of them with two words changed, for another person.
    source = plans[1234]
    words = source.text.split()
    words[3], words[20] = "changed", "edited"
    other = assess(register(amina, given_name="Mariam"), amina)
    copy = services.create_plan(
        other, by=amina, content=content(goals=[" ".join(words)], actions=[])
    )
    copy.case = other

    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        check = similarity.check_plan(copy)
        elapsed = time.perf_counter() - start
    assert len(queries) <= 4, [q["sql"] for q in queries]
    assert [s.plan_id for s in check.similar] == [source.pk]
    assert check.candidates <= similarity.MAX_CANDIDATES
    assert elapsed < 0.5
    band_query = next(q["sql"] for q in queries if "plans_planband" in q["sql"])
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + band_query.replace("%s", "?"), [])
            plan_rows = " ".join(str(row) for row in cursor.fetchall())
        assert "plan_band" in plan_rows  # the band index, not a scan


def test_a_unique_plan_reads_almost_nothing(assessed: Case, register: Any, amina: Any) -> None:
    _bulk_plans(assessed, 1000)
    other = assess(register(amina, given_name="Mariam"), amina)
    plan = services.create_plan(other, by=amina, content=content())
    plan.case = other
    check = similarity.check_plan(plan)
    assert check.candidates == 0 and check.similar == [] and check.individualised


def test_the_signature_is_stable_and_order_insensitive_for_equal_texts() -> None:
    text = "Find safe housing; return to school!"
    assert similarity.band_values(text, agency_id=1) == similarity.band_values(
        "find SAFE housing return to school", agency_id=1
    )
    assert similarity.band_values(text, agency_id=1) != similarity.band_values(text, agency_id=2)
    assert similarity.band_values("", agency_id=1) == []


def test_thousands_of_copies_of_one_group_plan_do_not_slow_the_check(
    assessed: Case, register: Any, amina: Any
) -> None:
    """Seed 001's group plan copied into every file: a band shared by all of them is read only
    PER_BAND entries deep, and the exact rule lists a bounded number of the other cases."""
    group_text = " ".join(f"group{n}" for n in range(40))
    today = timezone.localdate()
    plans = CasePlan.objects.bulk_create(
        [
            CasePlan(
                case=assessed,
                version=number,
                status=CasePlan.Status.APPROVED,
                planned_on=today,
                text=group_text,
                fold_hash=fold_hash(group_text),
            )
            for number in range(1, 2001)
        ],
        batch_size=1000,
    )
    bands = similarity.band_values(group_text, agency_id=assessed.agency_id)
    PlanBand.objects.bulk_create(
        [
            PlanBand(plan_id=plan.pk, person_id=2_000_000 + plan.version, band=band)
            for plan in plans
            for band in bands
        ],
        batch_size=5000,
    )
    other = assess(register(amina, given_name="Mariam"), amina)
    copy = services.create_plan(
        other,
        by=amina,
        content=content(goals=[group_text.replace("group7 ", "changed ")], actions=[]),
    )
    copy.case = other
    with CaptureQueriesContext(connection) as queries:
        check = similarity.check_plan(copy)
    assert len(queries) <= 4
    assert check.candidates == similarity.MAX_CANDIDATES
    # Every candidate is the same group plan: one finding for staff, not one per copy.
    assert [s.plan_id for s in check.similar] == [plans[-1].pk]
    assert check.similar[0].score >= 90
