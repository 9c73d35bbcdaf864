"""The duplicate-plan check at scale: `BENCH_EXTRA=bench.plans_bench make bench`.

bench/suite.py calls `run(repeat=…)` after it has filled the bench database with cases. The first
run gives every case without a plan an invented one (kept between runs, like the cases): three
goals and three actions drawn from a bank of the phrases caseworkers reuse, with the person's own
details filled in, about 2% exact copies of an earlier plan (the group or copy-paste plans seed
001 warns about) and 2% near copies. Rows go in with `insert_rows` and are indexed in bulk.

Then `check_plan` is timed for three new plans: a near copy, an exact copy and an original one.
BENCH_PLANS (default: every case) limits how many cases get a plan.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from casework.cases.models import Case
from casework.core.benchmarking import timed
from casework.core.bulk import insert_rows, reserve_ids, reset_sequences
from casework.core.text import fold_hash
from casework.plans import sharing, similarity
from casework.plans.models import CasePlan, PlanBand
from casework.vault.fields import encrypting_for

BATCH = 10_000

GOALS = [
    "Find safe housing near {relative} in {place} before {month}",
    "Return to school in {place} and attend at least {n} days a month",
    "Get a birth certificate and identity papers from the office in {place}",
    "Start the {trade} apprenticeship with the workshop in {place}",
    "Reunite with {relative} once the family tracing in {place} is done",
    "Receive treatment for the injuries at the {place} clinic",
    "Join the women's savings group in {place} and save {n} thousand a month",
    "Feel safe at home: no contact with the recruiter for {n} weeks",
    "Attend counselling sessions with the psychologist every {n} weeks",
    "Obtain legal advice on the complaint against the employer in {place}",
    "Learn to read and write with the evening class in {place}",
    "Earn an income from {trade} by {month}",
]
ACTIONS = [
    "Refer to the shelter run by the association in {place} for {n} weeks",
    "Caseworker accompanies {name} to the {place} clinic on {month} {n}",
    "{name} chooses which of the {n} training courses to visit",
    "Ask the legal aid office in {place} for an appointment with a lawyer",
    "Pay the school fees for the {month} term through the cash programme",
    "{relative} attends the family meeting at the office in {place}",
    "Phone {name} every {n} days to check on safety",
    "Register {name} with the civil registry in {place}",
    "Buy the {trade} starter kit agreed with {name}",
    "Arrange transport to {place} for the tracing interview",
    "{name} keeps the emergency number and the safe word agreed",
    "Visit the workshop in {place} with {name} to meet the trainer",
]
NAMES = ["Awa", "Fatima", "Mariam", "Salif", "Kadi", "Oumar", "Aminata", "Issa", "Rokia", "Moussa"]
RELATIVES = ["her sister", "his uncle", "her mother", "the grandparents", "an aunt", "his brother"]
PLACES = ["Bamako", "Ségou", "Mopti", "Kayes", "Sikasso", "Gao", "Koulikoro", "Tombouctou"]
MONTHS = ["January", "March", "May", "July", "September", "November"]
TRADES = ["tailoring", "hairdressing", "welding", "soap making", "mechanics", "catering"]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        name=rng.choice(NAMES),
        relative=rng.choice(RELATIVES),
        place=rng.choice(PLACES),
        month=rng.choice(MONTHS),
        n=rng.randint(2, 30),
        trade=rng.choice(TRADES),
    )


def invent_plan(rng: random.Random) -> str:
    goals = [_fill(t, rng) for t in rng.sample(GOALS, 3)]
    actions = [_fill(t, rng) for t in rng.sample(ACTIONS, 3)]
    return "\n".join(goals + actions)


def near_copy(text: str, rng: random.Random) -> str:
    """The same plan with one line's details changed (a name, a place, a number)."""
    lines = text.split("\n")
    index = rng.randrange(len(lines))
    words = lines[index].split()
    words[-1] = rng.choice(PLACES + MONTHS + NAMES)
    lines[index] = " ".join(words)
    return "\n".join(lines)


