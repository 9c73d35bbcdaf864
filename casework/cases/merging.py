"""Two records of one person made one, and made two again if that was wrong.

A merge moves every case, consent given as a caregiver, relationship and correction of the merged
record to the surviving one; for each detail the two records disagree on, the reviewer chose which
to keep. What moved, and what the survivor's details were, is kept in a `PersonMerge` row, so that
an unmerge within the window (CASEWORK_UNMERGE_DAYS, 90 by default) restores exactly, while
edits made after the merge stay with the records they were made on. Indicators follow at once:
they count persons through their cases. Later steps hear of it through `persons_merged`.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.access import check_perm, refusal
from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.cases import access
from casework.cases.models import Case, Consent, PersonMerge
from casework.core.errors import CaseworkError, FieldErrors, NotAllowed
from casework.people import events as person_events
from casework.people.models import DuplicateCandidate, Person, PersonNameIndex, PersonRevision
from casework.people.models import Relationship as Link
from casework.people.services import AGE_FIELDS, NAME_FIELDS, PERSON_FIELDS, index_names

KEEP, TAKE = "survivor", "merged"


def unmerge_window() -> datetime.timedelta:
    return datetime.timedelta(days=int(getattr(settings, "CASEWORK_UNMERGE_DAYS", 90)))


def _shown(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else value


def _read(value: Any, name: str) -> Any:
    if name == "date_of_birth" and value:
        return datetime.date.fromisoformat(value)
    return value


def conflicts(survivor: Person, merged: Person) -> list[str]:
    """The details the two records disagree on (the reviewer picks one of each)."""
    return [
        name
        for name in PERSON_FIELDS
        if getattr(merged, name) not in (None, "")
        and getattr(survivor, name) != getattr(merged, name)
    ]


def _link_row(link: Link) -> dict[str, Any]:
    return {
        "person": link.person_id,
        "relative": link.relative_id,
        "kind": link.kind,
        "is_caregiver": link.is_caregiver,
        "recorded_at": link.recorded_at.isoformat(),
        "recorded_by": link.recorded_by_id,
    }


@transaction.atomic
def merge_persons(
    survivor: Person, merged: Person, *, by: User, choices: dict[str, str]
) -> PersonMerge:
    """Fold `merged` into `survivor`. `choices` says, for each conflicting detail, whether to keep
    the survivor's value or take the merged record's. The caller loaded both through the gate
    with the right to write (the supervisor of both records' cases)."""
    check_perm(by, Perm.MERGE_PERSONS)
    if survivor.agency_id != merged.agency_id:
        raise NotAllowed(_("Records of two agencies are never merged."))
    if survivor.pk == merged.pk:
        raise CaseworkError(_("A record cannot be merged with itself."), code="same_person")
    pair = {
        person.pk: person
        for person in Person.objects.select_for_update().filter(pk__in=[survivor.pk, merged.pk])
    }
    if any(p.merged_into_id or p.anonymised_at for p in pair.values()):
        raise CaseworkError(_("One of these records was merged or anonymised already."))
    survivor, merged = pair[survivor.pk], pair[merged.pk]
    open_conflicts = conflicts(survivor, merged)
    missing = [name for name in open_conflicts if choices.get(name) not in (KEEP, TAKE)]
    if missing:
        raise FieldErrors({name: [_("Choose which value to keep.")] for name in missing})
    now = timezone.now()
    replaced = {
        name: [_shown(getattr(survivor, name)), _shown(getattr(merged, name))]
        for name in open_conflicts
        if choices[name] == TAKE
    }
    for name in replaced:
        setattr(survivor, name, getattr(merged, name))
    moved: dict[str, Any] = {
        "cases": list(Case.objects.filter(person=merged).values_list("pk", flat=True)),
        "consents": list(Consent.objects.filter(caregiver=merged).values_list("pk", flat=True)),
        "revisions": list(
            PersonRevision.objects.filter(person=merged).values_list("pk", flat=True)
        ),
        "links": [
            _link_row(link)
            for link in Link.objects.filter(Q(person=merged) | Q(relative=merged)).order_by("pk")
        ],
        "household": survivor.household_id is None and merged.household_id is not None,
    }
    Case.objects.filter(pk__in=moved["cases"]).update(person=survivor, version=F("version") + 1)
    Consent.objects.filter(pk__in=moved["consents"]).update(caregiver=survivor)
    PersonRevision.objects.filter(pk__in=moved["revisions"]).update(person=survivor)
    Link.objects.filter(Q(person=merged) | Q(relative=merged)).delete()
    moved["created_links"] = _relink(moved["links"], merged=merged.pk, survivor=survivor.pk)
    if moved["household"]:
        survivor.household_id = merged.household_id
    survivor.version += 1
    survivor.save(update_fields=[*replaced, "household", "version", "updated_at"])
    merged.merged_into = survivor
    merged.version += 1
    merged.save(update_fields=["merged_into", "version", "updated_at"])
    PersonNameIndex.objects.filter(person=merged).delete()
    if NAME_FIELDS & set(replaced):
        index_names(survivor)
    merge = PersonMerge.objects.create(
        agency_id=survivor.agency_id,
        survivor=survivor,
        merged=merged,
        merged_by=by,
        merged_at=now,
        replaced=json.dumps(replaced),
        moved=moved,
    )
    DuplicateCandidate.objects.filter(
        first_id=min(survivor.pk, merged.pk), second_id=max(survivor.pk, merged.pk)
    ).update(status=DuplicateCandidate.Status.MERGED, decided_by=by, decided_at=now)
    record(
        "people.person.merged",
        by=by,
        target=survivor,
        data={"merged": merged.pk, "cases": moved["cases"], "fields": sorted(replaced)},
    )
    person_events.person_changed.send(
        person_events.PersonChanged(survivor, by, frozenset(replaced) | AGE_FIELDS)
    )
    person_events.persons_merged.send(person_events.PersonsMerged(survivor, merged, by))
    return merge


def _relink(rows: list[dict[str, Any]], *, merged: int, survivor: int) -> list[int]:
    """The merged record's links, now the survivor's (none to itself, none it had already)."""
    had = set(
        Link.objects.filter(Q(person_id=survivor) | Q(relative_id=survivor)).values_list(
            "person_id", "relative_id"
        )
    )
    created = []
    for row in rows:
        person = survivor if row["person"] == merged else row["person"]
        relative = survivor if row["relative"] == merged else row["relative"]
        if person == relative or (person, relative) in had:
            continue
        link = Link.objects.create(
            person_id=person,
            relative_id=relative,
            kind=row["kind"],
            is_caregiver=row["is_caregiver"],
            recorded_at=datetime.datetime.fromisoformat(row["recorded_at"]),
            recorded_by_id=row["recorded_by"],
        )
        had.add((person, relative))
        created.append(link.pk)
    return created


@transaction.atomic
def unmerge(merge: PersonMerge, *, by: User) -> None:
    """Make the two records two again, as they were, within the window. What was added since
    stays where it was added: a case opened on the survivor stays on it, a note written on a
    moved case goes back with that case, a detail corrected since the merge is not undone."""
    check_perm(by, Perm.MERGE_PERSONS)
    merge = PersonMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise CaseworkError(_("This merge was undone already."), code="already_undone")
    if timezone.now() - merge.merged_at > unmerge_window():
        raise CaseworkError(
            _("Merges can be undone for %(days)s days; this one is older.")
            % {"days": unmerge_window().days},
            code="too_late",
        )
    survivor = Person.objects.select_for_update().get(pk=merge.survivor_id)
    merged = Person.objects.select_for_update().get(pk=merge.merged_id)
    moved = merge.moved
    Case.objects.filter(pk__in=moved["cases"], person=survivor).update(
        person=merged, version=F("version") + 1
    )
    Consent.objects.filter(pk__in=moved["consents"], caregiver=survivor).update(caregiver=merged)
    PersonRevision.objects.filter(pk__in=moved["revisions"], person=survivor).update(person=merged)
    Link.objects.filter(pk__in=moved["created_links"]).delete()
    existing = set(
        Link.objects.filter(Q(person_id=merged.pk) | Q(relative_id=merged.pk)).values_list(
            "person_id", "relative_id"
        )
    )
    Link.objects.bulk_create(
        Link(
            person_id=row["person"],
            relative_id=row["relative"],
            kind=row["kind"],
            is_caregiver=row["is_caregiver"],
            recorded_at=datetime.datetime.fromisoformat(row["recorded_at"]),
            recorded_by_id=row["recorded_by"],
        )
        for row in moved["links"]
        if (row["person"], row["relative"]) not in existing
    )
    restored = []
    for name, (before, given) in json.loads(merge.replaced or "{}").items():
        if _shown(getattr(survivor, name)) == given:  # not corrected since the merge
            setattr(survivor, name, _read(before, name))
            restored.append(name)
    if moved.get("household") and survivor.household_id == merged.household_id:
        survivor.household_id = None
    survivor.version += 1
    survivor.save(update_fields=[*restored, "household", "version", "updated_at"])
    merged.merged_into = None
    merged.version += 1
    merged.save(update_fields=["merged_into", "version", "updated_at"])
    index_names(survivor)
    index_names(merged)
    merge.undone_by = by
    merge.undone_at = timezone.now()
    merge.save(update_fields=["undone_by", "undone_at"])
    DuplicateCandidate.objects.filter(
        first_id=min(survivor.pk, merged.pk), second_id=max(survivor.pk, merged.pk)
    ).update(status=DuplicateCandidate.Status.DISMISSED, decided_by=by, decided_at=merge.undone_at)
    record(
        "people.person.unmerged",
        by=by,
        target=survivor,
        data={"merged": merged.pk, "cases": moved["cases"], "fields": sorted(restored)},
    )
    for person in (survivor, merged):
        person_events.person_changed.send(
            person_events.PersonChanged(person, by, frozenset(restored) | AGE_FIELDS)
        )
    person_events.persons_unmerged.send(person_events.PersonsMerged(survivor, merged, by))


@transaction.atomic
def dismiss(candidate: DuplicateCandidate, *, by: User) -> None:
    """The two records are different persons: the pair is not raised again."""
    check_perm(by, Perm.MERGE_PERSONS)
    candidate.status = DuplicateCandidate.Status.DISMISSED
    candidate.decided_by = by
    candidate.decided_at = timezone.now()
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    record(
        "people.duplicate.dismissed",
        by=by,
        target=candidate,
        data={"first": candidate.first_id, "second": candidate.second_id},
    )


@dataclass(frozen=True)
class Pair:
    candidate: DuplicateCandidate
    # Whether the user may see (and so merge) each side; a side they may not see is only named
    # by its team.
    first_visible: bool
    second_visible: bool


def _open_pairs(agency_id: int) -> QuerySet[DuplicateCandidate]:
    return DuplicateCandidate.objects.filter(
        agency_id=agency_id,
        status=DuplicateCandidate.Status.OPEN,
        first__merged_into__isnull=True,
        second__merged_into__isnull=True,
    ).select_related("first", "second")


def _seen_sides(user: User, candidates: list[DuplicateCandidate]) -> list[Pair]:
    ids = {pk for c in candidates for pk in (c.first_id, c.second_id)}
    seen = set(
        access.visible_cases(user).filter(person_id__in=ids).values_list("person_id", flat=True)
    )
    return [
        Pair(c, c.first_id in seen, c.second_id in seen)
        for c in candidates
        if c.first_id in seen or c.second_id in seen
    ]


def duplicates_for(user: User) -> list[Pair]:
    """Open pairs of the user's agency of which the user may see at least one side."""
    if not user.has_casework_perm(Perm.MERGE_PERSONS) or user.agency_id is None:
        return []
    return _seen_sides(user, list(_open_pairs(user.agency_id).order_by("-score", "pk")[:200]))


def pair_for(user: User, candidate_id: int) -> Pair:
    """One open pair the user may act on (see duplicates_for); otherwise an audited 404."""
    found = []
    if user.has_casework_perm(Perm.MERGE_PERSONS) and user.agency_id is not None:
        found = _seen_sides(user, list(_open_pairs(user.agency_id).filter(pk=candidate_id)))
    if not found:
        raise refusal(
            "people.duplicate.denied",
            by=user,
            message=_("No such pair."),
            data={"pair": candidate_id},
        )
    return found[0]


def merge_for(user: User, merge_id: int) -> tuple[PersonMerge, Person]:
    """A merge of the user's agency whose surviving person the user may change, and that person;
    otherwise an audited 404."""
    done = (
        PersonMerge.objects.filter(pk=merge_id, agency_id=user.agency_id).first()
        if user.agency_id is not None and user.has_casework_perm(Perm.MERGE_PERSONS)
        else None
    )
    if done is None:
        raise refusal(
            "people.merge.denied", by=user, message=_("No such merge."), data={"merge": merge_id}
        )
    return done, access.get_person_for_user(user, done.survivor_id, write=True)
