from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from casework.accounts.access import navigation_for


def casework(request: HttpRequest) -> dict[str, Any]:
    """The menu's sections for the signed-in user (none for anyone else)."""
    return {"nav": navigation_for(getattr(request, "user", None))}
