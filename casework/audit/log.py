"""`record()` (and `append()` for many entries at once): the only writers of the audit trail.

Called inside the service's transaction, so an audited change and its entry commit together or
not at all. An append is one INSERT and takes no shared lock: requests never queue on each other
here. The worker seals committed entries into the HMAC chain within seconds
(casework/audit/sealing.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from casework.audit.chain import entry_mac
from casework.audit.context import current
from casework.audit.models import AuditEntry

if TYPE_CHECKING:
    # The audit trail is below accounts: it knows the actor as Django's user (AUTH_USER_MODEL).
    from django.contrib.auth.base_user import AbstractBaseUser

_CODE = re.compile(r"^[A-Za-z0-9_.:@\-]{0,64}$")


def _check_data(data: dict[str, Any]) -> dict[str, Any]:
    """Entries carry codes and ids, never what a person typed. Refuse anything that looks like it."""

    def ok(value: Any) -> bool:
        if value is None or isinstance(value, bool | int):
            return True
        if isinstance(value, str):
            return bool(_CODE.match(value))
        if isinstance(value, list | tuple):
            return all(ok(item) for item in value)
        return False

    for key, value in data.items():
        if not _CODE.match(key) or not ok(value):
            raise ValueError(f"Audit data {key!r} must be a code or an id, not free text.")
    return data


def entry(
    action: str,
    *,
    by: AbstractBaseUser | None,
    target: models.Model | None = None,
    case_id: int | None = None,
    data: dict[str, Any] | None = None,
    outcome: str = AuditEntry.Outcome.OK,
    agency_id: int | None = None,
) -> AuditEntry:
    """An entry not yet in the chain: hand it (with others) to `append`."""
    context = current.get()
    if case_id is None and target is not None and target._meta.label_lower == "cases.case":
        case_id = target.pk
    if agency_id is None and by is not None and getattr(by, "pk", None):
        agency_id = getattr(by, "agency_id", None)
    made = AuditEntry(
        at=timezone.now(),
        actor_id=by.pk if by is not None and getattr(by, "pk", None) else None,
        agency_id=agency_id,
        ip=context.ip,
        user_agent=context.user_agent,
        action=action,
        outcome=outcome,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None and target.pk is not None else "",
        case_id=case_id,
        data=_check_data(data or {}),
    )
    made.mac = entry_mac(made)
    return made


def append(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Write `entries` in order, unsealed: one statement however many there are."""
    if not entries:
        return entries
    if len(entries) == 1:
        entries[0].save(force_insert=True)
    else:
        AuditEntry.objects.bulk_create(entries, batch_size=1000)
    return entries


def record(
    action: str,
    *,
    by: AbstractBaseUser | None,
    target: models.Model | None = None,
    case_id: int | None = None,
    data: dict[str, Any] | None = None,
    outcome: str = AuditEntry.Outcome.OK,
    agency_id: int | None = None,
) -> AuditEntry:
    """Append one entry to the audit trail."""
    made = entry(
        action,
        by=by,
        target=target,
        case_id=case_id,
        data=data,
        outcome=outcome,
        agency_id=agency_id,
    )
    return append([made])[0]


def case_access_log(case_id: int, *, limit: int = 50) -> models.QuerySet[AuditEntry]:
    return (
        AuditEntry.objects.filter(case_id=case_id).select_related("actor").order_by("-id")[:limit]
    )
