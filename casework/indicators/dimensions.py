"""What indicators can be disaggregated by: each dimension is one SQL expression on a case row.

A person's dimensions are read from the case that represents them in an indicator (the
earliest-registered qualifying case, see queries.py). An empty value is reported as `unknown`
(contract: "an empty value is reported under the key `unknown`"), so every person falls in
exactly one slice and the slices of a dimension add up to the total.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Case as CaseWhen
from django.db.models import CharField, F, OuterRef, Q, Subquery, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, NullIf
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from casework.core.errors import CaseworkError

if TYPE_CHECKING:
    from casework.attributes.models import Attribute

UNKNOWN = "unknown"
AGE_GROUPS = ("0-17", "18-24", "25-59", "60+", UNKNOWN)
# A pair of dimensions is written with "+": `sex+age_group`.
PAIR_SEPARATOR = "+"


def _or_unknown(path: str) -> Callable[[], Combinable]:
    def expression() -> Combinable:
        return Coalesce(NullIf(F(path), Value("")), Value(UNKNOWN), output_field=CharField())

    return expression


def age_group_expression(field: str = "age_at_registration") -> Combinable:
    """Age group at registration (contract "Age": 0-17, 18-24, 25-59, 60+, unknown)."""
    return CaseWhen(
        When(Q(**{f"{field}__isnull": True}), then=Value(UNKNOWN)),
        When(Q(**{f"{field}__lte": 17}), then=Value("0-17")),
        When(Q(**{f"{field}__lte": 24}), then=Value("18-24")),
        When(Q(**{f"{field}__lte": 59}), then=Value("25-59")),
        default=Value("60+"),
        output_field=CharField(),
    )


def age_group(age: int | None) -> str:
    """The same grouping in Python (for labels and tests)."""
    if age is None:
        return UNKNOWN
    if age <= 17:
        return "0-17"
    if age <= 24:
        return "18-24"
    if age <= 59:
        return "25-59"
    return "60+"


# The case-row columns the engine groups by. Several dimensions share one column (age group is
# read from the age, the location's admin levels from the location): the database groups by the
# column and the slices are added up in Python from those few hundred aggregated rows.
RAW_COLUMNS: dict[str, str] = {
    "sex": "person__sex",
    "age": "age_at_registration",
    "concern": "primary_concern_id",
    "mobility": "person__mobility_status",
    "disability": "person__disability",
    "location": "location_id",
    "programme": "programme_id",
    "risk": "risk_level",
    "nationality": "person__nationality",
}


@dataclass(frozen=True)
class Dimension:
    code: str
    label: Promise | str
    # One SQL expression on a cases.Case row giving the row's key (UNKNOWN when empty). For a
    # sensitive agency-defined attribute it gives the keyed grouping code (see `key_of`).
    expression: Callable[[], Combinable]
    # The HXL hashtag of the column that carries this dimension's key in HXL exports.
    hxl: str
    # Natural order of keys where alphabetical order would read oddly (age groups).
    order: tuple[str, ...] = ()
    # Which raw column (RAW_COLUMNS) it is read from, and how a raw value becomes a key.
    raw: str = ""
    key_from: str = "text"
    # Agency-defined attributes: the choice code of each grouping code (sensitive ones), and
    # each choice's label. The built-ins' labels are in labels.py.
    decode: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    def sort_key(self, key: str) -> tuple[int, str]:
        if key in self.order:
            return (self.order.index(key), key)
        return (len(self.order), key)

    def key_of(self, value: str) -> str:
        """The report's key for a value `expression()` gave: the choice code of a grouping
        code (computed from the known choices, nothing decrypted); any other value as it is."""
        return self.decode.get(value, value)

    def label_of(self, key: str) -> str:
        """A readable name for a key of an agency-defined attribute (the key itself otherwise;
        indicators.labels.Labels names the built-ins' keys)."""
        return self.labels.get(key, key)


DIMENSIONS: dict[str, Dimension] = {
    dimension.code: dimension
    for dimension in [
        Dimension("sex", _("Sex"), _or_unknown("person__sex"), "#sex", raw="sex"),
        Dimension(
            "age_group",
            _("Age group"),
            age_group_expression,
            "#age+group",
            AGE_GROUPS,
            raw="age",
            key_from="age_group",
        ),
        Dimension(
            "protection_concern",
            _("Protection concern"),
            _or_unknown("primary_concern__code"),
            "#concern+code",
            raw="concern",
            key_from="concern",
        ),
        Dimension(
            "mobility_status",
            _("Mobility status"),
            _or_unknown("person__mobility_status"),
            "#status+mobility",
            raw="mobility",
        ),
        Dimension(
            "disability",
            _("Disability"),
            _or_unknown("person__disability"),
            "#status+disability",
            raw="disability",
        ),
        Dimension(
            "location_code",
            _("Location"),
            _or_unknown("location__code"),
            "#loc+code",
            raw="location",
            key_from="location",
        ),
        Dimension(
            "adm1",
            _("Admin level 1"),
            _or_unknown("location__adm1_code"),
            "#adm1+code",
            raw="location",
            key_from="adm1",
        ),
        Dimension(
            "adm2",
            _("Admin level 2"),
            _or_unknown("location__adm2_code"),
            "#adm2+code",
            raw="location",
            key_from="adm2",
        ),
        Dimension(
            "adm3",
            _("Admin level 3"),
            _or_unknown("location__adm3_code"),
            "#adm3+code",
            raw="location",
            key_from="adm3",
        ),
        Dimension(
            "programme",
            _("Programme"),
            _or_unknown("programme__code"),
            "#sector+code",
            raw="programme",
            key_from="programme",
        ),
        Dimension(
            "risk_level",
            _("Risk level"),
            _or_unknown("risk_level"),
            "#severity+risk",
            ("high", "medium", "low", UNKNOWN),
            raw="risk",
        ),
        Dimension(
            "nationality",
            _("Nationality"),
            _or_unknown("person__nationality"),
            "#country+code",
            raw="nationality",
        ),
    ]
}

# The contract's six (every indicator can be disaggregated by these).
CONTRACT_DIMENSIONS = (
    "sex",
    "age_group",
    "protection_concern",
    "mobility_status",
    "disability",
    "location_code",
)
# "Every single disaggregation" of the full report (and of the benchmark).
ALL_SINGLE = (*CONTRACT_DIMENSIONS, "adm1", "adm2", "adm3", "programme", "risk_level")


class DisaggregationError(CaseworkError):
    code = "invalid_disaggregation"


def parse_by(text: str | list[str] | None, agency_id: int | None = None) -> list[tuple[str, ...]]:
    """`sex,age_group,sex+age_group` → [("sex",), ("age_group",), ("sex", "age_group")].

    Unknown names are refused (never passed on to SQL); a pair is two different dimensions.
    `attr:<code>` names one of the agency's attributes (`agency_id`'s; none without it).
    """
    if not text:
        return []
    parts = text if isinstance(text, list) else text.split(",")
    result: list[tuple[str, ...]] = []
    for part in parts:
        names = tuple(name.strip() for name in part.split(PAIR_SEPARATOR) if name.strip())
        if not names:
            continue
        unknown = [name for name in names if not _known(name, agency_id)]
        if unknown:
            raise DisaggregationError(
                _("Unknown disaggregation: %(names)s.") % {"names": ", ".join(unknown)},
                field="by",
            )
        if len(names) > 2 or len(set(names)) != len(names):
            raise DisaggregationError(
                _("Disaggregate by one dimension or by a pair of two different ones."), field="by"
            )
        if names not in result:
            result.append(names)
    return result


def spec_name(dimensions: tuple[str, ...]) -> str:
    return PAIR_SEPARATOR.join(dimensions)


# --- agency-defined attributes -------------------------------------------------------------------

ATTRIBUTE_PREFIX = "attr:"


def _known(name: str, agency_id: int | None) -> bool:
    if name in DIMENSIONS:
        return True
    if agency_id is None:
        return False
    try:
        dimension_for(name, agency_id)
    except DisaggregationError:
        return False
    return True


def attribute_expression(attribute_id: int, *, applies_to: str, sensitive: bool) -> Combinable:
    """The attribute's key on a cases.Case row: the choice code, or the keyed grouping code of a
    sensitive attribute (never its encrypted value), UNKNOWN when there is none."""
    from casework.attributes.models import AttributeValue

    values = AttributeValue.objects.filter(attribute_id=attribute_id)
    if applies_to == "person":
        values = values.filter(person_id=OuterRef("person_id"))
    else:
        values = values.filter(case_id=OuterRef("pk"))
    column = "grouping" if sensitive else "code"
    return Coalesce(
        NullIf(Subquery(values.values(column)[:1], output_field=CharField()), Value("")),
        Value(UNKNOWN),
        output_field=CharField(),
    )


def _attribute_dimension(attribute: Attribute) -> Dimension:
    from casework.attributes.services import grouping_code

    choices = sorted(attribute.choices.all(), key=lambda choice: (choice.order, choice.code))
    decode = (
        {grouping_code(attribute, choice.code): choice.code for choice in choices}
        if attribute.sensitive
        else {}
    )
    attribute_id, applies_to, sensitive = attribute.pk, attribute.applies_to, attribute.sensitive
    return Dimension(
        attribute.dimension_code,
        attribute.label,
        lambda: attribute_expression(attribute_id, applies_to=applies_to, sensitive=sensitive),
        f"#group+attr_{attribute.code}",
        (*(choice.code for choice in choices), UNKNOWN),
        raw=f"attr_{attribute.pk}",
        key_from="attribute",
        decode=decode,
        labels={choice.code: choice.label for choice in choices},
    )


def dimension_for(code: str, agency_id: int) -> Dimension:
    """The dimension named `code` for the agency: a built-in, or `attr:<code>` (one of the
    agency's attributes, in use or retired). Refused (DisaggregationError) otherwise."""
    if code in DIMENSIONS:
        return DIMENSIONS[code]
    if code.startswith(ATTRIBUTE_PREFIX):
        from casework.attributes.models import Attribute

        attribute = Attribute.objects.filter(
            agency_id=agency_id, code=code[len(ATTRIBUTE_PREFIX) :]
        ).first()
        if attribute is not None:
            return _attribute_dimension(attribute)
    raise DisaggregationError(_("Unknown disaggregation: %(names)s.") % {"names": code}, field="by")


def dimensions_for_agency(agency_id: int) -> list[Dimension]:
    """Every dimension the agency can disaggregate by: the built-ins, then its attributes in
    use (by label)."""
    from casework.attributes.models import Attribute

    attributes = Attribute.objects.filter(agency_id=agency_id, active=True).prefetch_related(
        "choices"
    )
    return [*DIMENSIONS.values(), *(_attribute_dimension(a) for a in attributes)]
