"""Retention: anonymise the people whose cases have all been closed for longer than allowed.

A person is due when every one of their cases is closed and the latest closure is older than
their agency's `retention_days`. Anonymising blanks every encrypted value about them (their
names, contacts, date of birth, notes and the free text of their case history) and
deletes their blind-index rows, so they can no longer be found or read. Their relatives who are
no one's client and linked to no one else (a child's caregiver) go with them. "About them" is found,
not listed: every encrypted column whose model leads to the person through foreign keys (the
shortest way, and any other ALSO_THROUGH names) is blanked, unless NOT_ABOUT_A_PERSON says it is
not personal. The categorical fields
indicators count by (sex, age at registration, disability, mobility, location, dates, statuses)
are kept: past reports stay reproducible, and none of them identifies anyone on its own.

Each batch is one short transaction that locks the people's case rows and checks them again, so
a case reopened meanwhile is never anonymised, and writes its audit entry in that transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.utils import timezone

from casework.accounts.models import Agency
from casework.audit.log import record
from casework.cases.models import Case, Status
from casework.people.models import Person, PersonNameIndex, Relationship
from casework.vault.fields import encrypted_fields

BATCH_SIZE = 200
# How far foreign keys are followed from an encrypted column to the person it is about
# (note revision → note → case → person is three).
MAX_PATH_LENGTH = 4

# Encrypted columns that hold nothing about the people cases are about, so retention leaves them.
# Every other encrypted column must lead to a person through foreign keys, and is blanked with
# them; casework/retention/tests/test_personal_fields.py fails on any column that does neither, so
# a new model cannot leave personal data behind unnoticed.
NOT_ABOUT_A_PERSON: frozenset[str] = frozenset(
    {
        "referrals.organisation.quality_notes",
        "referrals.service.description",
        "referrals.service.eligibility",
        "referrals.service.staffing",
        # An export's override reason is about the export, not about one person.
        "interchange.exportrun.override_reason",
        # A staged import file holds many people's rows; it is not tied to one person, so it
        # cannot follow a person's retention. It is kept only until the import is confirmed
        # (see casework/interchange) and must not be kept longer than the shortest retention.
        "interchange.importrun.payload",
        # An export with names likewise holds many people's rows, password-sealed; the worker
        # erases it when it expires (CASEWORK_EXPORT_DAYS, 7 by default), long before any
        # retention period ends (the shortest is 30 days: retention.days).
        "interchange.exportfile.content",
        # Staff's two-factor secrets: about a member of staff, never a client; they go when the
        # account's two-factor sign-in is reset.
        "accounts.authenticator.secret",
        "accounts.recoverycode.code",
    }
)


# Foreign keys to a person who is not the one the row is about (a consent's caregiver, a link's
# relative): not followed when finding whose data a row holds.
NOT_THE_SUBJECT: frozenset[str] = frozenset(
    {"cases.consent.caregiver", "people.relationship.relative"}
)


# Rows that reach their person along another path than the shortest, which is empty for some of
# them: an attribute value is a person's (`person`) or a case's (`case`, then its person).
# Retention blanks along every path; the access package gathers along every path.
ALSO_THROUGH: dict[str, tuple[str, ...]] = {"attributes.attributevalue": ("case__person",)}


@dataclass
class RetentionReport:
    dry_run: bool
    people: dict[str, int] = field(default_factory=dict)  # agency code → people anonymised

    @property
    def total(self) -> int:
        return sum(self.people.values())


def cutoff_for(agency: Agency, today: datetime.date) -> datetime.date:
    """Cases closed before this day are past the agency's retention period."""
    return today - datetime.timedelta(days=agency.retention_days)


def _keeps_data(cutoff: datetime.date) -> Q:
    """A case that keeps its person's data: not closed, or closed on or after the cutoff."""
    return ~Q(status=Status.CLOSED) | Q(closed_on__isnull=True) | Q(closed_on__gte=cutoff)


def people_due(agency: Agency, *, today: datetime.date) -> models.QuerySet[Person]:
    """People of `agency` not yet anonymised, with cases, all closed before the cutoff."""
    cutoff = cutoff_for(agency, today)
    cases = Case.objects.filter(person=OuterRef("pk"))
    return (
        Person.objects.filter(agency=agency, anonymised_at__isnull=True)
        .filter(Exists(cases))
        .exclude(Exists(cases.filter(_keeps_data(cutoff))))
    )


def path_to_person(model: type[models.Model]) -> str | None:
    """The shortest chain of foreign keys from `model` to Person ("case__person"), if any."""
    if model is Person:
        return "pk"
    frontier: list[tuple[type[models.Model], str]] = [(model, "")]
    seen = {model}
    for _depth in range(MAX_PATH_LENGTH):
        following = []
        for current, path in frontier:
            for relation in current._meta.concrete_fields:
                if f"{current._meta.label_lower}.{relation.name}" in NOT_THE_SUBJECT:
                    continue
                target = (
                    relation.related_model if relation.many_to_one or relation.one_to_one else None
                )
                if not isinstance(target, type) or target in seen:
                    continue
                step = f"{path}__{relation.name}" if path else relation.name
                if target is Person:
                    return step
                seen.add(target)
                following.append((target, step))
        frontier = following
    return None


