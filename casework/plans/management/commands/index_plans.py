"""`casework index_plans`: rebuild the near-duplicate index of every case's current plan.

Plans written through the services are indexed as they are saved. Run this after writing plan
rows another way (an import that creates CasePlan rows directly, a restore), or to check that the
index is complete (`--missing-only` indexes only current plans that have no band yet). It also
recomputes every case's "plan text shared with another person" flag (casework.plans.sharing) and
the date since which a confirmed near copy applies (casework.plans.confirmations), in each
agency, and says how many were wrong.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Exists, OuterRef

from casework.accounts.models import Agency
from casework.plans import confirmations, sharing, similarity
from casework.plans.models import CasePlan, PlanBand


class Command(BaseCommand):
    help = "Rebuild the near-duplicate index (MinHash bands) of every case's current plan."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--missing-only",
            action="store_true",
            help="Index only current plans that have text but no band yet.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        plans = (
            CasePlan.objects.current()
            .exclude(fold_hash="")
            .select_related("case")
            .only("pk", "text", "case__agency_id", "case__person_id")
        )
        if options["missing_only"]:
            plans = plans.filter(~Exists(PlanBand.objects.filter(plan_id=OuterRef("pk"))))
        # Bands of versions that are no longer current are dropped: only current plans compare.
        stale = PlanBand.objects.exclude(plan_id__in=CasePlan.objects.current().values("pk"))
        dropped, _detail = stale.delete()
        count = similarity.index_current_plans(plans.iterator(chunk_size=2000))
        self.stdout.write(f"Indexed {count} plans; dropped {dropped} stale band rows.")
        corrected = dated = 0
        for agency_id in Agency.objects.order_by("pk").values_list("pk", flat=True):
            with transaction.atomic():
                corrected += sharing.refresh(agency_id)
                dated += confirmations.refresh(confirmations.stale_cases(agency_id))
        self.stdout.write(f"Corrected {corrected} shared-plan flags.")
        self.stdout.write(f"Corrected {dated} dates of confirmed near copies.")
