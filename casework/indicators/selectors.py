"""Reads of indicator definitions that the report, the API and the commands share."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from casework.accounts import agency_settings
from casework.cases.models import Case
from casework.core.periods import Period
from casework.indicators import rules
from casework.indicators.definitions import IndicatorSpec
from casework.indicators.models import IndicatorDefinition
from casework.plans.models import SpotCheck

SPEC_FIELDS = (
    "code",
    "kind",
    "period_semantics",
    "population",
    "numerator",
    "measures",
    "disaggregations",
    "names",
)


def specs_of(rows: QuerySet[IndicatorDefinition]) -> list[IndicatorSpec]:
    """The definitions `rows` as specs, in display order."""
    ordered = rows.order_by("position", "code")
    return [IndicatorSpec.from_values(values) for values in ordered.values(*SPEC_FIELDS)]


def load_specs(agency_id: int, codes: list[str] | None = None) -> list[IndicatorSpec]:
    """The active indicators an agency reports: the built-ins and its own, in display order."""
    rows = IndicatorDefinition.objects.filter(
        Q(agency_id=agency_id) | Q(agency__isnull=True), is_active=True
    )
    if codes:
        rows = rows.filter(code__in=codes)
    return specs_of(rows)


def settings_in_force(agency_id: int, period: Any) -> list[agency_settings.InForce]:
    """The agency's settings as they stood at the end of the period's last day: what the
    report's figures were counted under (reasonable caseloads, closure approval, risk windows,
    the smallest count published …)."""
    end = timezone.make_aware(datetime.datetime.combine(period.end, datetime.time.max))
    return agency_settings.in_force(agency_id, min(end, timezone.now()))


@dataclass(frozen=True)
class Verification:
    """The period's spot checks of plans (seed 001, verification 3) beside the computed
    INDIVIDUAL_PLAN flag of the same cases, as the report shows them."""

    sampled: int
    checked: int
    # The checker found the plan not individualised, the indicator counts it as individualised.
    check_says_not_individualised: int
    # The checker found the plan individualised, the indicator does not count it.
    check_says_individualised: int

    @property
    def rate(self) -> float | None:
        return round(100 * self.checked / self.sampled, 1) if self.sampled else None

    @property
    def disagreements(self) -> int:
        return self.check_says_not_individualised + self.check_says_individualised

    def as_json(self) -> dict[str, Any]:
        return {
            "sampled": self.sampled,
            "checked": self.checked,
            "rate": self.rate,
            "disagreements": self.disagreements,
            "check_says_not_individualised": self.check_says_not_individualised,
            "check_says_individualised": self.check_says_individualised,
        }


def verification(agency_id: int, period: Period) -> Verification:
    """One grouped query over the spot checks of the samples drawn for exactly this period; the
    computed flag is the INDIVIDUAL_PLAN rule (`rules.individualised_plan`) on each check's case,
    as it stands now."""
    counted = Case.objects.filter(
        rules.individualised_plan(period, agency_id), pk=OuterRef("case_id")
    )
    checks = SpotCheck.objects.filter(
        sample__agency_id=agency_id,
        sample__period_start=period.start,
        sample__period_end=period.end,
    ).annotate(counted=Exists(counted))
    done = Q(checked_at__isnull=False)
    figures = checks.aggregate(
        sampled=Count("pk"),
        checked=Count("pk", filter=done),
        says_not=Count("pk", filter=done & Q(individualised=False, counted=True)),
        says_yes=Count("pk", filter=done & Q(individualised=True, counted=False)),
    )
    return Verification(
        sampled=figures["sampled"],
        checked=figures["checked"],
        check_says_not_individualised=figures["says_not"],
        check_says_individualised=figures["says_yes"],
    )