def ensure_plans(*, limit: int | None = None, seed: int = 11) -> dict[str, Any]:
    """Give cases without a plan an invented current plan, with its bands. Idempotent."""
    rng = random.Random(seed)  # noqa: S311 - invented bench data, not secrets
    missing = Case.objects.filter(plans__isnull=True).order_by("pk")
    if limit is not None:
        have = CasePlan.objects.values("case_id").distinct().count()
        missing = missing[: max(0, limit - have)]
    rows = list(
        missing.values_list(
            "pk", "person_id", "agency_id", "planned_on", "registered_on", "identified_on"
        )
    )
    if not rows:
        return {"written": 0}
    start = time.perf_counter()
    recent: list[str] = []
    written = 0
    for offset in range(0, len(rows), BATCH):
        batch = rows[offset : offset + BATCH]
        with transaction.atomic():
            first_id = reserve_ids(CasePlan, len(batch))
            plans: dict[int, list[dict[str, Any]]] = {}  # by agency: each its own key
            bands: list[dict[str, Any]] = []
            summaries: list[tuple[str, int]] = []
            for number, (
                case_id,
                person_id,
                agency_id,
                planned,
                registered,
                identified,
            ) in enumerate(batch):
                roll = rng.random()
                if recent and roll < 0.02:
                    text = rng.choice(recent)
                elif recent and roll < 0.04:
                    text = near_copy(rng.choice(recent), rng)
                else:
                    text = invent_plan(rng)
                    if len(recent) < 5000:
                        recent.append(text)
                    else:
                        recent[rng.randrange(len(recent))] = text
                plan_id = first_id + number
                digest = fold_hash(text)
                plans.setdefault(agency_id, []).append(
                    {
                        "id": plan_id,
                        "case_id": case_id,
                        "version": 1,
                        "status": CasePlan.Status.APPROVED,
                        "planned_on": planned or registered or identified,
                        "text": text,
                        "fold_hash": digest,
                    }
                )
                bands.extend(
                    {"plan_id": plan_id, "person_id": person_id, "band": value}
                    for value in similarity.band_values(text, agency_id=agency_id)
                )
                summaries.append((digest, case_id))
            for agency_id, agency_plans in plans.items():
                with encrypting_for(agency_id):
                    insert_rows(CasePlan, agency_plans)
            insert_rows(PlanBand, bands, batch_size=20_000)
            with connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE cases_case SET plan_fold_hash = %s WHERE id = %s", summaries
                )
        written += len(batch)
        print(f"plans: {written:,} / {len(rows):,}", file=sys.stderr, flush=True)
    reset_sequences([CasePlan, PlanBand])
    for agency_id in {row[2] for row in rows}:
        with transaction.atomic():
            sharing.refresh(agency_id)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE plans_caseplan")
            cursor.execute("ANALYZE plans_planband")
    seconds = time.perf_counter() - start
    return {
        "written": written,
        "seconds": round(seconds, 1),
        "per_second": round(written / seconds),
    }


def _timed(function: Callable[[], Any], *, repeat: int) -> dict[str, Any]:
    figures = timed(function, repeat=repeat)
    with CaptureQueriesContext(connection) as captured:
        result = function()
    return {
        **figures,
        "queries": len(captured),
        "candidates": result.candidates,
        "similar": len(result.similar),
        "same_as_other_people": len(result.same_as_case_ids),
    }


def run(*, repeat: int = 20) -> dict[str, Any]:
    limit = os.environ.get("BENCH_PLANS")
    generated = ensure_plans(limit=int(limit) if limit else None)
    rng = random.Random(5)  # noqa: S311 - invented bench data, not secrets
    plans = CasePlan.objects.count()
    sample = (
        CasePlan.objects.select_related("case")
        .order_by("-pk")
        .only("text", "fold_hash", "case")
        .first()
    )
    if sample is None:
        return {"plans": 0, "generate": generated}
    # A probe is checked as if it were the new plan of another case of the agency (it is not saved).
    host = (
        Case.objects.filter(agency_id=sample.case.agency_id)
        .exclude(person_id=sample.case.person_id)
        .first()
    )
    if host is None:
        return {"plans": plans, "generate": generated}

    def probe(text: str) -> CasePlan:
        plan = CasePlan(case=host, version=99, text=text, fold_hash=fold_hash(text))
        return plan

    probes = {
        "near copy of an existing plan": probe(near_copy(sample.text, rng)),
        "exact copy of an existing plan": probe(sample.text),
        "an original plan": probe(invent_plan(rng)),
    }

    def checker(plan: CasePlan) -> Callable[[], similarity.PlanCheck]:
        return lambda: similarity.check_plan(plan)

    timings = {
        f"check_plan: {name}": _timed(checker(plan), repeat=repeat) for name, plan in probes.items()
    }
    return {"plans": plans, "bands": PlanBand.objects.count(), "generate": generated, **timings}
