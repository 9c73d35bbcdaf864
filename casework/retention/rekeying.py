"""Putting each agency's data under its own keys, so that the agency can be purged on its own
(casework/retention/purge.py).

- `move_to_agency_keys()`, behind `casework reencrypt --to-agency-keys`: data written before
  agencies had keys is re-encrypted with its agency's key, and the name index is rebuilt with the
  agencies' index keys, in batches of short transactions while the application runs. Progress
  is checkpointed with each batch (vault.models.Checkpoint), so a run that was stopped resumes
  where it stopped; running it again when it has finished changes nothing (values already under
  their agency's key are left as they are). Last, the instance's old index key is deleted: from
  then on searches use the agencies' keys only.
- A case transferred to another agency takes its history along: `_case_transferred` re-encrypts
  every row of the case, and of the person who moved with it, with the receiving agency's key,
  and indexes the names of the persons now in the receiving agency with its index key.

Here rather than in the vault, which knows no persons: the name index needs people's names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Now

from casework.accounts.models import Agency
from casework.audit.log import record
from casework.audit.models import AuditEntry
from casework.cases import events
from casework.cases.models import Case
from casework.people.models import Person, PersonNameIndex, Relationship
from casework.people.services import name_index_rows
from casework.vault import keys, rotation
from casework.vault.crypto import Unreadable
from casework.vault.models import Checkpoint, DataKey

logger = logging.getLogger(__name__)

JOB = "to-agency-keys"
INDEX_STEP = "people.personnameindex"
BATCH_SIZE = rotation.BATCH_SIZE


@dataclass
class RekeyReport:
    values: rotation.ReencryptionReport = field(default_factory=rotation.ReencryptionReport)
    people_indexed: int = 0
    instance_index_key_deleted: bool = False


def move_to_agency_keys(*, batch_size: int = BATCH_SIZE) -> RekeyReport:
    """Re-encrypt every value with its agency's key, rebuild the name index with the agencies'
    index keys, then delete the instance's old index key. Resumable and idempotent."""
    report = RekeyReport()
    purged = keys.purged_agencies()  # never given keys again: their rows stay as they are
    agencies = Agency.objects.exclude(pk__in=purged).order_by("pk").values_list("pk", flat=True)
    keys.ensure_keys([None, *agencies])
    for table in rotation.encrypted_tables():
        rotation.reencrypt_table(table, batch_size=batch_size, report=report.values, job=JOB)
    report.people_indexed = rebuild_name_index(job=JOB, batch_size=batch_size)
    with transaction.atomic():
        deleted, _by_model = DataKey.objects.filter(
            purpose=DataKey.Purpose.INDEX, agency__isnull=True
        ).delete()
        report.instance_index_key_deleted = bool(deleted)
        record(
            "vault.agency_keys.moved",
            by=None,
            data={
                "values": report.values.total,
                "unreadable": sum(report.values.unreadable.values()),
                "skipped_changed": report.values.skipped_changed,
                "people_indexed": report.people_indexed,
            },
        )
    keys.clear_cache()
    rotation.forget_checkpoints(JOB)
    return report


