"""The emergency purge of an agency (evacuation): its personal data unreadable within seconds.

Every personal value of an agency is encrypted with the agency's own data key, and its names are
indexed with its own blind-index key (casework/vault). The purge destroys those keys; the values
stay in the database as ciphertext nobody can read, and pages show them as "•••". Steps, each
committed and stamped on the AgencyPurge row before the next, so that a purge that was
interrupted is finished by starting it again (the worker does so for every purge started):

0. `start`: the agency is closed in the purge's first transaction (with the confirmation, on
   the screen): marked inactive, every user of it deactivated, their sessions ended and their
   API tokens revoked. No one of the agency reads or writes from here.
1. `prepare`: before the keys go, what they would not take along is put under them. The
   agency's name-index rows are deleted (some may have been made with the instance's old index
   key, which survives). The agency's values still under a key it does not own (the instance
   key, written before `casework reencrypt --to-agency-keys` ran; another agency's, a transfer in
   whose re-encryption did not finish) are re-encrypted with the agency's key; and the values of
   other agencies still under the agency's keys (a case transferred out, not yet re-encrypted)
   are re-encrypted with their own agency's key, so destroying these keys does not destroy them.
   We re-encrypt rather than refuse: a purge is an evacuation, and must not wait for an
   operator to run a maintenance command first; the pass is checkpointed (resumable) and reads
   only the rows the database finds under the wrong keys. Other agencies' values that keep
   changing under the agency's keys after three passes make the purge refuse, rather than
   destroy another agency's data.
2. `destroy_keys`: the agency's data and index keys are deleted, and the agency marked purged in
   the vault (no key is made for it again: a form opened before and submitted after stores
   nothing readable), with the audit entry, in one transaction. From its commit nothing of the
   agency can be read by this process, nor by any other once it reloads its keys.
3. `sweep`: any name-index row of the agency left, and any value of the agency that still reads
   (written under another key after step 1), is blanked, in batches with a checkpoint.
3b. `replace_instance_keys`: the instance gets a new data key; every surviving value under the
   old instance keys is re-encrypted with its owner's key and the name index rebuilt under the
   agencies' keys (resumable), and the old instance data and index keys are deleted, so that a
   backup's values of the agency under them (an installation upgraded from before agency keys)
   open with no key left, nor with the new master key.
4. `replace_master`: a new master key wraps every other key, and the old master key is
   overwritten and removed from the key file, so a backup taken before the purge (where the
   agency's keys are still wrapped by the old master) cannot be read for that agency either.
   When the master keys come from CASEWORK_MASTER_KEYS only the operator can do this: the step
   is left open and the command says what to do. (The screen does 3b and 4 right after step 2;
   the worker sweeps.)
5. `finish`.

Kept: the rows themselves and every column in clear (sex, ages at registration, dates,
statuses, codes), so indicators and counts of the agency's past still compute. Exports are not
stored by Casework (each is sent to whoever made it); an export's own record keeps counts and an
override reason encrypted with the agency's key, gone with it.

Two ways in: `casework purge --agency CODE` on the server (break-glass, one operator, whose OS
account and host are audited), and the agency administrators' screen, where one administrator
requests and a second one confirms within models.CONFIRM_WITHIN, retyping the agency's code and,
where they must use two-factor sign-in, a current code from their authenticator (an agency with
one administrator uses the command). Each step, and each refused confirmation, is audited.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from casework.accounts import mfa, tokens
from casework.accounts.access import check_perm
from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.audit.models import AuditEntry
from casework.audit.sealing import ChainRewound, seal
from casework.core.errors import CaseworkError, FieldErrors, NotAllowed
from casework.people.models import PersonNameIndex
from casework.retention import rekeying
from casework.retention.models import CONFIRM_WITHIN, AgencyPurge, PurgeRequest
from casework.vault import keys, rotation
from casework.vault.crypto import decrypt_bytes, key_id_of
from casework.vault.models import DataKey

BATCH_SIZE = 500
# Passes over other agencies' values still under the purged agency's keys before refusing.
FOREIGN_PASSES = 3
# How long after telling every process to reload its keys the old instance keys may be deleted:
# each process looks at the key file once every SOURCE_CHECK_SECONDS.
RELOAD_WAIT = 2 * keys.SOURCE_CHECK_SECONDS
logger = logging.getLogger(__name__)


class PurgeRefused(CaseworkError):
    code = "purge_refused"


def administrators(agency_id: int) -> list[User]:
    """The agency's active administrators: who may request and confirm a purge."""
    return [
        user
        for user in User.objects.filter(agency_id=agency_id, is_active=True)
        if user.has_casework_perm(Perm.MANAGE_CONFIGURATION)
    ]


