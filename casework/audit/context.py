"""Where the current request comes from, for audit entries written deep inside services."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str = ""
    user_agent: str = ""


# The default is frozen (immutable), so sharing it between contexts is safe.
current: ContextVar[RequestContext] = ContextVar("casework_request", default=RequestContext())  # noqa: B039
