"""Writing persons (registration's details, corrections) and finding them by name.

Persons are seen through their cases: the gate that says who may read or correct one is the
case gate (casework/cases/access.py); these services are called once it has let the user through.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, TypedDict, TypeVar

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.access import check_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.core.errors import CaseworkError, Conflict, FieldErrors
from casework.people import events
from casework.people.models import (
    Household,
    MobilityStatus,
    Person,
    PersonNameIndex,
    PersonRevision,
    Relationship,
    Sex,
    YesNoUnknown,
)
from casework.vault import blind

NAME_FIELDS = frozenset({"given_name", "family_name", "other_names"})
AGE_FIELDS = frozenset({"date_of_birth", "estimated_age"})


@dataclass
class PersonDetails:
    """A person's details as typed at registration or in a correction."""

    given_name: str = ""
    family_name: str = ""
    other_names: str = ""
    sex: str = Sex.UNKNOWN
    date_of_birth: datetime.date | None = None
    estimated_age: int | None = None
    nationality: str = ""
    disability: str = YesNoUnknown.UNKNOWN
    mobility_status: str = MobilityStatus.UNKNOWN
    languages: str = ""
    phone: str = ""
    address: str = ""

    def cleaned(self) -> PersonDetails:
        """The same details with text trimmed, and no estimated age beside a date of birth."""
        copy = replace(self)
        for name, value in asdict(self).items():
            if isinstance(value, str):
                setattr(copy, name, value.strip())
        if copy.date_of_birth:
            copy.estimated_age = None
        return copy


PERSON_FIELDS = tuple(field.name for field in fields(PersonDetails))


def details_of(person: Person) -> PersonDetails:
    return PersonDetails(**{name: getattr(person, name) for name in PERSON_FIELDS})


