from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from casework.audit.context import RequestContext, current


def client_ip(request: HttpRequest) -> str:
    proxies = getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies][:45]
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current.set(
            RequestContext(
                ip=client_ip(request),
                user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:200],
            )
        )
        try:
            return self.get_response(request)
        finally:
            current.reset(token)
