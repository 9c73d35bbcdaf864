"""Rate limits: per user (or token) and per address, on sign-in, password reset, the second
factor, the API, exports and uploads. Over a limit the answer is 429 with `Retry-After`, at once:
no request worker ever sleeps.

Counts live in the cache shared by every process (Django's database cache by default; Redis for
larger installations, see README), through django-ratelimit's counters, so a limit holds across
all app servers. The rules are data (`RULES`); their rates can be changed with
`CASEWORK_RATE_LIMITS = {"api": "1200/m", …}` in the settings, and `CASEWORK_RATE_LIMITS_ENABLED`
switches them off (never in production).

Sign-in also has django-axes: after `CASEWORK_LOGIN_FAILURE_LIMIT` failures of one account from one
address, that pair waits, longer each time (casework/accounts/throttle.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage

from casework.audit.middleware import client_ip


def _ip(group: str, request: HttpRequest) -> str:
    return client_ip(request)


def _principal(group: str, request: HttpRequest) -> str:
    """The caller: a bearer token (by its digest), else the signed-in user, else the address."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return "token:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()[:32]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return "ip:" + client_ip(request)


def _posted(field: str) -> Callable[[str, HttpRequest], str]:
    def key(group: str, request: HttpRequest) -> str:
        # Hashed again by django-ratelimit before it reaches the cache: no name is stored.
        return str(request.POST.get(field, "")).strip().lower()[:254]

    return key


def _not_a_session(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return user is None or not user.is_authenticated


def _always(request: HttpRequest) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    name: str
    path: re.Pattern[str]
    methods: frozenset[str]
    key: Callable[[str, HttpRequest], str]
    rate: str
    applies: Callable[[HttpRequest], bool] = _always


POST = frozenset({"POST"})
ANY = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_UPLOADS = (
    r"^/(imports/|questionnaires/upload/|services/import/|api/v1/interchange/imports"
    r"|api/v1/assessments/questionnaires(/new)?|api/v1/referrals/services/import)$"
)

RULES = [
    Rule("sign_in_address", re.compile(r"^/accounts/login/$"), POST, _ip, "60/10m"),
    Rule("sign_in_account", re.compile(r"^/accounts/login/$"), POST, _posted("username"), "30/h"),
    Rule("reset_address", re.compile(r"^/accounts/password-reset/$"), POST, _ip, "10/h"),
    Rule(
        "reset_account", re.compile(r"^/accounts/password-reset/$"), POST, _posted("email"), "3/h"
    ),
    Rule("second_factor", re.compile(r"^/accounts/two-factor/"), POST, _principal, "30/10m"),
    Rule("api", re.compile(r"^/api/"), ANY, _principal, "600/m"),
    # Tokens (each wrong one a new "principal") and anonymous callers, counted by address too.
    Rule("api_address", re.compile(r"^/api/"), ANY, _ip, "1800/m", _not_a_session),
    Rule(
        "export", re.compile(r"^/(exports/|api/v1/interchange/exports)$"), POST, _principal, "20/h"
    ),
    Rule("upload", re.compile(_UPLOADS), POST, _principal, "30/h"),
]


def _rate(rule: Rule) -> str:
    return str(getattr(settings, "CASEWORK_RATE_LIMITS", {}).get(rule.name, rule.rate))


def over_limit(request: HttpRequest) -> tuple[Rule, int] | None:
    """The first rule the request goes over, with the seconds until its window ends; counts the
    request against every rule it falls under."""
    if not getattr(settings, "CASEWORK_RATE_LIMITS_ENABLED", True):
        return None
    method = request.method or "GET"
    for rule in RULES:
        if method not in rule.methods or not rule.path.match(request.path):
            continue
        if not rule.applies(request):
            continue
        usage = get_usage(
            request, group=f"casework.{rule.name}", key=rule.key, rate=_rate(rule), increment=True
        )
        if usage is not None and usage["should_limit"]:
            return rule, max(1, int(usage["time_left"]))
    return None


class RateLimitMiddleware:
    """Answer 429 with Retry-After when a request goes over a rule (after authentication, so a
    signed-in user is counted as themself, not as their office's shared address)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = over_limit(request)
        if found is None:
            return self.get_response(request)
        rule, wait = found
        message = _("Too many requests. Try again in %(seconds)d seconds.") % {"seconds": wait}
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {"code": "rate_limited", "message": message, "retry_after": wait}, status=429
            )
        else:
            response = render(
                request, "429.html", {"message": message, "seconds": wait}, status=429
            )
        response["Retry-After"] = str(wait)
        return response
