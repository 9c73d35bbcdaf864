"""The errors services raise. Each carries a machine code (for the API) and a translated message.

A service raises before it writes anything, or inside a transaction that the raise rolls back, so a
refused operation changes nothing.
"""

from __future__ import annotations

from typing import Any


class CaseworkError(Exception):
    """A refusal that the user can understand and act on (HTTP 400 in the API)."""

    code = "invalid"
    status = 400

    def __init__(self, message: Any, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        if code is not None:
            self.code = code
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.field:
            payload["field"] = self.field
        return payload


class InvalidTransition(CaseworkError):
    code = "invalid_transition"


class ConsentRequired(CaseworkError):
    code = "consent_required"
    status = 403


class Conflict(CaseworkError):
    """Someone else saved the record since it was loaded (optimistic locking)."""

    code = "conflict"
    status = 409


class NotAllowed(CaseworkError):
    """The user may see the record but not do this to it."""

    code = "not_allowed"
    status = 403


class FieldErrors(CaseworkError):
    """Several field-level problems at once: {field: [messages]}."""

    code = "invalid_fields"

    def __init__(self, errors: dict[str, list[Any]]) -> None:
        first = next(iter(errors.values()))[0] if errors else ""
        super().__init__(first)
        self.errors = errors

    def as_dict(self) -> dict[str, Any]:
        payload = super().as_dict()
        payload["fields"] = {
            name: [str(message) for message in messages] for name, messages in self.errors.items()
        }
        return payload


class PreconditionRequired(CaseworkError):
    """A write that could overwrite someone else's change came without If-Match."""

    code = "precondition_required"
    status = 428


class PreconditionFailed(CaseworkError):
    """If-Match named a version the record no longer has: someone changed it since."""

    code = "precondition_failed"
    status = 412
