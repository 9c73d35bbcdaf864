"""Response headers that every page gets: a strict CSP, no caching of anything personal. And an id
too large for the database's integers, in any URL, is a 404 like any id that names nothing."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found

MAX_ID = 2**63 - 1
MIN_ID = -(2**63)

# No inline script, no third-party origin: every script and style is a vendored file under
# /static/. htmx is configured through <meta name="htmx-config"> so it never needs eval.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def _out_of_range(value: object) -> bool:
    """An int (Django's `<int:…>`) or a string of digits (the API's path, which Ninja converts
    itself) that no 64-bit id can be."""
    if isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit():
        value = int(value)
    return isinstance(value, int) and not MIN_ID <= value <= MAX_ID


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if not request.path.startswith("/static/"):
            # Pages and API answers may hold personal data: never keep them in a browser or proxy
            # cache on a shared field-office computer.
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response

    def process_view(
        self, request: HttpRequest, view: object, args: object, kwargs: dict[str, object]
    ) -> HttpResponse | None:
        # `<int:pk>` (and the API's `{case_id}`) accept any number of digits; the databases refuse
        # what does not fit in 64 bits with an OverflowError, before any gate could say 404.
        if any(_out_of_range(value) for value in kwargs.values()):
            if request.path_info.startswith("/api/"):
                return JsonResponse({"code": "not_found", "message": _("Not found.")}, status=404)
            return page_not_found(request, Http404())
        return None