def person_errors(
    details: PersonDetails, *, today: datetime.date, identified_on: datetime.date | None = None
) -> dict[str, list[str]]:
    """What is wrong with a person's details, by field (empty: nothing)."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not (details.given_name.strip() or details.family_name.strip()):
        add("given_name", _("Enter at least a given name or a family name."))
    if details.date_of_birth:
        if details.date_of_birth > today:
            add("date_of_birth", _("The date of birth cannot be in the future."))
        elif identified_on is not None and details.date_of_birth > identified_on:
            add("date_of_birth", _("The date of birth must be before the identification date."))
    elif details.estimated_age is not None and not 0 <= details.estimated_age <= 120:
        add("estimated_age", _("Enter an age between 0 and 120."))
    for name, choices in (
        ("sex", Sex),
        ("disability", YesNoUnknown),
        ("mobility_status", MobilityStatus),
    ):
        if getattr(details, name) not in choices.values:
            add(name, _("Choose a value from the list."))
    for name in PERSON_FIELDS:
        limit = getattr(Person._meta.get_field(name), "plain_max_length", None) or getattr(
            Person._meta.get_field(name), "max_length", None
        )
        value = getattr(details, name)
        if limit and isinstance(value, str) and len(value.strip()) > limit:
            add(name, _("Keep this under %(limit)s characters.") % {"limit": limit})
    return errors


def _as_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else value


@transaction.atomic
def correct_person(
    person: Person,
    *,
    by: User,
    details: PersonDetails,
    reason: str,
    expected_version: int | None = None,
    case_id: int | None = None,
) -> PersonRevision:
    """Correct a person's details, keeping what they said before as a revision row.

    The caller has loaded the person through the case gate with the right to write (the
    caseworker of one of the person's cases, or the team's supervisor). The names' blind index
    follows at once; `person_changed` lets the cases keep their summaries (age at registration)
    in step, in this transaction, so the next report counts the corrected facts. `case_id` is the
    case the correction was made from, for the audit trail.
    """
    check_perm(by, Perm.WORK_ON_CASES)
    today = timezone.localdate()
    details = details.cleaned()
    errors = person_errors(details, today=today)
    if not reason.strip():
        errors.setdefault("reason", []).append(_("Say why the details are being corrected."))
    if errors:
        raise FieldErrors(errors)
    current = Person.objects.select_for_update().get(pk=person.pk)
    if expected_version is not None and expected_version != current.version:
        raise Conflict(
            _("This person's details were changed by someone else. Reload and try again.")
        )
    before = details_of(current)
    changed = [name for name in PERSON_FIELDS if getattr(details, name) != getattr(before, name)]
    if not changed:
        raise CaseworkError(_("Nothing was changed."), code="no_change")
    now = timezone.now()
    revision = PersonRevision.objects.create(
        person=current,
        version=current.version,
        fields=changed,
        previous=json.dumps({name: _as_json(getattr(before, name)) for name in changed}),
        reason=reason.strip(),
        corrected_by=by,
        corrected_at=now,
    )
    for name in changed:
        setattr(person, name, getattr(details, name))
    if AGE_FIELDS & set(changed):
        # An estimate ages from the day it is made; a date of birth needs no estimate.
        person.age_estimated_on = today if details.estimated_age is not None else None
    person.version = current.version + 1
    person.save(update_fields=[*changed, "age_estimated_on", "version", "updated_at"])
    if NAME_FIELDS & set(changed):
        index_names(person)
    record(
        "people.person.corrected",
        by=by,
        target=person,
        case_id=case_id,
        data={"fields": changed, "revision": revision.pk},
    )
    events.person_changed.send(events.PersonChanged(person, by, frozenset(changed)))
    return revision


def index_names(person: Person) -> None:
    """Rewrite the blind-index rows of a person (after a create or a change of name)."""
    PersonNameIndex.objects.filter(person=person).delete()
    PersonNameIndex.objects.bulk_create(name_index_rows(person))


def name_index_rows(person: Person) -> list[PersonNameIndex]:
    return [
        PersonNameIndex(person=person, agency_id=person.agency_id, kind=kind, digest=digest)
        for kind, digest in blind.name_digests(
            person.given_name or "",
            person.family_name or "",
            person.other_names or "",
            agency_id=person.agency_id,
        )
    ]


# A queryset of cases (people is below cases: it knows them only as rows with a person_id).
Cases = TypeVar("Cases", bound=QuerySet[Any])


class NameHits(TypedDict):
    """A row of `matching_person_ids`: a person and how many of its name digests matched."""

    person_id: int
    hits: int


def matching_person_ids(
    query: str, *, phonetic: bool = True
) -> QuerySet[PersonNameIndex, NameHits]:
    """Person ids whose names match the typed words, best match first (a subquery-able set)."""
    digests = blind.query_digests(query, phonetic_match=phonetic)
    return (
        PersonNameIndex.objects.filter(digest__in=digests)
        .values("person_id")
        .annotate(hits=Count("id"))
        .order_by("-hits")
    )


def search_cases(cases: Cases, query: str, *, by_name: bool, limit: int = 500) -> Cases:
    """The cases of `cases` (already limited by the access gate) whose reference is `query` or,
    when `by_name`, whose person's names match it through the blind index.

    Two small id queries instead of one OR over a subquery: an OR with `IN (subquery)` stops
    PostgreSQL from using the caseload indexes and scans every case.
    """
    ids = list(cases.filter(reference__iexact=query).values_list("pk", flat=True)[:limit])
    if by_name:
        digests = blind.query_digests(query, phonetic_match=True)
        people = PersonNameIndex.objects.filter(digest__in=digests).values("person_id")
        ids += list(cases.filter(person_id__in=people).values_list("pk", flat=True)[:limit])
    return cases.filter(pk__in=ids)


# --- relationships and households ---------------------------------------------------------------


@transaction.atomic
def link_persons(
    person: Person,
    relative: Person,
    *,
    kind: str,
    is_caregiver: bool = False,
    by: User | None,
) -> Relationship:
    """`relative` is `person`'s <kind>; the inverse link is kept too. Both end up in one household
    (the person's, or a new one) unless each already has its own. Linking again changes the kind.
    """
    if by is not None:
        check_perm(by, Perm.WORK_ON_CASES)
    errors: dict[str, list[str]] = {}
    if relative.pk == person.pk:
        errors["relative"] = [_("A person cannot be linked to themselves.")]
    elif relative.agency_id != person.agency_id:
        errors["relative"] = [_("Only persons of the same agency can be linked.")]
    if kind not in Relationship.Kind.values:
        errors["kind"] = [_("Choose a value from the list.")]
    if errors:
        raise FieldErrors(errors)
    now = timezone.now()
    link, _created = Relationship.objects.update_or_create(
        person=person,
        relative=relative,
        defaults={
            "kind": kind,
            "is_caregiver": is_caregiver,
            "recorded_by": by,
            "recorded_at": now,
        },
    )
    Relationship.objects.update_or_create(
        person=relative,
        relative=person,
        defaults={
            "kind": Relationship.INVERSE[kind],
            "is_caregiver": False,
            "recorded_by": by,
            "recorded_at": now,
        },
    )
    _share_household(person, relative)
    record(
        "people.relationship.linked",
        by=by,
        target=person,
        data={"relative": relative.pk, "kind": kind, "caregiver": is_caregiver},
    )
    return link


def _share_household(person: Person, relative: Person) -> None:
    if person.household_id is None and relative.household_id is None:
        person.household = Household.objects.create(agency_id=person.agency_id)
        person.save(update_fields=["household", "updated_at"])
    if relative.household_id is None:
        relative.household_id = person.household_id
        relative.save(update_fields=["household", "updated_at"])
    elif person.household_id is None:
        person.household_id = relative.household_id
        person.save(update_fields=["household", "updated_at"])


@transaction.atomic
def unlink_persons(person: Person, relative: Person, *, by: User) -> None:
    """Remove the link both ways (a link recorded by mistake, or that no longer holds)."""
    check_perm(by, Perm.WORK_ON_CASES)
    removed, _detail = Relationship.objects.filter(
        Q(person=person, relative=relative) | Q(person=relative, relative=person)
    ).delete()
    if not removed:
        raise CaseworkError(_("These persons are not linked."), code="not_linked")
    record("people.relationship.unlinked", by=by, target=person, data={"relative": relative.pk})


def caregivers_of(person: Person) -> QuerySet[Relationship]:
    """The person's links to those who care for them (who may consent for them as a child)."""
    return (
        Relationship.objects.filter(person=person, is_caregiver=True)
        .select_related("relative")
        .order_by("recorded_at", "id")
    )
