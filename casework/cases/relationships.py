"""A client's family and household, from their case: relatives recorded as persons and linked.

A relative is a person of the agency like any other (found by name, counted nowhere unless they
have a case of their own). The links themselves live with the persons (people.Relationship);
this module adds them from a case the user may change, and reads them for the case page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from casework.accounts.access import check_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.cases import access
from casework.cases.models import Case
from casework.cases.services import new_relative
from casework.core.errors import FieldErrors
from casework.people.models import Person, Relationship, Sex
from casework.people.services import link_persons, unlink_persons


@dataclass
class RelativeDetails:
    given_name: str
    kind: str
    family_name: str = ""
    sex: str = Sex.UNKNOWN
    estimated_age: int | None = None
    phone: str = ""
    is_caregiver: bool = False


@transaction.atomic
def add_relative(case: Case, *, by: User, details: RelativeDetails) -> Relationship:
    """Record someone of the client's family or household as a person linked to the client.
    The caller has loaded the case through the gate with the right to write."""
    check_perm(by, Perm.WORK_ON_CASES)
    errors: dict[str, list[str]] = {}
    if not (details.given_name.strip() or details.family_name.strip()):
        errors["given_name"] = [_("Enter at least a given name or a family name.")]
    if details.estimated_age is not None and not 0 <= details.estimated_age <= 120:
        errors["estimated_age"] = [_("Enter an age between 0 and 120.")]
    if details.sex not in Sex.values:
        errors["sex"] = [_("Choose a value from the list.")]
    if errors:
        raise FieldErrors(errors)
    relative = new_relative(
        case.person,
        by=by,
        given_name=details.given_name,
        family_name=details.family_name,
        sex=details.sex,
        estimated_age=details.estimated_age,
        phone=details.phone,
    )
    return link_persons(
        case.person, relative, kind=details.kind, is_caregiver=details.is_caregiver, by=by
    )


@transaction.atomic
def link_to_person(
    case: Case, relative: Person, *, by: User, kind: str, is_caregiver: bool = False
) -> Relationship:
    """Link the client to someone already registered (a sibling who is a client too). The
    caller has loaded `relative` through the person gate: only someone the user may see."""
    return link_persons(case.person, relative, kind=kind, is_caregiver=is_caregiver, by=by)


@transaction.atomic
def unlink(case: Case, relative: Person, *, by: User) -> None:
    unlink_persons(case.person, relative, by=by)


@dataclass(frozen=True)
class Relative:
    link: Relationship
    # Whether the user may open the relative's own page (one of their cases is visible).
    visible: bool


def relatives_of(case: Case, user: User) -> list[Relative]:
    """The client's links, for the case page: two queries."""
    links = list(
        Relationship.objects.filter(person_id=case.person_id)
        .select_related("relative")
        .order_by("-is_caregiver", "kind", "id")
    )
    seen = set(
        access.visible_cases(user)
        .filter(person_id__in=[link.relative_id for link in links])
        .values_list("person_id", flat=True)
    )
    return [Relative(link, link.relative_id in seen) for link in links]