def rebuild_name_index(*, job: str, batch_size: int) -> int:
    """Index again, with their agency's key, every person who has index rows (anonymised and
    merged-away persons have none, and get none). Checkpointed under `job` (the move to agency
    keys; a purge deleting the instance's old index key)."""
    saved = Checkpoint.objects.filter(job=job, step=INDEX_STEP).first()
    if saved is not None and saved.finished_at is not None:
        return 0
    last = saved.position if saved is not None else 0
    indexed = Person.objects.filter(
        Exists(PersonNameIndex.objects.filter(person=OuterRef("pk")))
    ).order_by("pk")
    done = 0
    while batch := list(indexed.filter(pk__gt=last).values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            # Locked, so a correction of a name in the meantime is not overwritten by our read.
            people = list(Person.objects.select_for_update().filter(pk__in=batch).order_by("pk"))
            done += _reindex(people)
            last = batch[-1]
            Checkpoint.objects.update_or_create(
                job=job, step=INDEX_STEP, defaults={"position": last}
            )
    Checkpoint.objects.filter(job=job, step=INDEX_STEP).update(finished_at=Now())
    return done


def _reindex(people: list[Person]) -> int:
    """Rewrite the index rows of `people` with their agency's key; a person whose names cannot
    be read (their key is gone) keeps the rows they have."""
    readable = [
        person
        for person in people
        if not any(
            isinstance(name, Unreadable)
            for name in (person.given_name, person.family_name, person.other_names)
        )
    ]
    PersonNameIndex.objects.filter(person__in=readable).delete()
    PersonNameIndex.objects.bulk_create(
        row for person in readable for row in name_index_rows(person)
    )
    return len(readable)


def _scope(table: rotation.EncryptedTable, case: Case, person_ids: list[int]) -> Q | None:
    """Which rows of `table` belong to the transferred case or to the persons who moved: the
    first hop of its path to the agency that reaches the case or a person."""
    if table.model is Person:
        return Q(pk__in=person_ids)
    if table.agency_path is None:
        return None
    model: type[models.Model] = table.model
    hops: list[str] = []
    for hop in table.agency_path.split("__")[:-1]:
        hops.append(hop)
        related = model._meta.get_field(hop).related_model
        if not isinstance(related, type):
            return None
        model = related
        if model is Case:
            return Q(**{"__".join(hops): case.pk})
        if model is Person:
            return Q(**{"__".join(hops) + "__in": person_ids})
    return None


# Passes over a transferred case while rows keep changing under the re-encryption.
TRANSFER_PASSES = 3


def rekey_transferred_case(case: Case, *, to_agency_id: int) -> rotation.ReencryptionReport:
    """Re-encrypt the case's history and its persons' details for the agency it moved to.

    A row the application rewrote between our read and our write (`skipped_changed`) may have
    been written by a request that loaded it before the transfer, so with the sending agency's
    key: the case is gone over again, up to TRANSFER_PASSES times. What is still left, and any
    value no key opens (`unreadable`), is logged and audited as counts; a purge of the sending
    agency moves what is left before destroying its keys (casework/retention/purge.py)."""
    moved = [case.person_id] + list(
        Relationship.objects.filter(
            person_id=case.person_id, relative__agency_id=to_agency_id
        ).values_list("relative_id", flat=True)
    )
    report = rotation.ReencryptionReport()
    for _attempt in range(TRANSFER_PASSES):
        report.skipped_changed = 0
        for table in rotation.encrypted_tables():
            scope = _scope(table, case, moved)
            if scope is not None:
                rows = table.model._base_manager.filter(scope)
                rotation.reencrypt_table(table, batch_size=BATCH_SIZE, report=report, rows=rows)
        if not report.skipped_changed:
            break
    _reindex(list(Person.objects.filter(pk__in=moved, agency_id=to_agency_id)))
    unreadable = sum(report.unreadable.values())
    if report.skipped_changed or unreadable:
        logger.warning(
            "Case %s moved to agency %s: %d rows kept changing, %d values unreadable",
            case.pk,
            to_agency_id,
            report.skipped_changed,
            unreadable,
        )
        record(
            "retention.transfer.rekey_incomplete",
            by=None,
            target=case,
            case_id=case.pk,
            agency_id=to_agency_id,
            data={"skipped_changed": report.skipped_changed, "unreadable": unreadable},
            outcome=AuditEntry.Outcome.FAILED,
        )
    return report


def _case_transferred(event: events.CaseTransferred) -> None:
    rekey_transferred_case(event.case, to_agency_id=event.to_agency_id)


def subscribe() -> None:
    """Connected in RetentionConfig.ready()."""
    events.case_transferred.connect(_case_transferred)
