"""The small rule language indicator definitions are written in (stored as JSON, never eval'd).

An agency adds an indicator without code by writing, in JSON, which persons count
(the population), and for a percentage which of them are in the numerator. Rules compile to ORM
`Q` objects over `cases.Case` through the whitelists below; a name that is not whitelisted is
refused when the definition is saved and again when it is evaluated.

Condition (on one case)::

    {"all": [condition, ...]}          every condition holds
    {"any": [condition, ...]}          at least one holds
    {"not": condition}
    {"field": "programme", "in": ["CP", "TIP"]}
    {"field": "sex", "equals": "female"}
    {"field": "age", "between": [0, 24]}            also "at_least", "at_most"
    {"field": "closure_reason", "is_empty": true}
    {"fact": "assessed_by_end"}                       also {"fact": ..., "is": false}
    {"field": "attr.ethnicity", "in": ["group_a"]}    one of the agency's own attributes
                                                      (equals, in, is_empty), as codes

Population::

    {"cases": condition, "persons": condition}

`cases` chooses the qualifying cases (on top of the definition's period semantics, e.g. "in case
management during the period"). A person counts once; their attributes come from their
earliest-registered qualifying case (ties: the smallest case reference), and `persons` is tested
on that case (e.g. "aged 0-24").

Numerator (percentages), every clause given must hold::

    {"any_case": condition}        at least one of the person's qualifying cases meets it
    {"person": condition}          the person's attributes (earliest qualifying case) meet it
    {"latest_survey": {"q1_aware": true, "q2_involved": true, "q3": ["set_goals"]}}
                                   the person's latest participation survey inside the period
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from casework.core.errors import CaseworkError
from casework.indicators.periods import Period

MAX_DEPTH = 8
MAX_ITEMS = 50


class RuleError(CaseworkError):
    code = "invalid_rule"


# name → (ORM path, kind). "code" fields compare text; "number" fields compare integers.
FIELDS: dict[str, tuple[str, str]] = {
    "programme": ("programme__code", "code"),
    "service_type": ("service_type", "code"),
    "risk_level": ("risk_level", "code"),
    "status": ("status", "code"),
    "sex": ("person__sex", "code"),
    "mobility_status": ("person__mobility_status", "code"),
    "disability": ("person__disability", "code"),
    "nationality": ("person__nationality", "code"),
    "protection_concern": ("primary_concern__code", "code"),
    "closure_reason": ("closure_reason", "code"),
    "identification_source": ("identification_source", "code"),
    "location": ("location__code", "location"),
    "age": ("age_at_registration", "number"),
}


def in_case_management(period: Period) -> Q:
    """The contract's "in case management during the period"."""
    return Q(service_type="case_management") & overlapping(period)


def overlapping(period: Period) -> Q:
    """Registered by the end and not closed before the start (any service type)."""
    return Q(registered_on__lte=period.end) & (
        Q(closed_on__isnull=True) | Q(closed_on__gte=period.start)
    )


def open_at_end(period: Period) -> Q:
    return Q(closed_on__isnull=True) | Q(closed_on__gt=period.end)


def individualised_plan(period: Period, agency_id: int) -> Q:
    """A plan by the end, not a group plan, with text, and no other person's case of the agency
    has the same folded text (contract, INDIVIDUAL_PLAN). Two cases of the same person may share
    a plan.

    "Another person has the same text" depends on no period, so it is kept on the case
    (Case.plan_text_shared, by casework.plans.sharing wherever a text, person or agency changes)
    rather than asked here as a grouped subquery over every plan of the agency.

    A plan a supervisor confirmed as a near copy of another person's (seed 001; the contract
    leaves near copies to the product) stops counting in every period that ends on or after the
    day of the confirmation (Case.plan_duplicate_confirmed_on, kept by
    casework.plans.confirmations); the periods before keep their figures.
    """
    return (
        Q(planned_on__lte=period.end, plan_is_group=False, plan_text_shared=False)
        & ~Q(plan_fold_hash="")
        & ~Q(plan_duplicate_confirmed_on__lte=period.end)
    )


