from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def casework(request: HttpRequest) -> dict[str, Any]:
    from casework.accounts import access

    user = getattr(request, "user", None)
    return {"nav": access.navigation_for(user) if user is not None else {}}
