"""The plan settings of an agency (casework/accounts/agency_settings.py keeps their history): how
large the random sample of a period's plans is for spot checks (seed 001, verification 3), and
which documentation criteria a check asks. Both are read only when a sample is drawn or a check
recorded, so their current value is the latest history row (no column of their own)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from casework.accounts.agency_settings import ChoicesSetting, IntegerSetting, register
from casework.plans.models import DocumentationCriterion

SECTION = gettext_lazy("Plans")


def _criteria() -> list[tuple[str, Any]]:
    return list(DocumentationCriterion.choices)


SAMPLE_PERCENT = register(
    IntegerSetting(
        key="plans.verification_sample_percent",
        label=gettext_lazy("Plans sampled for spot checks"),
        help_text=gettext_lazy(
            "Share of a period's plans drawn at random, per team, for a spot check with staff; "
            "every caseworker with plans in the period has at least one drawn."
        ),
        section=SECTION,
        default=10,
        minimum=1,
        maximum=100,
        unit=gettext_lazy("%"),
        order=60,
    )
)
CHECKLIST = register(
    ChoicesSetting(
        key="plans.verification_checklist",
        label=gettext_lazy("Documentation checklist of a spot check"),
        help_text=gettext_lazy("What a spot check asks of the plan's file (the F.A.C.T.S.)."),
        section=SECTION,
        default=list(DocumentationCriterion.values),
        choices=_criteria,
        order=61,
    )
)