def paths_to_person(model: type[models.Model]) -> tuple[str, ...]:
    """Every chain of foreign keys that leads from `model` to the person its rows are about:
    the shortest, then those of ALSO_THROUGH (none when no chain leads to a person)."""
    shortest = path_to_person(model)
    if shortest is None:
        return ()
    return (shortest, *ALSO_THROUGH.get(model._meta.label_lower, ()))


@dataclass(frozen=True)
class PersonalColumns:
    model: type[models.Model]
    path: str  # from the model to the person
    fields: tuple[str, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, *ALSO_THROUGH.get(self.model._meta.label_lower, ()))


def personal_columns() -> list[PersonalColumns]:
    """Every encrypted column about a person, grouped by model, with its path to the person."""
    by_model: dict[type[models.Model], list[str]] = {}
    for model, encrypted in encrypted_fields():
        if f"{model._meta.label_lower}.{encrypted.attname}" not in NOT_ABOUT_A_PERSON:
            by_model.setdefault(model, []).append(encrypted.attname)
    found = []
    for model, names in by_model.items():
        path = path_to_person(model)
        if path is None:
            raise ImproperlyConfigured(
                f"{model._meta.label_lower} has encrypted fields but no foreign-key path to a "
                "person: list them in retention's NOT_ABOUT_A_PERSON if they are not personal."
            )
        found.append(PersonalColumns(model, path, tuple(names)))
    return found


def _with_relatives(person_ids: list[int]) -> list[int]:
    """The people and their relatives who are no one's client and linked to no one else: a
    child's caregiver goes with the child (their name was part of the child's file)."""
    relatives = set(
        Relationship.objects.filter(person_id__in=person_ids).values_list("relative_id", flat=True)
    ) - set(person_ids)
    clients = set(Case.objects.filter(person_id__in=relatives).values_list("person_id", flat=True))
    linked_elsewhere = set(
        Relationship.objects.filter(person_id__in=relatives)
        .exclude(relative_id__in=person_ids)
        .values_list("person_id", flat=True)
    )
    return [*person_ids, *sorted(relatives - clients - linked_elsewhere)]


def anonymise_people(person_ids: list[int], *, now: datetime.datetime) -> None:
    """Blank every personal field held on these people (and their relatives' links) and drop
    their name index rows. The caller holds the lock of `lock_still_due` and audits: the nightly
    run here, and the data-protection officer's erasure (casework/privacy)."""
    person_ids = _with_relatives(person_ids)
    for columns in personal_columns():
        blanks = {
            name: None if getattr(columns.model._meta.get_field(name), "null", False) else ""
            for name in columns.fields
        }
        for path in columns.paths:
            columns.model._base_manager.filter(**{f"{path}__in": person_ids}).update(**blanks)
    PersonNameIndex.objects.filter(person_id__in=person_ids).delete()
    Person.objects.filter(pk__in=person_ids).update(anonymised_at=now, updated_at=now)


def lock_still_due(candidates: list[int], cutoff: datetime.date) -> list[int]:
    """Of `candidates`, those still due, re-checked on rows locked until the batch commits.

    Locking the people keeps a concurrent run off them; locking their cases means none can be
    reopened between this check and the commit (PostgreSQL; SQLite serialises writers anyway).
    """
    people = list(
        Person.objects.select_for_update()
        .filter(pk__in=candidates, anonymised_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    cases = Case.objects.select_for_update().filter(person_id__in=people).order_by("pk")
    keeping = {
        person_id
        for person_id, keeps in cases.annotate(
            keeps=ExpressionWrapper(_keeps_data(cutoff), output_field=BooleanField())
        ).values_list("person_id", "keeps")
        if keeps
    }
    return [pk for pk in people if pk not in keeping]


def anonymise_agency(
    agency: Agency,
    *,
    today: datetime.date | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Anonymise the people of `agency` past retention; return how many (would be) anonymised."""
    today = today or timezone.localdate()
    cutoff = cutoff_for(agency, today)
    due = people_due(agency, today=today)
    if dry_run:
        return due.count()
    done = 0
    last = 0
    while True:
        candidates = list(
            due.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not candidates:
            return done
        with transaction.atomic():
            person_ids = lock_still_due(candidates, cutoff)
            if person_ids:
                anonymise_people(person_ids, now=timezone.now())
                record(
                    "retention.anonymised",
                    by=None,
                    agency_id=agency.pk,
                    data={"people": len(person_ids)},
                )
        done += len(person_ids)
        last = candidates[-1]


def apply_retention(
    *,
    agencies: Iterable[Agency] | None = None,
    today: datetime.date | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> RetentionReport:
    """Run retention for every agency (or the ones given)."""
    report = RetentionReport(dry_run=dry_run)
    for agency in agencies if agencies is not None else Agency.objects.order_by("code"):
        report.people[agency.code] = anonymise_agency(
            agency, today=today, dry_run=dry_run, batch_size=batch_size
        )
    return report
