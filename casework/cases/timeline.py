"""A case's history in one bounded read: transitions, consents and notes, newest first."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch
from django.utils import timezone

from casework.cases.models import Case, ConsentRecipient


@dataclass(frozen=True)
class Event:
    kind: str  # "transition" | "consent" | "consent_withdrawn" | "note"
    on: datetime.date
    at: datetime.datetime
    actor: Any
    item: Any


def _noon(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def case_timeline(case: Case) -> list[Event]:
    """Four queries whatever the length of the history."""
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
    events.sort(key=lambda e: (e.on, e.at), reverse=True)
    return events
