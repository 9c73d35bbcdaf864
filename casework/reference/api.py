"""/api/v1/reference: the configured lists that case forms choose from."""

from __future__ import annotations

from typing import Any

from ninja import Router, Schema

from casework.accounts.http import AuthenticatedHttpRequest
from casework.reference.models import Location, Programme, ProtectionConcern

router = Router(tags=["reference"])


class ItemOut(Schema):
    code: str
    name: str


class LocationOut(ItemOut):
    level: int
    parent: str | None


def _items(model: Any) -> list[dict[str, Any]]:
    return [{"code": i.code, "name": i.label} for i in model.objects.filter(is_active=True)]


@router.get("/programmes", response=list[ItemOut])
def programmes(request: AuthenticatedHttpRequest) -> Any:
    return _items(Programme)


@router.get("/protection-concerns", response=list[ItemOut])
def protection_concerns(request: AuthenticatedHttpRequest) -> Any:
    return _items(ProtectionConcern)


@router.get("/locations", response=list[LocationOut])
def locations(request: AuthenticatedHttpRequest) -> Any:
    rows = Location.objects.filter(is_active=True).select_related("parent")
    return [
        {
            "code": row.code,
            "name": row.label,
            "level": row.level,
            "parent": row.parent.code if row.parent else None,
        }
        for row in rows
    ]
