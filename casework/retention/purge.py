"""The emergency purge of an agency (evacuation): its personal data unreadable within seconds.

Every personal value of an agency is encrypted with the agency's own data key, and its names are
indexed with its own blind-index key (casework/vault). The purge destroys those keys; the values
stay in the database as ciphertext nobody can read, and pages show them as "•••". Steps, each
committed and stamped on the AgencyPurge row before the next, so that a purge that was
interrupted is finished by starting it again:

1. `destroy_keys`: the agency's data and index keys are deleted, with the audit entry, in one
   transaction. From its commit nothing of the agency can be read by this process, nor by any
   other once it reloads its keys (at once where it shares the key directory and step 2
   rewrites the key file; otherwise after vault.keys.KEYRING_TTL).
2. `replace_master`: a new master key wraps every other key, and the old master key is
   overwritten and removed from the key file, so a backup taken before the purge (where the
   agency's keys are still wrapped by the old master) cannot be read for that agency either.
   When the master keys come from CASEWORK_MASTER_KEYS only the operator can do this: the step
   is left open and the command says what to do.
3. `sweep`: the agency's name-index rows are deleted, and any value of the agency that still
   reads (written under another key: before `casework reencrypt --to-agency-keys` ran, or by a
   transfer not re-encrypted) is blanked, in batches with a checkpoint.
4. `finish`.

Kept: the rows themselves and every column in clear (sex, ages at registration, dates,
statuses, codes), so indicators and counts of the agency's past still compute. Exports are not
stored by Casework (each is sent to whoever made it); an export's own record keeps counts and an
override reason encrypted with the agency's key, gone with it.

Two ways in: `casework purge --agency CODE` on the server (break-glass, one operator), and the
agency administrators' screen, where one administrator requests and a second one confirms
within models.CONFIRM_WITHIN, retyping the agency's code (an agency with one administrator
uses the command). Each step is audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from casework.accounts.access import check_perm
from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.audit.sealing import ChainRewound, seal
from casework.core.errors import CaseworkError, FieldErrors, NotAllowed
from casework.people.models import PersonNameIndex
from casework.retention.models import CONFIRM_WITHIN, AgencyPurge, PurgeRequest
from casework.vault import keys, rotation

BATCH_SIZE = 500
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


def _check_code(agency: Agency, typed: str) -> None:
    if typed.strip() != agency.code:
        raise FieldErrors(
            {"agency_code": [_("Type your agency's code exactly as shown to confirm.")]}
        )


def open_request(agency_id: int) -> PurgeRequest | None:
    """The agency's request still waiting for a second administrator, if any."""
    now = timezone.now()
    waiting = PurgeRequest.objects.filter(
        agency_id=agency_id,
        status=PurgeRequest.Status.PENDING,
        requested_at__gt=now - CONFIRM_WITHIN,
    )
    return waiting.select_related("requested_by").order_by("-requested_at").first()