# name → Q for (period, agency id)
FACTS: dict[str, Callable[[Period, int], Q]] = {
    "in_case_management": lambda p, _: in_case_management(p),
    "overlaps_period": lambda p, _: overlapping(p),
    "registered_in_period": lambda p, _: Q(registered_on__range=(p.start, p.end)),
    "assessed_by_end": lambda p, _: Q(assessed_on__lte=p.end),
    "planned_by_end": lambda p, _: Q(planned_on__lte=p.end),
    "individualised_plan": individualised_plan,
    "group_plan": lambda p, _: Q(plan_is_group=True),
    "open_at_end": lambda p, _: open_at_end(p),
    "closed_in_period": lambda p, _: Q(closed_on__range=(p.start, p.end)),
}

# How a definition says which cases its period takes in, before its own `cases` rule.
PERIOD_SEMANTICS: dict[str, Callable[[Period], Q]] = {
    "in_case_management": in_case_management,
    "overlapping": overlapping,
    "registered_in_period": lambda p: Q(registered_on__range=(p.start, p.end)),
    "open_at_end": lambda p: Q(registered_on__lte=p.end) & open_at_end(p),
    "closed_in_period": lambda p: Q(closed_on__range=(p.start, p.end)),
}

# The participation survey's answers as bits of one integer (see queries.survey_mask): one
# number per person carries their latest survey, and the numerator tests bits in SQL.
SURVEY_BITS: dict[str, int] = {
    "q1_aware": 1,
    "q2_involved": 2,
    "q2_not_involved": 4,
    "q3_expressed_needs": 8,
    "q3_chose_services": 16,
    "q3_set_goals": 32,
    "q3_agreed_plan": 64,
    "q3_declined_services": 128,
    "q3_other": 256,
}
Q3_WAYS = (
    "expressed_needs",
    "chose_services",
    "set_goals",
    "agreed_plan",
    "declined_services",
    "other",
)


# --- validation ----------------------------------------------------------------------------------


def _fail(path: str, message: str) -> RuleError:
    return RuleError(f"{path or 'rule'}: {message}", field=path or "rule")


def check_condition(condition: Any, path: str = "", depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise _fail(path, _("the rule is nested too deeply."))
    if not isinstance(condition, dict) or len(condition) == 0:
        raise _fail(path, _('a condition is an object such as {"field": …} or {"all": […]}.'))
    if "all" in condition or "any" in condition:
        key = "all" if "all" in condition else "any"
        items = condition[key]
        if set(condition) != {key} or not isinstance(items, list) or not items:
            raise _fail(path, _("%(key)s takes a non-empty list of conditions.") % {"key": key})
        if len(items) > MAX_ITEMS:
            raise _fail(path, _("too many conditions."))
        for number, item in enumerate(items):
            check_condition(item, f"{path}.{key}[{number}]", depth + 1)
        return
    if "not" in condition:
        if set(condition) != {"not"}:
            raise _fail(path, _("not takes one condition."))
        check_condition(condition["not"], f"{path}.not", depth + 1)
        return
    if "fact" in condition:
        if condition["fact"] not in FACTS or not set(condition) <= {"fact", "is"}:
            raise _fail(path, _("unknown fact %(name)r.") % {"name": condition.get("fact")})
        if not isinstance(condition.get("is", True), bool):
            raise _fail(path, _("is takes true or false."))
        return
    if "field" in condition:
        _check_field(condition, path)
        return
    raise _fail(path, _("unknown condition %(keys)s.") % {"keys": ", ".join(sorted(condition))})


ATTRIBUTE_FIELD = "attr."
_ATTRIBUTE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _is_attribute(name: Any) -> bool:
    return isinstance(name, str) and name.startswith(ATTRIBUTE_FIELD)


def _check_field(condition: dict[str, Any], path: str) -> None:
    name = condition["field"]
    if _is_attribute(name):
        if not _ATTRIBUTE_CODE.match(name[len(ATTRIBUTE_FIELD) :]):
            raise _fail(path, _("unknown field %(name)r.") % {"name": name})
        kind = "code"
    elif name not in FIELDS:
        raise _fail(path, _("unknown field %(name)r.") % {"name": name})
    else:
        kind = FIELDS[name][1]
    operators = set(condition) - {"field"}
    if len(operators) != 1:
        raise _fail(path, _("a field condition takes exactly one operator."))
    operator = operators.pop()
    value = condition[operator]
    if operator == "is_empty":
        if not isinstance(value, bool):
            raise _fail(path, _("is_empty takes true or false."))
        return
    if kind == "number":
        allowed = {"equals", "in", "between", "at_least", "at_most"}
        numbers = value if isinstance(value, list) else [value]
        if operator not in allowed or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in numbers
        ):
            raise _fail(path, _("%(name)s compares whole numbers.") % {"name": name})
        if operator == "between" and (len(numbers) != 2 or numbers[0] > numbers[1]):
            raise _fail(path, _("between takes [lowest, highest]."))
        return
    if operator not in {"equals", "in"}:
        raise _fail(path, _("%(name)s takes equals or in.") % {"name": name})
    texts = value if isinstance(value, list) else [value]
    if not texts or len(texts) > MAX_ITEMS or not all(isinstance(v, str) for v in texts):
        raise _fail(path, _("%(name)s compares codes (text).") % {"name": name})