def _agency_of(by: User) -> Agency:
    check_perm(by, Perm.MANAGE_CONFIGURATION)
    if by.agency_id is None:
        raise NotAllowed(_("Your account is not in an agency."))
    # Locked: requests and confirmations of one agency are decided one at a time.
    return Agency.objects.select_for_update().get(pk=by.agency_id)


def _code_refusal(agency: Agency, typed: str) -> FieldErrors | None:
    if typed.strip() != agency.code:
        return FieldErrors(
            {"agency_code": [_("Type your agency's code exactly as shown to confirm.")]}
        )
    return None


def _second_factor(by: User, code: str) -> None:
    """Where `by` must use two-factor sign-in, a current code from their authenticator (or a
    recovery code): an open session alone does not destroy an agency. mfa.verify audits the
    check and commits a refusal before raising it."""
    if by.must_use_mfa:
        mfa.verify(by, code=code)


def open_request(agency_id: int) -> PurgeRequest | None:
    """The agency's request still waiting for a second administrator, if any."""
    now = timezone.now()
    waiting = PurgeRequest.objects.filter(
        agency_id=agency_id,
        status=PurgeRequest.Status.PENDING,
        requested_at__gt=now - CONFIRM_WITHIN,
    )
    return waiting.select_related("requested_by").order_by("-requested_at").first()


def request_purge(*, by: User, agency_code: str, second_factor: str = "") -> PurgeRequest:
    """The first of two administrators asks for their agency's purge."""
    _second_factor(by, second_factor)
    with transaction.atomic():
        agency = _agency_of(by)
        if (refusal := _code_refusal(agency, agency_code)) is not None:
            raise refusal
        if not any(admin.pk != by.pk for admin in administrators(agency.pk)):
            raise PurgeRefused(
                _(
                    "Your agency has no other administrator to confirm a purge. Ask the "
                    "server's operator to run: casework purge --agency %(code)s"
                )
                % {"code": agency.code}
            )
        if open_request(agency.pk) is not None:
            raise PurgeRefused(_("A purge of your agency is already waiting for confirmation."))
        purge_request = PurgeRequest.objects.create(
            agency=agency, requested_by=by, requested_at=timezone.now()
        )
        record(
            "retention.purge.requested",
            by=by,
            target=purge_request,
            agency_id=agency.pk,
            data={"agency": agency.code},
        )
    return purge_request


@transaction.atomic
def cancel_purge_request(purge_request: PurgeRequest, *, by: User) -> PurgeRequest:
    """Any administrator of the agency withdraws a request still waiting."""
    agency = _agency_of(by)
    purge_request = PurgeRequest.objects.select_for_update().get(pk=purge_request.pk)
    if purge_request.agency_id != agency.pk:
        raise NotAllowed(_("This request is not your agency's."))
    if not purge_request.is_open(timezone.now()):
        raise PurgeRefused(_("This request is no longer waiting for confirmation."))
    purge_request.status = PurgeRequest.Status.CANCELLED
    purge_request.decided_by = by
    purge_request.decided_at = timezone.now()
    purge_request.save(update_fields=["status", "decided_by", "decided_at"])
    record("retention.purge.cancelled", by=by, target=purge_request, agency_id=agency.pk)
    return purge_request


