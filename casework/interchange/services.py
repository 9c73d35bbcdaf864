"""Exports with names kept for download: made, downloaded, and erased when they expire.

An export with names is never sent in the answer that makes it. It is kept as an `ExportFile`
(the password-sealed .cwx, encrypted again under the agency's vault key), and its maker downloads
it from the list of their exports until it expires (`CASEWORK_EXPORT_DAYS`, 7 days by default);
each download is audited. Every hour the worker erases the content of expired files
(`purge_expired_exports`, interchange/tasks.py); the row stays as the record of who exported
what, for whom, when, and when it was erased.
"""

from __future__ import annotations

import base64
import datetime
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from casework.accounts.models import User
from casework.audit.log import record
from casework.core.errors import CaseworkError
from casework.interchange.exporter import Export, export_cases
from casework.interchange.models import ExportFile
from casework.interchange.periods import Period
from casework.vault import keys
from casework.vault.crypto import Unreadable


class ExportExpired(CaseworkError):
    """The export's time is over and its file is (or is about to be) erased."""

    code = "export_expired"
    status = 410


def export_days() -> int:
    """How long an export with names stays downloadable. (Agencies have no policy of their own
    for it yet; the instance's setting applies to all.)"""
    return int(getattr(settings, "CASEWORK_EXPORT_DAYS", 7))


def export_with_names(
    *,
    by: User,
    recipient_name: str,
    password: str,
    period: Period | None = None,
    file_format: str = "csv",
    override_reason: str = "",
    leave_out_refused: bool = False,
) -> ExportFile:
    """Export the cases `by` may see with names (exporter.export_cases: the same permission,
    consent and override checks) and keep the sealed file for `by` to download. Refused for an
    agency whose keys were destroyed (retention/purge.py): there is nothing to keep it under.
    One transaction: a run is never recorded without its stored file, nor a file without its run."""
    if keys.is_purged(by.agency_id):
        raise CaseworkError(
            _("This agency's data has been purged: nothing can be exported with names."),
            code="agency_purged",
        )
    stored: list[ExportFile] = []

    def store(export: Export) -> None:
        name, content, _content_type = export.download()
        now = timezone.now()
        kept = ExportFile.objects.create(
            run=export.run,
            agency=export.run.agency,
            created_by=by,
            created_at=now,
            expires_at=now + datetime.timedelta(days=export_days()),
            name=name,
            size=len(content),
            content=base64.b64encode(content).decode("ascii"),
        )
        record(
            "interchange.export.stored",
            by=by,
            target=kept,
            agency_id=kept.agency_id,
            data={"run": export.run.pk, "size": kept.size, "days": export_days()},
        )
        stored.append(kept)

    export_cases(
        by=by,
        period=period,
        file_format=file_format,
        with_names=True,
        recipient_name=recipient_name,
        password=password,
        override_reason=override_reason,
        leave_out_refused=leave_out_refused,
        keep=store,
    )
    return stored[0]


def download_export(export_file: ExportFile, *, by: User) -> bytes:
    """The sealed file, counted and audited; `ExportExpired` (410) once its time is over.
    `export_file` comes from the gate (access.get_export_file_for_user)."""
    now = timezone.now()
    with transaction.atomic():
        fresh = ExportFile.objects.select_for_update().get(pk=export_file.pk)
        # Unreadable: its agency's keys were destroyed (retention/purge.py); gone as well.
        erased = not fresh.content or isinstance(fresh.content, Unreadable)
        if erased or not fresh.is_available(now):
            record(
                "interchange.export.expired",
                by=by,
                target=fresh,
                agency_id=fresh.agency_id,
                outcome="denied",
            )
            refused = ExportExpired(
                _(
                    "This export expired on %(date)s and can no longer be downloaded. "
                    "Export again if you still need it."
                )
                % {"date": date_format(timezone.localtime(fresh.expires_at), "DATETIME_FORMAT")}
                if not fresh.is_available(now)
                else _("This export's file has been erased. Export again if you still need it.")
            )
        else:
            refused = None
            fresh.downloads += 1
            fresh.last_downloaded_at = now
            fresh.save(update_fields=["downloads", "last_downloaded_at"])
            record(
                "interchange.export.downloaded",
                by=by,
                target=fresh,
                agency_id=fresh.agency_id,
                data={"downloads": fresh.downloads},
            )
    if refused is not None:
        # Raised after the transaction, so the refusal stays in the audit log.
        raise refused
    return base64.b64decode(fresh.content)


def purge_expired_exports(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Erase the content of every export past its expiry; one audit entry per run, with how
    many per agency. The rows stay (history), with `purged_at` set."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            ExportFile.objects.select_for_update()
            .filter(purged_at=None, expires_at__lte=now)
            .values_list("pk", "agency_id")
        )
        # A blank value needs no key, so the update is safe without `encrypting_for`.
        ExportFile.objects.filter(pk__in=[pk for pk, _agency in due]).update(
            content="", purged_at=now
        )
        per_agency = sorted(Counter(agency_id for _pk, agency_id in due).items())
        record(
            "interchange.export.purged",
            by=None,
            # Audit data holds codes and ids only, no mappings: two lists side by side.
            data={
                "purged": len(due),
                "agency_ids": [agency_id for agency_id, _count in per_agency],
                "agency_counts": [count for _agency_id, count in per_agency],
            },
        )
    return {"purged": len(due)}
