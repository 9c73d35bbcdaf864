"""A case's history in one bounded read: transitions, consents, notes and corrections (of the case
and of its person), newest first."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Count, Prefetch
from django.utils import timezone
from django.utils.formats import date_format

from casework.accounts.models import User
from casework.accounts.roles import Sensitive
from casework.cases.models import Case, ConsentRecipient
from casework.people.models import Person, PersonRevision
from casework.reference.models import LabelledItem, Location, Programme, ProtectionConcern


@dataclass(frozen=True)
class Event:
    kind: str  # "transition" | "consent" | "consent_withdrawn" | "note" | "correction"
    on: datetime.date
    at: datetime.datetime
    actor: Any
    item: Any


def _noon(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


@dataclass(frozen=True)
class Change:
    """One corrected field: its label and what it said before (`sensitive`: the kind of personal
    data it is, shown only to roles that see that kind; None: shown to anyone who sees the case)."""

    name: str
    label: str
    before: str
    sensitive: Sensitive | None

    def shown_to(self, user: User) -> bool:
        return self.sensitive is None or user.sees(self.sensitive)


@dataclass(frozen=True)
class Correction:
    of_person: bool
    changes: list[Change]
    reason: str
    pk: int


PERSON_SENSITIVE = {
    "given_name": Sensitive.NAMES,
    "family_name": Sensitive.NAMES,
    "other_names": Sensitive.NAMES,
    "date_of_birth": Sensitive.BIRTH_DATE,
    "phone": Sensitive.CONTACT,
    "address": Sensitive.CONTACT,
}
REFERENCE_MODELS: dict[str, type[LabelledItem]] = {
    "programme": Programme,
    "primary_concern": ProtectionConcern,
    "secondary_concerns": ProtectionConcern,
    "location": Location,
}


def _shown(model: type[models.Model], name: str, value: Any, labels: dict[str, str]) -> str:
    if value in (None, "", []):
        return "—"
    if name in REFERENCE_MODELS:
        codes = value if isinstance(value, list) else [value]
        return ", ".join(str(labels.get(code) or code) for code in codes)
    choices = dict(getattr(model._meta.get_field(name), "choices", None) or [])
    if value in choices:
        return str(choices[value])
    if isinstance(value, str) and (name.endswith("_on") or name == "date_of_birth"):
        return date_format(datetime.date.fromisoformat(value), "DATE_FORMAT")
    return str(value)


def _corrections(case: Case) -> list[tuple[Any, bool]]:
    """The revision rows of the case and of its person: two queries."""
    rows: list[tuple[Any, bool]] = [
        (revision, False) for revision in case.revisions.select_related("corrected_by")
    ]
    rows += [
        (revision, True)
        for revision in PersonRevision.objects.filter(person_id=case.person_id).select_related(
            "corrected_by"
        )
    ]
    return rows


def _reference_labels(rows: list[tuple[Any, bool]]) -> dict[str, str]:
    """Labels of the reference items the corrections name (no query when none does)."""
    wanted: dict[type[LabelledItem], set[str]] = {}
    for revision, of_person in rows:
        if of_person:
            continue
        previous = json.loads(revision.previous)
        for name, model in REFERENCE_MODELS.items():
            value = previous.get(name)
            if value:
                wanted.setdefault(model, set()).update(
                    value if isinstance(value, list) else [value]
                )
    return {
        item.code: item.label
        for model, codes in wanted.items()
        for item in model._default_manager.filter(code__in=codes)
    }


def case_timeline(case: Case) -> list[Event]:
    """Six queries whatever the length of the history (more only to name the programmes,
    concerns or locations a correction changed)."""
    events: list[Event] = []
    for transition in case.transitions.select_related("by"):
        events.append(
            Event(
                "transition",
                timezone.localdate(transition.occurred_at),
                transition.occurred_at,
                transition.by,
                transition,
            )
        )
    consents = case.consents.select_related(
        "recorded_by", "withdrawn_recorded_by"
    ).prefetch_related(Prefetch("recipients", queryset=ConsentRecipient.objects.order_by("id")))
    for consent in consents:
        events.append(
            Event("consent", consent.given_on, consent.created_at, consent.recorded_by, consent)
        )
        if consent.withdrawn_on:
            events.append(
                Event(
                    "consent_withdrawn",
                    consent.withdrawn_on,
                    consent.updated_at,
                    consent.withdrawn_recorded_by,
                    consent,
                )
            )
    for note in case.notes.select_related("author").annotate(revision_count=Count("revisions")):
        events.append(Event("note", note.contact_on, note.created_at, note.author, note))
    rows = _corrections(case)
    labels = _reference_labels(rows)
    for revision, of_person in rows:
        model: type[models.Model] = Person if of_person else Case
        previous = json.loads(revision.previous)
        changes = [
            Change(
                name,
                str(getattr(model._meta.get_field(name), "verbose_name", name)),
                _shown(model, name, previous.get(name), labels),
                PERSON_SENSITIVE.get(name) if of_person else None,
            )
            for name in revision.fields
        ]
        events.append(
            Event(
                "correction",
                timezone.localdate(revision.corrected_at),
                revision.corrected_at,
                revision.corrected_by,
                Correction(of_person, changes, revision.reason, revision.pk),
            )
        )
    events.sort(key=lambda e: (e.on, e.at), reverse=True)
    return events
