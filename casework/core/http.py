from __future__ import annotations

from django.http import HttpRequest


def is_htmx(request: HttpRequest) -> bool:
    """A request made by htmx (it wants a fragment, not a whole page)."""
    return request.headers.get("HX-Request") == "true"
