"""The gate to stored exports with names (`ExportFile`): only their maker sees them.

Not the maker's supervisor, not the agency's officer: the file holds the names of every case it
took out, and it was made for one recipient by one person who answers for it. The maker must also
still be allowed to export with names (a role changed since loses the files). Anyone else, in
the agency or outside it, gets the same 404 as for an export that never existed; the refusal is
audited.
"""

from __future__ import annotations

from typing import TypeGuard

from django.db.models import QuerySet

from casework.accounts.access import Requester, is_member, refusal
from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.interchange.exporter import may_export
from casework.interchange.models import ExportFile


def may_keep_exports(user: Requester) -> TypeGuard[User]:
    """Whether the user makes (and so may download) exports with names."""
    return (
        is_member(user) and may_export(user) and user.has_casework_perm(Perm.EXPORT_PERSONAL_DATA)
    )


def export_files_of(user: Requester) -> QuerySet[ExportFile]:
    """The user's own exports with names, newest first (erased ones too: they are history)."""
    if not may_keep_exports(user):
        return ExportFile.objects.none()
    return (
        ExportFile.objects.filter(created_by_id=user.pk, agency_id=user.agency_id or 0)
        .select_related("run")
        .defer("content")
        .order_by("-created_at", "-pk")
    )


def get_export_file_for_user(user: Requester, pk: int) -> ExportFile:
    """The user's own export `pk` with its content, or an audited 404."""
    found = None
    if may_keep_exports(user):
        found = (
            ExportFile.objects.filter(pk=pk, created_by_id=user.pk, agency_id=user.agency_id or 0)
            .select_related("run", "agency")
            .first()
        )
    if found is None:
        raise refusal("interchange.export.denied", by=user, data={"export_file": pk})
    return found
