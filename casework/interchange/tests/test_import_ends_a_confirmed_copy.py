"""An import that rewrites a plan ends a supervisor's confirmation that the old text was a near
copy (casework/plans/confirmations.py): INDIVIDUAL_PLAN no longer leaves either plan out."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from casework.cases.models import Case
from casework.interchange.importer import import_cases
from casework.interchange.tests.conftest import case_rows, table_bytes
from casework.plans import confirmations
from casework.plans.models import CasePlan, PlanMatch

pytestmark = pytest.mark.django_db


def test_a_new_plan_text_from_an_import_ends_the_confirmation(
    agency: Any, amina: Any, sam: Any, paul: Any
) -> None:
    rows = case_rows(2)
    rows[1]["plan_text"] = rows[0]["plan_text"] + " Also a bicycle."
    assert import_cases(cases=table_bytes(rows), by=paul, own_agency_only=True).errors == []
    first, second = (CasePlan.objects.get(case__reference=row["case_ref"]) for row in rows)
    PlanMatch.objects.create(
        plan=second,
        other_plan=first,
        score=95,
        plan_fold_hash=second.fold_hash,
        other_fold_hash=first.fold_hash,
        found_at=timezone.now(),
        decision=PlanMatch.Decision.CONFIRMED,
        decided_by=sam,
        decided_at=timezone.now(),
    )
    confirmations.refresh({first.case_id})
    dated = Case.objects.exclude(plan_duplicate_confirmed_on=None)
    assert set(dated.values_list("pk", flat=True)) == {first.case_id, second.case_id}

    rows[1]["plan_text"] = "Vocational training in Mopti, chosen by her."
    assert import_cases(cases=table_bytes(rows[1:]), by=paul, own_agency_only=True).errors == []
    assert not Case.objects.exclude(plan_duplicate_confirmed_on=None).exists()
    assert confirmations.stale_cases(agency.pk) == []
