"""`casework index_plans` indexes plans written without the services (e.g. by an import)."""

from __future__ import annotations

from io import StringIO
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from casework.cases.models import Case
from casework.core.text import fold_hash
from casework.plans import services, similarity
from casework.plans.models import CasePlan, PlanBand
from casework.plans.tests.conftest import assess, content

TEXT = "Find safe housing near her sister and return to the tailoring apprenticeship"


def test_it_indexes_imported_plans_so_near_copies_are_found(
    assessed: Case, register: Any, amina: Any
) -> None:
    imported = CasePlan.objects.create(
        case=assessed,
        planned_on=timezone.localdate(),
        status=CasePlan.Status.APPROVED,
        text=TEXT,
        fold_hash=fold_hash(TEXT),
    )
    assert not PlanBand.objects.filter(plan=imported).exists()
    out = StringIO()
    call_command("index_plans", stdout=out)
    assert "Indexed 1 plans" in out.getvalue()
    assert PlanBand.objects.filter(plan=imported).count() == similarity.BANDS
    other = assess(register(amina, given_name="Mariam"), amina)
    copy = services.create_plan(
        other, by=amina, content=content(goals=[TEXT.replace("sister", "aunt")], actions=[])
    )
    assert [s.plan_id for s in similarity.check_plan(copy).similar] == [imported.pk]


def test_it_drops_bands_of_versions_that_are_no_longer_current(
    approved: CasePlan, amina: Any
) -> None:
    new = services.revise_plan(approved, by=amina)
    PlanBand.objects.bulk_create(
        [PlanBand(plan=approved, person_id=0, band=value) for value in (1, 2, 3)]
    )
    call_command("index_plans", "--missing-only", stdout=StringIO())
    assert not PlanBand.objects.filter(plan=approved).exists()
    assert PlanBand.objects.filter(plan=new).count() == similarity.BANDS
