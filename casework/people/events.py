"""What changes to a person announce, for the apps that keep something derived from them.

A person is below the case in the process: people never imports cases. When a correction or a
merge changes a person, the service sends `person_changed` and the cases app keeps its summaries
in step (the age at registration of each of the person's cases), in the same transaction (see
casework/core/events.py for how handlers run). `persons_merged` and `persons_unmerged` tell the
later steps that two records became one, or one again (plans: whether a plan text is another
person's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from casework.core.events import Event

if TYPE_CHECKING:
    from casework.accounts.models import User
    from casework.people.models import Person


@dataclass(frozen=True)
class PersonChanged:
    person: Person
    by: User | None
    fields: frozenset[str]


person_changed: Event[PersonChanged] = Event("person_changed")


@dataclass(frozen=True)
class PersonsMerged:
    """`merged` was folded into `survivor` (or, for persons_unmerged, taken out again)."""

    survivor: Person
    merged: Person
    by: User | None


persons_merged: Event[PersonsMerged] = Event("persons_merged")
persons_unmerged: Event[PersonsMerged] = Event("persons_unmerged")
