"""Case.plan_duplicate_confirmed_on: since when a supervisor's confirmation says the case's current
plan is a near copy of another person's (seed 001: "If the plan in each file seems duplicated …
that is not counted as an individual plan").

INDIVIDUAL_PLAN stops counting such a plan in every period that ends on or after that day, and
keeps counting it in the periods before (casework/indicators/rules.individualised_plan), as a
condition on a case column so the report stays one grouped query.

A confirmation applies while it is about the current texts of both plans (what
`services.current_matches` shows on the plan page): a new version with the same text carries the
decision over (and keeps its date), a rewritten text ends it. So the date is recomputed, for both
sides of every finding, by `refresh` wherever a finding is decided or a plan's text changes: the
plan services (through `services._refresh_text` and `services.decide_match`) and the importer.
`stale_cases` lists any case whose date is wrong (a test ties it to those paths).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from casework.cases.models import Case
from casework.plans.models import CasePlan, PlanMatch


def applying_matches(case_ids: Iterable[int] | None = None, *, agency_id: int | None = None) -> Q:
    """Confirmed findings about the current text of two current plans (of `case_ids`, or of
    the agency's cases)."""
    newer_plan = CasePlan.objects.filter(
        case_id=OuterRef("plan__case_id"), version__gt=OuterRef("plan__version")
    )
    newer_other = CasePlan.objects.filter(
        case_id=OuterRef("other_plan__case_id"), version__gt=OuterRef("other_plan__version")
    )
    applying = (
        Q(decision=PlanMatch.Decision.CONFIRMED)
        & Q(plan_fold_hash=F("plan__fold_hash"), other_fold_hash=F("other_plan__fold_hash"))
        & ~Q(plan_fold_hash="")
        & ~Exists(newer_plan)
        & ~Exists(newer_other)
    )
    if case_ids is not None:
        ids = list(case_ids)
        applying &= Q(plan__case_id__in=ids) | Q(other_plan__case_id__in=ids)
    if agency_id is not None:
        applying &= Q(plan__case__agency_id=agency_id)
    return applying


def confirmed_on(
    case_ids: Iterable[int] | None = None, *, agency_id: int | None = None
) -> dict[int, datetime.date]:
    """Case id → the day of the earliest confirmation that applies to its current plan."""
    found: dict[int, datetime.date] = {}
    rows = PlanMatch.objects.filter(applying_matches(case_ids, agency_id=agency_id)).values_list(
        "plan__case_id", "other_plan__case_id", "decided_at"
    )
    for plan_case, other_case, decided_at in rows:
        if decided_at is None:
            continue
        day = timezone.localdate(decided_at)
        for case_id in (plan_case, other_case):
            if case_id not in found or day < found[case_id]:
                found[case_id] = day
    return found


def refresh(case_ids: Iterable[int]) -> int:
    """Recompute the date of `case_ids` and of the cases on the other side of their findings.
    Call it inside the writing transaction, after the texts and decisions are written. Returns
    how many cases changed."""
    ids = {case_id for case_id in case_ids if case_id}
    if not ids:
        return 0
    for plan_case, other_case in PlanMatch.objects.filter(
        Q(plan__case_id__in=ids) | Q(other_plan__case_id__in=ids),
        decision=PlanMatch.Decision.CONFIRMED,
    ).values_list("plan__case_id", "other_plan__case_id"):
        ids.update((plan_case, other_case))
    wanted = confirmed_on(ids)
    # One UPDATE per date to write (a handful), not one per case.
    by_day: dict[datetime.date | None, list[int]] = defaultdict(list)
    for case_id, current in Case.objects.filter(pk__in=ids).values_list(
        "pk", "plan_duplicate_confirmed_on"
    ):
        day = wanted.get(case_id)
        if day != current:
            by_day[day].append(case_id)
    for day, changing in by_day.items():
        Case.objects.filter(pk__in=changing).update(plan_duplicate_confirmed_on=day)
    return sum(len(changing) for changing in by_day.values())


def refresh_confirmed(case_ids: Iterable[int]) -> int:
    """`refresh` for those of `case_ids` that have a date now (a bulk writer's changed texts: a
    case without one gains none from a new text, so the others need no work)."""
    ids = list(case_ids)
    changed = 0
    for start in range(0, len(ids), 5000):
        dated = Case.objects.filter(
            pk__in=ids[start : start + 5000], plan_duplicate_confirmed_on__isnull=False
        ).values_list("pk", flat=True)
        changed += refresh(list(dated))
    return changed


def stale_cases(agency_id: int) -> list[int]:
    """Cases of the agency whose date is not what the findings say (none, when every path keeps it)."""
    wanted = confirmed_on(agency_id=agency_id)
    dated = dict(
        Case.objects.filter(
            agency_id=agency_id, plan_duplicate_confirmed_on__isnull=False
        ).values_list("pk", "plan_duplicate_confirmed_on")
    )
    return sorted(
        case_id for case_id in set(wanted) | set(dated) if wanted.get(case_id) != dated.get(case_id)
    )