def check_population(population: Any) -> None:
    if not isinstance(population, dict) or not set(population) <= {"cases", "persons"}:
        raise _fail("population", _('the population takes "cases" and "persons" rules.'))
    for key in ("cases", "persons"):
        if population.get(key) is not None:
            check_condition(population[key], f"population.{key}")


def _attribute_fields(condition: Any, path: str) -> list[tuple[str, str]]:
    """(path, attribute code) of every `attr.<code>` field in a checked condition."""
    if not isinstance(condition, dict):
        return []
    found: list[tuple[str, str]] = []
    for key in ("all", "any"):
        for number, item in enumerate(condition.get(key) or []):
            found += _attribute_fields(item, f"{path}.{key}[{number}]")
    if "not" in condition:
        found += _attribute_fields(condition["not"], f"{path}.not")
    if _is_attribute(condition.get("field")):
        found.append((path, condition["field"][len(ATTRIBUTE_FIELD) :]))
    return found


def check_attributes(
    population: dict[str, Any], numerator: dict[str, Any] | None, *, agency_id: int
) -> None:
    """Every `attr.<code>` field names one of the agency's attributes (after the checks above)."""
    from casework.attributes.models import Attribute

    used = [
        *(
            item
            for key in ("cases", "persons")
            for item in _attribute_fields(population.get(key), f"population.{key}")
        ),
        *(
            item
            for key in ("any_case", "person")
            for item in _attribute_fields((numerator or {}).get(key), f"numerator.{key}")
        ),
    ]
    known = set(
        Attribute.objects.filter(agency_id=agency_id, code__in=[c for _p, c in used]).values_list(
            "code", flat=True
        )
    )
    for path, code in used:
        if code not in known:
            raise _fail(path, _("unknown attribute %(name)r.") % {"name": ATTRIBUTE_FIELD + code})


def check_numerator(numerator: Any) -> None:
    clauses = {"any_case", "person", "latest_survey"}
    if not isinstance(numerator, dict) or not numerator or not set(numerator) <= clauses:
        raise _fail(
            "numerator", _("the numerator takes any_case, person and latest_survey clauses.")
        )
    for key in ("any_case", "person"):
        if key in numerator:
            check_condition(numerator[key], f"numerator.{key}")
    if "latest_survey" in numerator:
        survey = numerator["latest_survey"]
        if not isinstance(survey, dict) or not set(survey) <= {"q1_aware", "q2_involved", "q3"}:
            raise _fail("numerator.latest_survey", _("ask about q1_aware, q2_involved or q3."))
        for key in ("q1_aware", "q2_involved"):
            if key in survey and not isinstance(survey[key], bool):
                raise _fail(f"numerator.latest_survey.{key}", _("takes true or false."))
        ways = survey.get("q3", [])
        if not isinstance(ways, list) or not all(way in Q3_WAYS for way in ways):
            raise _fail("numerator.latest_survey.q3", _("takes a list of q3 codes."))


