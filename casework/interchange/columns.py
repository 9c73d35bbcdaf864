"""The interchange format's columns and values (../shared/contracts/case-interchange.md).

Only this module spells the contract out; the reader, the validator and the exporter all use it.
"""

from __future__ import annotations

from casework.cases.models import ClosureReason, RiskLevel, ServiceType
from casework.feedback.models import ParticipationWay
from casework.people.models import MobilityStatus, Relationship, Sex, YesNoUnknown

CASE_COLUMNS: tuple[str, ...] = (
    "case_ref",
    "person_ref",
    "agency",
    "programme",
    "service_type",
    "sex",
    "date_of_birth",
    "age",
    "disability",
    "mobility_status",
    "protection_concern",
    "risk_level",
    "location_code",
    "caseworker",
    "registered_on",
    "consent_services",
    "assessed_on",
    "plan_on",
    "plan_text",
    "plan_is_group",
    "closed_on",
    "closure_reason",
)

# Columns Casework adds to the contract's: the person's names, written only by an export with
# personal data and read back by the import (so such an export round-trips completely).
NAME_COLUMNS: tuple[str, ...] = ("given_name", "family_name")

# Columns Casework adds for families (docs/interchange-extensions.md): persons with the same
# household_ref share a household; `relationships` lists this person's links to other persons of
# the file or of the agency, "person_ref:kind" or "person_ref:kind:caregiver", separated by ";".
# Written only by an export with personal data (who lives with whom is about the person).
LINK_COLUMNS: tuple[str, ...] = ("household_ref", "relationships")
LINK_KINDS: tuple[str, ...] = tuple(Relationship.Kind.values)
CAREGIVER_FLAG = "caregiver"

SURVEY_COLUMNS: tuple[str, ...] = ("case_ref", "surveyed_on", "q1_aware", "q2_involved", "q3_how")

KNOWN_CASE_COLUMNS = frozenset(CASE_COLUMNS) | frozenset(NAME_COLUMNS) | frozenset(LINK_COLUMNS)
KNOWN_SURVEY_COLUMNS = frozenset(SURVEY_COLUMNS)

REQUIRED_CASE_COLUMNS = ("case_ref", "person_ref", "programme", "registered_on")
REQUIRED_SURVEY_COLUMNS = ("case_ref", "surveyed_on", "q1_aware")

YES_NO = ("yes", "no")

# Allowed values of each enumerated column. An empty cell is "unknown" where the model has that
# value, and "not given" elsewhere.
CHOICES: dict[str, tuple[str, ...]] = {
    "service_type": tuple(ServiceType.values),
    "sex": tuple(Sex.values),
    "disability": tuple(YesNoUnknown.values),
    "mobility_status": tuple(MobilityStatus.values),
    "risk_level": tuple(RiskLevel.values),
    "consent_services": YES_NO,
    "plan_is_group": YES_NO,
    "closure_reason": tuple(ClosureReason.values),
    "q1_aware": YES_NO,
    "q2_involved": YES_NO,
}

Q3_CODES: tuple[str, ...] = tuple(ParticipationWay.values)

CASE_DATE_COLUMNS = ("date_of_birth", "registered_on", "assessed_on", "plan_on", "closed_on")

# date_of_birth ≤ registered_on ≤ assessed_on ≤ plan_on; closed_on is not before any of them.
DATE_ORDER = ("date_of_birth", "registered_on", "assessed_on", "plan_on")

# The longest values the database columns hold.
MAX_LENGTHS = {
    "case_ref": 64,
    "person_ref": 64,
    "agency": 12,
    "location_code": 40,
    "caseworker": 150,
    "given_name": 100,
    "household_ref": 64,
    "relationships": 4000,
    "family_name": 100,
}

# A de-identified export replaces each plan's text by this marker and a token that is equal for
# equal (folded) texts, so indicators computed from the export match; an import that meets the
# marker on a case it already holds keeps the plan it has.
WITHHELD_PLAN_MARKER = "[plan text withheld]"


def parse_links(cell: str) -> list[tuple[str, str, bool]] | None:
    """(person_ref, kind, is_caregiver) of a `relationships` cell; None if it is malformed."""
    links = []
    for item in (part.strip() for part in cell.split(";")):
        if not item:
            continue
        parts = [part.strip() for part in item.split(":")]
        if len(parts) not in (2, 3) or not parts[0] or parts[1] not in LINK_KINDS:
            return None
        if len(parts) == 3 and parts[2] != CAREGIVER_FLAG:
            return None
        links.append((parts[0], parts[1], len(parts) == 3))
    return links


def format_links(links: list[tuple[str, str, bool]]) -> str:
    return ";".join(
        f"{ref}:{kind}" + (f":{CAREGIVER_FLAG}" if caregiver else "")
        for ref, kind, caregiver in links
    )
