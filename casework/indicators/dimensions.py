"""What indicators can be disaggregated by: each dimension is one SQL expression on a case row.

A person's dimensions are read from the case that represents them in an indicator (the
earliest-registered qualifying case, see queries.py). An empty value is reported as `unknown`
(contract: "an empty value is reported under the key `unknown`"), so every person falls in
exactly one slice and the slices of a dimension add up to the total.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Case as CaseWhen
from django.db.models import CharField, F, Q, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, NullIf
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from casework.core.errors import CaseworkError

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
    label: Promise
    expression: Callable[[], Combinable]
    # The HXL hashtag of the column that carries this dimension's key in HXL exports.
    hxl: str
    # Natural order of keys where alphabetical order would read oddly (age groups).
    order: tuple[str, ...] = ()
    # Which raw column (RAW_COLUMNS) it is read from, and how a raw value becomes a key.
    raw: str = ""
    key_from: str = "text"

    def sort_key(self, key: str) -> tuple[int, str]:
        if key in self.order:
            return (self.order.index(key), key)
        return (len(self.order), key)


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


def parse_by(text: str | list[str] | None) -> list[tuple[str, ...]]:
    """`sex,age_group,sex+age_group` → [("sex",), ("age_group",), ("sex", "age_group")].

    Unknown names are refused (never passed on to SQL); a pair is two different dimensions.
    """
    if not text:
        return []
    parts = text if isinstance(text, list) else text.split(",")
    result: list[tuple[str, ...]] = []
    for part in parts:
        names = tuple(name.strip() for name in part.split(PAIR_SEPARATOR) if name.strip())
        if not names:
            continue
        unknown = [name for name in names if name not in DIMENSIONS]
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
