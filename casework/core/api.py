"""Plumbing every app's API router shares: the error body and paging.

Errors are JSON objects with a machine `code` and a translated `message`, and, where they apply,
the `field` a refusal concerns, `fields` with per-field messages, or `problems` (rows of a file).
casework/api.py turns every `CaseworkError` and 404 into one of these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from ninja import Schema

Row = TypeVar("Row", bound=Model)


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None
    fields: dict[str, list[str]] | None = None
    problems: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a list operation: its rows, and where it stands (pages count from 1)."""

    items: Sequence[Row]
    count: int
    page: int
    pages: int


def paginate(rows: QuerySet[Row], page: int, size: int) -> Page[Row]:
    """The asked page of `rows` (the last one if it asks past the end, the first before it)."""
    count = rows.count()
    pages = max(1, math.ceil(count / size))
    page = min(max(1, page), pages)
    return Page(list(rows[(page - 1) * size : page * size]), count, page, pages)