def _confirmation_refusal(
    purge_request: PurgeRequest, *, agency: Agency, by: User, agency_code: str
) -> tuple[str, CaseworkError] | None:
    """Why this confirmation is refused (an audit code and the error), or None."""
    if purge_request.requested_by_id == by.pk:
        return "own_request", NotAllowed(
            _("Another administrator must confirm the purge you requested.")
        )
    if (wrong_code := _code_refusal(agency, agency_code)) is not None:
        return "agency_code", wrong_code
    if purge_request.status != PurgeRequest.Status.PENDING:
        return "not_pending", PurgeRefused(_("This request is no longer waiting for confirmation."))
    if not purge_request.is_open(timezone.now()):
        return "expired", PurgeRefused(
            _(
                "This request expired: a purge must be confirmed within %(minutes)d minutes "
                "of being requested. Request it again."
            )
            % {"minutes": CONFIRM_WITHIN.total_seconds() // 60}
        )
    return None


def _refused(purge_request: PurgeRequest, *, by: User, reason: str) -> None:
    record(
        "retention.purge.refused",
        by=by,
        target=purge_request,
        agency_id=purge_request.agency_id,
        data={"reason": reason},
        outcome=AuditEntry.Outcome.FAILED,
    )


def confirm_purge(
    purge_request: PurgeRequest, *, by: User, agency_code: str, second_factor: str = ""
) -> AgencyPurge:
    """The second administrator confirms: the agency is closed with the confirmation, in one
    transaction; its keys are destroyed next, then the master key is replaced; the sweep
    follows in the background. A refused confirmation is audited (and committed) first."""
    try:
        _second_factor(by, second_factor)
    except mfa.CodeRefused:
        with transaction.atomic():
            _refused(purge_request, by=by, reason="second_factor")
        raise
    refusal: CaseworkError | None = None
    with transaction.atomic():
        agency = _agency_of(by)
        purge_request = PurgeRequest.objects.select_for_update().get(pk=purge_request.pk)
        if purge_request.agency_id != agency.pk:
            raise NotAllowed(_("This request is not your agency's."))
        refused = _confirmation_refusal(
            purge_request, agency=agency, by=by, agency_code=agency_code
        )
        if refused is not None:
            reason, refusal = refused
            _refused(purge_request, by=by, reason=reason)
        else:
            purge = start(
                agency,
                by=by,
                via=AgencyPurge.Via.SCREEN,
                requested_by=purge_request.requested_by,
                confirmed_by=by,
            )
            purge_request.status = PurgeRequest.Status.CONFIRMED
            purge_request.decided_by = by
            purge_request.decided_at = timezone.now()
            purge_request.purge = purge
            purge_request.save(update_fields=["status", "decided_by", "decided_at", "purge"])
            record(
                "retention.purge.confirmed",
                by=by,
                target=purge_request,
                agency_id=agency.pk,
                data={"purge": purge.pk, "requested_by": purge_request.requested_by_id},
            )
    if refusal is not None:
        raise refusal
    purge = prepare(purge, by=by)
    purge = destroy_keys(purge, by=by)
    try:
        purge = replace_instance_keys(purge, by=by)
        replace_master(purge, by=by)
    except (OSError, ImproperlyConfigured, PurgeRefused):
        # The keys are gone already: that is the purge. The worker tries the rest again.
        logger.exception("Purge %s: the instance or master key could not be replaced yet", purge.pk)
    # The sweep may take minutes for a large agency: the worker does it (and finishes any purge
    # left unfinished every few minutes, casework/retention/tasks.py).
    finish_purges.enqueue()
    return purge


@dataclass
class PurgeOutcome:
    purge: AgencyPurge
    # The master key comes from CASEWORK_MASTER_KEYS: the operator must replace it.
    master_left_to_operator: bool


def purge_agency(
    agency: Agency,
    *,
    by: User | None = None,
    batch_size: int = BATCH_SIZE,
    operator: dict[str, str] | None = None,
) -> PurgeOutcome:
    """Every step of a purge, from wherever an earlier run of it stopped (the command).
    `operator`: who ran the command, as codes (OS account, host), for the audit trail."""
    purge = start(agency, by=by, via=AgencyPurge.Via.COMMAND, operator=operator)
    purge = prepare(purge, by=by, batch_size=batch_size)
    purge = destroy_keys(purge, by=by)
    purge = sweep(purge, by=by, batch_size=batch_size)
    purge = replace_instance_keys(purge, by=by, batch_size=batch_size)
    purge = replace_master(purge, by=by)
    purge = finish(purge, by=by)
    return PurgeOutcome(purge, master_left_to_operator=purge.master_replaced_at is None)


@transaction.atomic
def start(
    agency: Agency,
    *,
    by: User | None,
    via: str,
    requested_by: User | None = None,
    confirmed_by: User | None = None,
    operator: dict[str, str] | None = None,
) -> AgencyPurge:
    """Step 0: the agency's purge (or its unfinished one), with the agency closed: inactive,
    every user deactivated, their sessions ended and their tokens revoked."""
    agency = Agency.objects.select_for_update().get(pk=agency.pk)
    purge = (
        AgencyPurge.objects.select_for_update()
        .filter(agency=agency, finished_at__isnull=True)
        .first()
    )
    if purge is None:
        purge = AgencyPurge.objects.create(
            agency=agency,
            via=via,
            requested_by=requested_by,
            confirmed_by=confirmed_by,
            started_at=timezone.now(),
        )
    if purge.closed_at is None:
        Agency.objects.filter(pk=agency.pk).update(is_active=False)
        users = list(User.objects.filter(agency_id=agency.pk).order_by("pk"))
        # Bumping the generation ends every session and voids every API token of each user.
        User.objects.filter(agency_id=agency.pk).update(
            is_active=False, session_generation=F("session_generation") + 1
        )
        for user in users:
            tokens.revoke_all(user, by=by, reason="purge")
        purge.closed_at = timezone.now()
        purge.users_deactivated = len(users)
        purge.save(update_fields=["closed_at", "users_deactivated"])
        record(
            "retention.purge.started",
            by=by,
            target=purge,
            agency_id=agency.pk,
            data={"agency": agency.code, "via": purge.via, "users": len(users), **(operator or {})},
        )
    return purge


@dataclass
class _Moved:
    values: int = 0
    unreadable: int = 0
    skipped_changed: int = 0


Scope = list[tuple[rotation.EncryptedTable, models.QuerySet[Any]]]


def _agency_key_ids(agency_id: int) -> list[int]:
    return list(
        DataKey.objects.filter(agency_id=agency_id, purpose=DataKey.Purpose.DATA).values_list(
            "pk", flat=True
        )
    )


def _own_values_elsewhere(agency_id: int, own_keys: list[int]) -> Scope:
    """The agency's rows holding a value under a key the agency does not own."""
    return [
        (
            table,
            rotation.rows_by_key(
                table,
                table.model._base_manager.filter(**{table.agency_path: agency_id}),
                not_under=own_keys,
            ),
        )
        for table in rotation.encrypted_tables()
        if table.agency_path is not None
    ]


def _others_values_here(agency_id: int, own_keys: list[int]) -> Scope:
    """Rows not the agency's (another agency's, or the instance's) holding a value under one of
    the agency's keys: a case transferred out whose re-encryption did not finish."""
    scope: Scope = []
    for table in rotation.encrypted_tables():
        rows = table.model._base_manager.all()
        if table.agency_path is not None:
            rows = rows.exclude(**{table.agency_path: agency_id})
        scope.append((table, rotation.rows_by_key(table, rows, under=own_keys)))
    return scope


def _move(scope: Scope, *, batch_size: int, job: str | None) -> _Moved:
    """Re-encrypt every value of `scope` with its row's owner's key (resumable with `job`)."""
    moved = _Moved()
    for table, rows in scope:
        report = rotation.ReencryptionReport()
        rotation.reencrypt_table(table, batch_size=batch_size, report=report, rows=rows, job=job)
        moved.values += report.total
        moved.unreadable += sum(report.unreadable.values())
        moved.skipped_changed += report.skipped_changed
    return moved


def _readable_under(scope: Scope, key_ids: set[int], *, batch_size: int) -> int:
    """How many values of `scope` under one of `key_ids` still decrypt."""
    readable = 0
    for table, rows in scope:
        for batch in rotation.raw_batches(table, batch_size=batch_size, rows=rows):
            for row in batch:
                for col, value in zip(table.encrypted, row[2:], strict=True):
                    if value and key_id_of(str(value)) in key_ids:
                        readable += decrypt_bytes(str(value), context=col.context) is not None
    return readable


def _delete_index_rows(agency_id: int, *, batch_size: int) -> int:
    deleted = 0
    mine = PersonNameIndex.objects.filter(Q(agency_id=agency_id) | Q(person__agency_id=agency_id))
    while batch := list(mine.values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            deleted += PersonNameIndex.objects.filter(pk__in=batch).delete()[0]
    return deleted


def prepare(purge: AgencyPurge, *, by: User | None, batch_size: int = BATCH_SIZE) -> AgencyPurge:
    """Step 1: put under the agency's keys all, and only, what their destruction must take.

    - its name-index rows are deleted (some may be digests under the instance's old index key);
    - its values under a key it does not own are re-encrypted with its key (checkpointed);
    - other agencies' values under its keys are re-encrypted with their owner's key, pass after
      pass while rows change meanwhile; still some after FOREIGN_PASSES passes: refused.
    """
    if purge.prepared_at is not None or purge.keys_destroyed_at is not None:
        return purge
    agency_id = purge.agency_id
    index_rows = _delete_index_rows(agency_id, batch_size=batch_size)
    own_keys = _agency_key_ids(agency_id)
    job = f"purge-{purge.pk}-own"
    moved_in = _move(_own_values_elsewhere(agency_id, own_keys), batch_size=batch_size, job=job)
    moved_out = _Moved()
    for _attempt in range(FOREIGN_PASSES):
        passed = _move(_others_values_here(agency_id, own_keys), batch_size=batch_size, job=None)
        moved_out.values += passed.values
        moved_out.unreadable += passed.unreadable
        if not passed.skipped_changed:
            break
    left = _readable_under(
        _others_values_here(agency_id, own_keys), set(own_keys), batch_size=batch_size
    )
    if left:
        raise PurgeRefused(
            _(
                "%(count)d values of other agencies are still encrypted with this agency's keys "
                "and changed while they were being moved; no key was destroyed. Run the purge "
                "again."
            )
            % {"count": left}
        )
    with transaction.atomic():
        purge = AgencyPurge.objects.select_for_update().get(pk=purge.pk)
        if purge.prepared_at is None:
            purge.prepared_at = timezone.now()
            purge.values_moved = moved_in.values
            purge.foreign_values_moved = moved_out.values
            purge.index_rows_deleted = index_rows
            purge.save(
                update_fields=[
                    "prepared_at",
                    "values_moved",
                    "foreign_values_moved",
                    "index_rows_deleted",
                ]
            )
            record(
                "retention.purge.prepared",
                by=by,
                target=purge,
                agency_id=agency_id,
                data={
                    "values_moved": moved_in.values,
                    "foreign_values_moved": moved_out.values,
                    "index_rows": index_rows,
                    "unreadable": moved_in.unreadable + moved_out.unreadable,
                },
            )
    rotation.forget_checkpoints(job)
    return purge


@transaction.atomic
def destroy_keys(purge: AgencyPurge, *, by: User | None) -> AgencyPurge:
    """Step 2: delete the agency's keys and mark it purged in the vault."""
    purge = AgencyPurge.objects.select_for_update().select_related("agency").get(pk=purge.pk)
    if purge.keys_destroyed_at is None:
        if purge.prepared_at is None:
            raise PurgeRefused(_("The purge must be prepared before its keys are destroyed."))
        purge.keys_destroyed = keys.destroy_agency_keys(purge.agency_id)
        purge.keys_destroyed_at = timezone.now()
        purge.save(update_fields=["keys_destroyed", "keys_destroyed_at"])
        record(
            "retention.purge.keys_destroyed",
            by=by,
            target=purge,
            agency_id=purge.agency_id,
            data={"agency": purge.agency.code, "keys": purge.keys_destroyed},
        )
    return purge


def _instance_keys(purpose: str) -> models.QuerySet[DataKey]:
    return DataKey.objects.filter(agency__isnull=True, purpose=purpose)


def _new_instance_key(purge: AgencyPurge) -> AgencyPurge:
    """The instance's new primary data key, made once per purge (its id on the purge row, in
    the same transaction), and only if the instance has a data key to replace."""
    with transaction.atomic():
        purge = AgencyPurge.objects.select_for_update().get(pk=purge.pk)
        if purge.instance_key_id is None and _instance_keys(DataKey.Purpose.DATA).exists():
            new = keys.create_data_key(DataKey.Purpose.DATA, agency_id=None)
            purge.instance_key_id = new.pk
            purge.save(update_fields=["instance_key_id"])
    return purge


def _values_under(key_ids: list[int]) -> Scope:
    """Rows holding a value under one of `key_ids`, but for the rows of purged agencies (their
    keys are gone: what of theirs is under these keys is to go with them)."""
    purged = keys.purged_agencies()
    scope: Scope = []
    for table in rotation.encrypted_tables():
        rows = table.model._base_manager.all()
        if table.agency_path is not None and purged:
            rows = rows.exclude(**{f"{table.agency_path}__in": purged})
        scope.append((table, rotation.rows_by_key(table, rows, under=key_ids)))
    return scope


def replace_instance_keys(
    purge: AgencyPurge, *, by: User | None, batch_size: int = BATCH_SIZE
) -> AgencyPurge:
    """Step 3b: the instance's keys replaced, and the old ones deleted before the master key is.

    Why: an installation upgraded from before agency keys wrote every agency's values with the
    instance's data key, and indexed every name with the instance's index key. Step 1 moves what
    the agency still has under them to its own keys, but a backup taken earlier holds the
    agency's values under the instance key; were that key to survive (re-wrapped under the new
    master), the backup plus the live database would read them again, and its name digests could
    be tested against a list of names. So, on every purge (the instance's own values are few once
    `reencrypt --to-agency-keys` has run; before it, this is that run, and it is needed):

    - a new primary data key for the instance, made once (its id kept on the purge row);
    - every process told to reload its keys (`keys.announce_key_change`: the key file written
      again, which each process notices within SOURCE_CHECK_SECONDS), so that from here they
      write with the new key;
    - every value under an old instance key re-encrypted with its owner's primary key (the
      instance's new one for staff secrets and the service directory; an agency's own for what
      other agencies still had under the instance key), checkpointed and reading only the rows
      the database finds under those keys, so a run stopped at any point leaves every value
      readable and is continued by running it again;
    - the name index rebuilt under the agencies' keys if the instance's old index key exists
      (the instance has no index of its own, so no new index key is made);
    - after RELOAD_WAIT and further passes for rows that changed meanwhile, the old instance keys
      are deleted at once, not after rotation.SETTLE_SECONDS: every process has re-read its keys
      since the announcement, and the purge must not wait minutes. Values still readable under
      them (a write racing the deletion) make the step refuse, keys kept; the next run retries.

    It precedes the master key's replacement: a deleted row may linger in the database's free
    pages (SQLite) or dead tuples (PostgreSQL), wrapped by the master key of that moment, which
    must be the one destroyed. With master keys from the environment, the old instance keys
    are deleted all the same; the operator's replacement of the master key does the rest.
    """
    if purge.instance_keys_replaced_at is not None:
        return purge
    if purge.keys_destroyed_at is None:
        raise PurgeRefused(_("The agency's keys must be destroyed before the instance's."))
    purge = _new_instance_key(purge)
    old_data = _instance_keys(DataKey.Purpose.DATA)
    if purge.instance_key_id is not None:
        old_data = old_data.filter(pk__lt=purge.instance_key_id)
    old_ids = list(old_data.values_list("pk", flat=True))
    old_index = list(_instance_keys(DataKey.Purpose.INDEX).values_list("pk", flat=True))
    announced_at = time.monotonic()
    announced = keys.announce_key_change()
    job = f"purge-{purge.pk}-instance"
    moved = _move(_values_under(old_ids), batch_size=batch_size, job=job) if old_ids else _Moved()
    indexed = rekeying.rebuild_name_index(job=job, batch_size=batch_size) if old_index else 0
    if announced and old_ids:
        time.sleep(max(0.0, RELOAD_WAIT - (time.monotonic() - announced_at)))
    for _attempt in range(FOREIGN_PASSES if old_ids else 0):
        passed = _move(_values_under(old_ids), batch_size=batch_size, job=None)
        moved.values += passed.values
        moved.unreadable += passed.unreadable
        if not passed.skipped_changed:
            break
    left = _readable_under(_values_under(old_ids), set(old_ids), batch_size=batch_size)
    if left:
        raise PurgeRefused(
            _(
                "%(count)d values are still encrypted with the instance's old key and changed "
                "while they were being moved; it was kept. Run the purge again."
            )
            % {"count": left}
        )
    with transaction.atomic():
        purge = AgencyPurge.objects.select_for_update().get(pk=purge.pk)
        if purge.instance_keys_replaced_at is not None:
            return purge
        deleted, _by_model = DataKey.objects.filter(pk__in=old_ids + old_index).delete()
        purge.instance_keys_replaced_at = timezone.now()
        purge.instance_values_moved = moved.values
        purge.instance_keys_deleted = deleted
        purge.save(
            update_fields=[
                "instance_keys_replaced_at",
                "instance_values_moved",
                "instance_keys_deleted",
            ]
        )
        record(
            "retention.purge.instance_keys_replaced",
            by=by,
            target=purge,
            agency_id=purge.agency_id,
            data={
                "data_key": purge.instance_key_id,
                "deleted": sorted(old_ids + old_index),
                "values_moved": moved.values,
                "unreadable": moved.unreadable,
                "people_indexed": indexed,
            },
        )
        transaction.on_commit(keys.clear_cache)
    keys.clear_cache()
    rotation.forget_checkpoints(job)
    return purge


def replace_master(purge: AgencyPurge, *, by: User | None) -> AgencyPurge:
    """Step 4: a new master key for everyone else; the old one destroyed (key file only)."""
    if purge.master_replaced_at is not None or keys.master_keys_from_environment():
        return purge
    if purge.instance_keys_replaced_at is None:
        # The old instance keys would be wrapped by the new master key, which survives.
        raise PurgeRefused(_("The instance's keys must be replaced before the master key."))
    master_id, destroyed = keys.replace_master_key()
    with transaction.atomic():
        purge.master_replaced_at = timezone.now()
        purge.master_key_id = master_id
        purge.save(update_fields=["master_replaced_at", "master_key_id"])
        record(
            "vault.master_key.replaced",
            by=by,
            target=purge,
            agency_id=purge.agency_id,
            data={"master_key": master_id, "destroyed": destroyed},
        )
    return purge


def sweep(purge: AgencyPurge, *, by: User | None, batch_size: int = BATCH_SIZE) -> AgencyPurge:
    """Step 3: delete what is left of the agency's name index; blank any of its values that
    still read (written under another key since step 1)."""
    if purge.swept_at is not None:
        return purge
    agency_id = purge.agency_id
    index_rows = _delete_index_rows(agency_id, batch_size=batch_size)
    blanked = 0
    job = f"purge-{purge.pk}"
    for table in rotation.encrypted_tables():
        if table.agency_path is None:
            continue
        rows = table.model._base_manager.filter(**{table.agency_path: agency_id})
        blanked += rotation.blank_readable(
            table, rows=rows, spare_owner=agency_id, batch_size=batch_size, job=job
        )
    with transaction.atomic():
        purge = AgencyPurge.objects.select_for_update().get(pk=purge.pk)
        if purge.swept_at is not None:
            return purge  # a concurrent run (the worker's and the command's) stamped it first
        purge.swept_at = timezone.now()
        purge.index_rows_deleted += index_rows
        purge.values_blanked = blanked
        purge.save(update_fields=["swept_at", "index_rows_deleted", "values_blanked"])
        record(
            "retention.purge.swept",
            by=by,
            target=purge,
            agency_id=agency_id,
            data={"index_rows": index_rows, "values_blanked": blanked},
        )
    rotation.forget_checkpoints(job)
    return purge


def finish(purge: AgencyPurge, *, by: User | None) -> AgencyPurge:
    """Step 5: the purge is done (the master key may still be the operator's to replace)."""
    if purge.finished_at is not None:
        return purge
    with transaction.atomic():
        purge = AgencyPurge.objects.select_for_update().get(pk=purge.pk)
        if purge.finished_at is not None:
            return purge
        purge.finished_at = timezone.now()
        purge.save(update_fields=["finished_at"])
        record(
            "retention.purge.finished",
            by=by,
            target=purge,
            agency_id=purge.agency_id,
            data={"master_replaced": purge.master_replaced_at is not None},
        )
    # Seal the purge's entries into the chain now and checkpoint them outside the database: the
    # record that the agency's data was destroyed must itself be beyond rewinding.
    try:
        seal(checkpoint=True)
    except ChainRewound:
        logger.critical("The purge is done, but the audit chain was tampered with: not sealed")
    return purge


@task()
def finish_purges() -> int:
    """Finish every purge started (the agency closed) and not finished: the sweep before the
    master key, so what still reads goes even while the key file cannot be written. A purge
    that fails is logged and audited, and does not hold up the others; the next run retries it.
    Returns how many were finished."""
    finished = 0
    unfinished = AgencyPurge.objects.filter(
        Q(closed_at__isnull=False) | Q(keys_destroyed_at__isnull=False), finished_at__isnull=True
    ).order_by("pk")
    for purge in unfinished:
        try:
            done = prepare(purge, by=None)
            done = destroy_keys(done, by=None)
            done = sweep(done, by=None)
            done = replace_instance_keys(done, by=None)
            done = replace_master(done, by=None)
            finish(done, by=None)
        except Exception as error:
            # Only the exception's type: a message may hold anything.
            logger.exception("Purge %s could not be finished; the next run tries again", purge.pk)
            with transaction.atomic():
                record(
                    "retention.purge.failed",
                    by=None,
                    target=purge,
                    agency_id=purge.agency_id,
                    data={"error": type(error).__name__},
                    outcome=AuditEntry.Outcome.FAILED,
                )
            continue
        finished += 1
    return finished