@transaction.atomic
def request_purge(*, by: User, agency_code: str) -> PurgeRequest:
    """The first of two administrators asks for their agency's purge."""
    agency = _agency_of(by)
    _check_code(agency, agency_code)
    if not any(admin.pk != by.pk for admin in administrators(agency.pk)):
        raise PurgeRefused(
            _(
                "Your agency has no other administrator to confirm a purge. Ask the server's "
                "operator to run: casework purge --agency %(code)s"
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


def confirm_purge(purge_request: PurgeRequest, *, by: User, agency_code: str) -> AgencyPurge:
    """The second administrator confirms: the keys are destroyed with the confirmation, in one
    transaction; the master key is replaced next; the sweep follows in the background."""
    with transaction.atomic():
        agency = _agency_of(by)
        purge_request = PurgeRequest.objects.select_for_update().get(pk=purge_request.pk)
        if purge_request.agency_id != agency.pk:
            raise NotAllowed(_("This request is not your agency's."))
        _check_code(agency, agency_code)
        now = timezone.now()
        if purge_request.status != PurgeRequest.Status.PENDING:
            raise PurgeRefused(_("This request is no longer waiting for confirmation."))
        if not purge_request.is_open(now):
            raise PurgeRefused(
                _(
                    "This request expired: a purge must be confirmed within %(minutes)d minutes "
                    "of being requested. Request it again."
                )
                % {"minutes": CONFIRM_WITHIN.total_seconds() // 60}
            )
        if purge_request.requested_by_id == by.pk:
            raise NotAllowed(_("Another administrator must confirm the purge you requested."))
        purge = destroy_keys(
            agency,
            by=by,
            via=AgencyPurge.Via.SCREEN,
            requested_by=purge_request.requested_by,
            confirmed_by=by,
        )
        purge_request.status = PurgeRequest.Status.CONFIRMED
        purge_request.decided_by = by
        purge_request.decided_at = now
        purge_request.purge = purge
        purge_request.save(update_fields=["status", "decided_by", "decided_at", "purge"])
        record(
            "retention.purge.confirmed",
            by=by,
            target=purge_request,
            agency_id=agency.pk,
            data={"purge": purge.pk, "requested_by": purge_request.requested_by_id},
        )
    try:
        replace_master(purge, by=by)
    except (OSError, ImproperlyConfigured):
        # The keys are gone already: that is the purge. The worker tries the master key again.
        logger.exception("Purge %s: the master key could not be replaced yet", purge.pk)
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
    agency: Agency, *, by: User | None = None, batch_size: int = BATCH_SIZE
) -> PurgeOutcome:
    """Every step of a purge, from wherever an earlier run of it stopped (the command)."""
    purge = destroy_keys(agency, by=by, via=AgencyPurge.Via.COMMAND)
    purge = replace_master(purge, by=by)
    purge = sweep(purge, by=by, batch_size=batch_size)
    purge = finish(purge, by=by)
    return PurgeOutcome(purge, master_left_to_operator=purge.master_replaced_at is None)


@transaction.atomic
def destroy_keys(
    agency: Agency,
    *,
    by: User | None,
    via: str,
    requested_by: User | None = None,
    confirmed_by: User | None = None,
) -> AgencyPurge:
    """Step 1: delete the agency's keys (or resume the agency's unfinished purge)."""
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
    if purge.keys_destroyed_at is None:
        purge.keys_destroyed = keys.destroy_agency_keys(agency.pk)
        purge.keys_destroyed_at = timezone.now()
        purge.save(update_fields=["keys_destroyed", "keys_destroyed_at"])
        record(
            "retention.purge.keys_destroyed",
            by=by,
            target=purge,
            agency_id=agency.pk,
            data={"agency": agency.code, "keys": purge.keys_destroyed},
        )
    return purge


def replace_master(purge: AgencyPurge, *, by: User | None) -> AgencyPurge:
    """Step 2: a new master key for everyone else; the old one destroyed (key file only)."""
    if purge.master_replaced_at is not None or keys.master_keys_from_environment():
        return purge
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
    """Step 3: delete the agency's name index; blank any of its values that still read."""
    if purge.swept_at is not None:
        return purge
    agency_id = purge.agency_id
    index_rows = 0
    mine = PersonNameIndex.objects.filter(Q(agency_id=agency_id) | Q(person__agency_id=agency_id))
    while batch := list(mine.values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            index_rows += PersonNameIndex.objects.filter(pk__in=batch).delete()[0]
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
        purge.index_rows_deleted = index_rows
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
    """Step 4: the purge is done (the master key may still be the operator's to replace)."""
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
    """Sweep and finish every purge whose keys are destroyed; returns how many were finished."""
    finished = 0
    unfinished = AgencyPurge.objects.filter(
        finished_at__isnull=True, keys_destroyed_at__isnull=False
    ).order_by("pk")
    for purge in unfinished:
        finish(sweep(replace_master(purge, by=None), by=None), by=None)
        finished += 1
    return finished
