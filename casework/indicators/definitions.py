"""The built-in indicators, written in the rule language, and how definitions are loaded.

The three built-ins are the contract's (../shared/contracts/case-interchange.md, "The three
indicators"), which fixes the seed indicator sheets 000, 001 and 002 to exact rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from casework.indicators import rules
from casework.indicators.dimensions import DIMENSIONS

# Figures reported beside an indicator's value, and the kind of indicator each makes sense for.
MEASURES: dict[str, str] = {
    "open": "count",  # persons with a qualifying case open at the period end
    "closed": "count",  # the others: all their qualifying cases closed by the end
    "also_mhpss": "count",  # persons who also have a case in programme MHPSS in the period
    "surveyed": "percentage",  # persons of the denominator with a survey in the period
    "q3": "percentage",  # for the numerator: how they were involved (Q3 of the latest survey)
}
# Measures that hold every person of the numerator (the involved all answered a survey).
CONTAIN_NUMERATOR = frozenset({"surveyed"})
MHPSS_PROGRAMME = "MHPSS"

CM_CHILDREN_YOUTH = "CM_CHILDREN_YOUTH"
INDIVIDUAL_PLAN = "INDIVIDUAL_PLAN"
PARTICIPATION = "PARTICIPATION"

BUILTIN_INDICATORS: list[dict[str, Any]] = [
    {
        "code": CM_CHILDREN_YOUTH,
        "position": 1,
        "kind": "count",
        "period_semantics": "in_case_management",
        "names": {
            "en": "# of children and youth benefitting from case management",
            "fr": "Nombre d'enfants et de jeunes bénéficiant de la gestion de cas",
            "es": "N.º de niñas, niños y jóvenes que se benefician de la gestión de casos",
            "ar": "عدد الأطفال والشباب المستفيدين من إدارة الحالات",
        },
        "descriptions": {
            "en": "Persons aged 0-24 with a case in case management during the period whose "
            "process reached an assessment and a case plan by the period end (seed 002, Tdh "
            "R&E4). One-shot services (IPA, referral only) never count.",
        },
        "population": {
            "cases": {"all": [{"fact": "assessed_by_end"}, {"fact": "planned_by_end"}]},
            "persons": {"field": "age", "between": [0, 24]},
        },
        "numerator": None,
        "measures": ["open", "closed", "also_mhpss"],
    },
    {
        "code": INDIVIDUAL_PLAN,
        "position": 2,
        "kind": "percentage",
        "period_semantics": "in_case_management",
        "names": {
            "en": "% of survivors with an individualised case management plan",
            "fr": "% de survivant·es ayant un plan de gestion de cas individualisé",
            "es": "% de sobrevivientes con un plan de gestión de casos individualizado",
            "ar": "نسبة الناجين الذين لديهم خطة فردية لإدارة الحالة",
        },
        "descriptions": {
            "en": "Of the persons in case management during the period, those with a plan by "
            "the period end that is not a group plan, has text, and whose text is not the same "
            "as a plan of another person (seed 001).",
        },
        "population": {},
        "numerator": {"any_case": {"fact": "individualised_plan"}},
        "measures": [],
    },
    {
        "code": PARTICIPATION,
        "position": 3,
        "kind": "percentage",
        "period_semantics": "in_case_management",
        "names": {
            "en": "% of survivors who felt involved in decisions about their case management",
            "fr": "% de survivant·es qui se sont senti·es impliqué·es dans les décisions "
            "concernant leur prise en charge",
            "es": "% de sobrevivientes que se sintieron involucrados en las decisiones sobre su "
            "gestión de casos",
            "ar": "نسبة الناجين الذين شعروا بمشاركتهم في القرارات المتعلقة بإدارة حالاتهم",
        },
        "descriptions": {
            "en": "Of the persons in case management during the period, those whose latest "
            "participation survey inside the period says they knew about their plan (Q1) and "
            "were involved in the decisions (Q2) (seed 000).",
        },
        "population": {},
        "numerator": {"latest_survey": {"q1_aware": True, "q2_involved": True}},
        "measures": ["surveyed", "q3"],
    },
]


def check_definition(
    *,
    kind: str,
    population: Any,
    numerator: Any,
    measures: Any,
    disaggregations: Any,
) -> None:
    """Refuse a definition the engine could not evaluate (raises rules.RuleError)."""
    rules.check_population(population or {})
    if kind == "percentage":
        rules.check_numerator(numerator)
    elif numerator:
        raise rules.RuleError(_("A count has no numerator rule."), field="numerator")
    if not isinstance(measures, list) or any(MEASURES.get(name) != kind for name in measures):
        raise rules.RuleError(
            _("Unknown figure to report for this kind of indicator."), field="measures"
        )
    if not isinstance(disaggregations, list) or any(
        name not in DIMENSIONS for name in disaggregations
    ):
        raise rules.RuleError(_("Unknown disaggregation."), field="disaggregations")


@dataclass(frozen=True)
class IndicatorSpec:
    """A definition as the engine evaluates it: checked, immutable, detached from the row."""

    code: str
    kind: str
    period_semantics: str
    population: dict[str, Any] = field(default_factory=dict)
    numerator: dict[str, Any] | None = None
    measures: tuple[str, ...] = ()
    disaggregations: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_percentage(self) -> bool:
        return self.kind == "percentage"

    @property
    def name(self) -> str:
        language = (get_language() or "en").split("-")[0]
        return str(self.names.get(language) or self.names.get("en") or self.code)

    def population_key(self) -> str:
        """Indicators with the same key share their qualifying cases, so one query serves them."""
        return json.dumps(
            [self.period_semantics, self.population.get("cases")], sort_keys=True, default=str
        )

    def denominator_key(self) -> str:
        """Indicators with the same key count the same persons: their denominators are equal."""
        return json.dumps([self.period_semantics, self.population], sort_keys=True, default=str)

    def allows(self, dimensions: tuple[str, ...]) -> bool:
        return not self.disaggregations or all(d in self.disaggregations for d in dimensions)

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> IndicatorSpec:
        check_definition(
            kind=values["kind"],
            population=values.get("population") or {},
            numerator=values.get("numerator"),
            measures=list(values.get("measures") or []),
            disaggregations=list(values.get("disaggregations") or []),
        )
        return cls(
            code=values["code"],
            kind=values["kind"],
            period_semantics=values.get("period_semantics") or "in_case_management",
            population=values.get("population") or {},
            numerator=values.get("numerator"),
            measures=tuple(values.get("measures") or ()),
            disaggregations=tuple(values.get("disaggregations") or ()),
            names=values.get("names") or {},
        )