# --- compilation -----------------------------------------------------------------------------------


def condition_q(condition: dict[str, Any], period: Period, agency_id: int) -> Q:
    """The condition as a Q object over cases.Case (validate first with check_condition)."""
    if "all" in condition:
        result = Q()
        for item in condition["all"]:
            result &= condition_q(item, period, agency_id)
        return result
    if "any" in condition:
        result = Q(pk__in=[])
        for item in condition["any"]:
            result |= condition_q(item, period, agency_id)
        return result
    if "not" in condition:
        return ~condition_q(condition["not"], period, agency_id)
    if "fact" in condition:
        fact = FACTS[condition["fact"]](period, agency_id)
        return fact if condition.get("is", True) else ~fact
    return _field_q(condition, agency_id)


def _attribute_q(code: str, operator: str, value: Any, agency_id: int) -> Q:
    """Cases whose value (their own, or their person's) of the agency's attribute `code` is one
    of the codes; a sensitive attribute is compared through its keyed grouping codes."""
    from casework.attributes.models import Attribute, AttributeValue
    from casework.attributes.services import grouping_code

    attribute = Attribute.objects.filter(agency_id=agency_id, code=code).first()
    if attribute is None:
        raise RuleError(_("unknown attribute %(name)r.") % {"name": ATTRIBUTE_FIELD + code})
    values = AttributeValue.objects.filter(attribute=attribute)
    owner, outer = (
        ("person_id", "person_id")
        if attribute.applies_to == Attribute.AppliesTo.PERSON
        else ("case_id", "pk")
    )
    if operator == "is_empty":
        has = Q(**{f"{outer}__in": values.values(owner)})
        return ~has if value else has
    codes = value if isinstance(value, list) else [value]
    if attribute.sensitive:
        values = values.filter(grouping__in=[grouping_code(attribute, c) for c in codes])
    else:
        values = values.filter(code__in=codes)
    return Q(**{f"{outer}__in": values.values(owner)})


def _field_q(condition: dict[str, Any], agency_id: int) -> Q:
    name = condition["field"]
    (operator,) = set(condition) - {"field"}
    value = condition[operator]
    if _is_attribute(name):
        return _attribute_q(name[len(ATTRIBUTE_FIELD) :], operator, value, agency_id)
    path, kind = FIELDS[name]
    if kind == "location":
        # A location code matches the area itself and every area inside it.
        codes = value if isinstance(value, list) else [value]
        if operator == "is_empty":
            return Q(location__isnull=True) if value else Q(location__isnull=False)
        return (
            Q(location__code__in=codes)
            | Q(location__adm1_code__in=codes)
            | Q(location__adm2_code__in=codes)
            | Q(location__adm3_code__in=codes)
        )
    if operator == "is_empty":
        empty = Q(**{f"{path}__isnull": True})
        if kind == "code":
            empty |= Q(**{path: ""})
        return empty if value else ~empty
    if operator == "equals":
        return Q(**{path: value})
    if operator == "in":
        return Q(**{f"{path}__in": value})
    if operator == "between":
        return Q(**{f"{path}__gte": value[0], f"{path}__lte": value[1]})
    if operator == "at_least":
        return Q(**{f"{path}__gte": value})
    return Q(**{f"{path}__lte": value})


def survey_bits(clause: dict[str, Any]) -> tuple[int, int]:
    """(bits that must be set, bits that must be clear) for a latest_survey clause."""
    required = 0
    forbidden = 0
    if "q1_aware" in clause:
        if clause["q1_aware"]:
            required |= SURVEY_BITS["q1_aware"]
        else:
            forbidden |= SURVEY_BITS["q1_aware"]
    if "q2_involved" in clause:
        required |= SURVEY_BITS["q2_involved" if clause["q2_involved"] else "q2_not_involved"]
    for way in clause.get("q3", []):
        required |= SURVEY_BITS[f"q3_{way}"]
    return required, forbidden
