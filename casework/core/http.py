from __future__ import annotations

from django.http import HttpRequest


def is_htmx(request: HttpRequest) -> bool:
    """A request made by htmx (it wants a fragment, not a whole page)."""
    return request.headers.get("HX-Request") == "true"


def as_id(value: int | str | None) -> int:
    """A record id from a URL or a payload; 0 (no such record) for anything that is not one."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
