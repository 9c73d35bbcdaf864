"""Case.plan_text_shared: whether another person's case of the same agency has the same plan text.

INDIVIDUAL_PLAN (../shared/contracts/case-interchange.md) does not count a plan whose folded text
another person's case of the agency also has. Asked at report time that is a grouped subquery
over every plan of the agency, repeated by each part of a report split into person ranges
(0.26 s of a 2 s report at 1,000,000 cases). It depends on no period, so it is kept on the case
instead, like plan_fold_hash, by every path that writes plan_fold_hash, a case's person or a
case's agency:

- the plan services (one case: its old and new text),
- the importer (every text it touched, or the whole agency for a large file),
- a transfer between agencies (the text in both agencies),
- the demo generator and the plan benchmark (the whole agency), and the migration that added it.

Each of them sets the flag of a case whose text changed to False and then calls `refresh`, which
recomputes the flag of every case having one of the texts, in two set-based UPDATEs that touch
only the rows whose flag is wrong. Two writers giving the same new text to two persons at once
must not each see only their own case: on PostgreSQL `refresh` first takes an advisory lock per
text (shared lock on the agency), or the agency's lock exclusively for a whole-agency refresh,
held until commit, so the second writer's refresh runs after the first commits and sees both.
SQLite allows one writer at a time anyway. `casework index_plans` also recomputes every agency, and `stale_cases` lists any case whose flag is wrong (a test ties it to every path).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TypedDict

from django.db import connection
from django.db.models import F, Max, Min, QuerySet

from casework.cases import events
from casework.cases.models import Case
from casework.people import events as person_events

# Above this many texts, refresh the whole agency: one grouped pass over the index
# case_plan_text_person, under one lock, instead of an IN list and a lock per text.
MANY_TEXTS = 64


class SharedText(TypedDict):
    plan_fold_hash: str


def shared_texts(cases: QuerySet[Case]) -> QuerySet[Case, SharedText]:
    """The texts among `cases` that two persons or more have (`values("plan_fold_hash")`).

    MIN(person) <> MAX(person) needs no sort within each text, as COUNT(DISTINCT) would.
    """
    return (
        cases.exclude(plan_fold_hash="")
        .values("plan_fold_hash")
        .annotate(first=Min("person_id"), last=Max("person_id"))
        .exclude(first=F("last"))
        .values("plan_fold_hash")
    )


def refresh(agency_id: int, texts: Iterable[str] | None = None) -> int:
    """Recompute plan_text_shared for the agency's cases having one of `texts` (None: every
    text of the agency). Returns how many flags changed. Call it inside the writing transaction,
    after the new texts, persons or agencies are written."""
    cases = Case.objects.filter(agency_id=agency_id).exclude(plan_fold_hash="")
    if texts is not None:
        wanted = sorted({text for text in texts if text})
        if not wanted:
            return 0
        if len(wanted) > MANY_TEXTS:
            return refresh(agency_id)
        _lock(agency_id, wanted)
        cases = cases.filter(plan_fold_hash__in=wanted)
    else:
        _lock(agency_id, None)
    shared = shared_texts(cases)
    changed = cases.filter(plan_fold_hash__in=shared, plan_text_shared=False).update(
        plan_text_shared=True
    )
    changed += (
        cases.filter(plan_text_shared=True)
        .exclude(plan_fold_hash__in=shared)
        # A flag left on a case whose text was cleared is the caller's to reset (see module).
        .update(plan_text_shared=False)
    )
    return changed


def stale_cases(agency_id: int) -> QuerySet[Case]:
    """Cases whose plan_text_shared is not what the texts say (none, when every path keeps it)."""
    cases = Case.objects.filter(agency_id=agency_id)
    shared = shared_texts(cases)
    return cases.filter(plan_text_shared=True).exclude(plan_fold_hash__in=shared) | cases.filter(
        plan_text_shared=False, plan_fold_hash__in=shared
    )


def _lock(agency_id: int, texts: list[str] | None) -> None:
    """PostgreSQL advisory locks until commit: exclusive on the agency for a whole-agency refresh,
    else shared on the agency and exclusive on each text (in order, so no two writers deadlock)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if texts is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_key(f"plans:{agency_id}")])
            return
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_key(f"plans:{agency_id}")])
        keys = sorted({_key(f"plans:{agency_id}:{text}") for text in texts})
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT k FROM unnest(%s::bigint[]) AS k ORDER BY k) AS o",
            [keys],
        )


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _case_transferred(event: events.CaseTransferred) -> None:
    """The plan text leaves one agency's persons and joins another's."""
    text = event.case.plan_fold_hash
    if text:
        refresh(event.from_agency_id, {text})
        refresh(event.to_agency_id, {text})


def _persons_merged(event: person_events.PersonsMerged) -> None:
    """Two records of one person became one (or two again): a text the two shared is no longer
    another person's (or is again)."""
    texts = set(
        Case.objects.filter(person_id__in=[event.survivor.pk, event.merged.pk])
        .exclude(plan_fold_hash="")
        .values_list("plan_fold_hash", flat=True)
    )
    if texts:
        refresh(event.survivor.agency_id, texts)


def subscribe() -> None:
    """Connected in PlansConfig.ready()."""
    events.case_transferred.connect(_case_transferred)
    person_events.persons_merged.connect(_persons_merged)
    person_events.persons_unmerged.connect(_persons_merged)
