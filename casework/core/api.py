"""Plumbing every app's API router shares: the error body.

Errors are JSON objects with a machine `code` and a translated `message`, and, where they apply,
the `field` a refusal concerns, `fields` with per-field messages, or `problems` (rows of a file).
casework/api.py turns every `CaseworkError` and 404 into one of these.
"""

from __future__ import annotations

from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None
    fields: dict[str, list[str]] | None = None
    problems: list[dict[str, Any]] | None = None
