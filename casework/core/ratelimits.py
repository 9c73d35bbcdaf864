"""Rate limits: per user (or token) and per address, on sign-in, password reset, the second
factor, the API, exports and uploads. Over a limit the answer is 429 with `Retry-After`, at once:
no request worker ever sleeps.

Each rule counts hits in fixed windows in one table every process shares (`RateCounter`), with
one atomic statement per rule (INSERT … ON CONFLICT DO UPDATE … RETURNING), so parallel requests
on several servers are each counted once and a window lasts exactly its length (a cache's
read-then-write increment would undercount bursts and stretch windows: decision 0010). Keys are
digests: no username, e-mail or address is stored. The rules are data (`RULES`); their rates can
be changed with `CASEWORK_RATE_LIMITS = {"api": "1200/m", …}`, and
`CASEWORK_RATE_LIMITS_ENABLED` switches them off (never in production).

Sign-in: the per-account rule counts failed sign-ins only (`user_login_failed`), never the real
user's good ones, and a browser that signed in to the account before (a signed "known device"
cookie) is not held by it; django-axes pauses one account from one address, longer each time
(casework/accounts/throttle.py).
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core import signing
from django.db import connection
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from casework.audit.middleware import client_ip

KNOWN_DEVICE_COOKIE = "cw_known"
KNOWN_DEVICE_SALT = "casework.known-device"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")


def parse_rate(rate: str) -> tuple[int, int]:
    """ "30/h" → (30, 3600); "60/10m" → (60, 600)."""
    found = _RATE.match(rate.strip())
    if found is None:
        raise ValueError(f"A rate looks like 30/h or 60/10m, not {rate!r}.")
    count, multiplier, unit = found.groups()
    return int(count), int(multiplier or 1) * _PERIODS[unit]


def normalised(text: str) -> str:
    """As Django compares usernames and e-mail addresses: NFKC, then case-folded."""
    return unicodedata.normalize("NFKC", text).strip().casefold()[:254]


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


# --- who is counted -------------------------------------------------------------------------------


def _ip(request: HttpRequest) -> str:
    return "ip:" + client_ip(request)


def _principal(request: HttpRequest) -> str:
    """The caller: the signed-in user if there is one (an extra bearer header changes nothing),
    else the bearer token (by its digest; unknown tokens are also counted by address), else the
    address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return "token:" + _digest(header[7:].strip())
    return _ip(request)


def _posted(field: str) -> Callable[[HttpRequest], str]:
    def key(request: HttpRequest) -> str:
        return f"{field}:" + normalised(str(request.POST.get(field, "")))

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
    key: Callable[[HttpRequest], str]
    rate: str
    applies: Callable[[HttpRequest], bool] = _always
    counts: bool = True  # False: only checked here; something else counts (sign-in failures)


POST = frozenset({"POST"})
ANY = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SIGN_IN = re.compile(r"^/accounts/login/$")
_UPLOADS = (
    r"^/(imports/|questionnaires/(\d+/)?upload/|services/import/|api/v1/interchange/imports"
    r"|api/v1/assessments/questionnaires(/new|/\d+/versions)?|api/v1/referrals/services/import)$"
)


def _unknown_device(request: HttpRequest) -> bool:
    """Not a browser that signed in to this account before (its signed cookie names it)."""
    cookie = request.COOKIES.get(KNOWN_DEVICE_COOKIE, "")
    if not cookie:
        return True
    try:
        known = signing.loads(cookie, salt=KNOWN_DEVICE_SALT, max_age=365 * 86400)
    except signing.BadSignature:
        return True
    return known != _digest(normalised(str(request.POST.get("username", ""))))


RULES = [
    Rule("sign_in_address", SIGN_IN, POST, _ip, "60/10m"),
    Rule("sign_in_account", SIGN_IN, POST, _posted("username"), "30/h", _unknown_device, False),
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
BY_NAME = {rule.name: rule for rule in RULES}


def _rate(rule: Rule) -> tuple[int, int]:
    return parse_rate(str(getattr(settings, "CASEWORK_RATE_LIMITS", {}).get(rule.name, rule.rate)))


# --- counting ------------------------------------------------------------------------------------

_HIT = """
INSERT INTO core_ratecounter (key, window_ends, hits) VALUES (%s, %s, %s)
ON CONFLICT (key) DO UPDATE SET
  hits = CASE WHEN core_ratecounter.window_ends = excluded.window_ends
              THEN core_ratecounter.hits + excluded.hits ELSE excluded.hits END,
  window_ends = excluded.window_ends
RETURNING hits, window_ends
"""


def _window(period: int, now: float) -> int:
    return (int(now) // period + 1) * period


def hit(rule: Rule, who: str, *, count: int = 1) -> tuple[int, int]:
    """Count `count` hits of `who` under `rule` now: (hits in this window, seconds left)."""
    limit, period = _rate(rule)
    now = time.time()
    ends = _window(period, now)
    key = _digest(rule.name, str(limit), str(period), who)
    with connection.cursor() as cursor:
        cursor.execute(_HIT, [key, ends, count])
        hits, window_ends = cursor.fetchone()
    return int(hits), max(1, int(window_ends - now))


def over_limit(request: HttpRequest) -> tuple[Rule, int] | None:
    """The first rule the request goes over, with the seconds until its window ends; counts the
    request against every counting rule it falls under."""
    if not getattr(settings, "CASEWORK_RATE_LIMITS_ENABLED", True):
        return None
    method = request.method or "GET"
    path = request.path_info
    for rule in RULES:
        if method not in rule.methods or not rule.path.match(path) or not rule.applies(request):
            continue
        hits, left = hit(rule, rule.key(request), count=1 if rule.counts else 0)
        limit, _period = _rate(rule)
        if hits > limit or (not rule.counts and hits >= limit):
            return rule, left
    return None


@receiver(user_login_failed)
def _count_failed_sign_in(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    """The per-account sign-in rule counts failures, wherever they happen."""
    if request is None or not getattr(settings, "CASEWORK_RATE_LIMITS_ENABLED", True):
        return
    rule = BY_NAME["sign_in_account"]
    hit(rule, "username:" + normalised(str(credentials.get("username") or "")))


def remember_device(response: HttpResponse, username: str) -> None:
    """After a good sign-in: this browser is known for this account (signed, a year)."""
    response.set_cookie(
        KNOWN_DEVICE_COOKIE,
        signing.dumps(_digest(normalised(username)), salt=KNOWN_DEVICE_SALT),
        max_age=365 * 86400,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def forget_old_counters(now: float | None = None) -> int:
    """Delete counters whose window ended more than a day ago (the worker, daily)."""
    from casework.core.models import RateCounter

    cutoff = int((now or time.time()) - 86400)
    return RateCounter.objects.filter(window_ends__lt=cutoff).delete()[0]


class RateLimitMiddleware:
    """Answer 429 with Retry-After when a request goes over a rule (after authentication, so a
    signed-in user is counted as themself, not as their office's shared address)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = over_limit(request)
        if found is None:
            return self.get_response(request)
        _rule, wait = found
        message = _("Too many requests. Try again in %(seconds)d seconds.") % {"seconds": wait}
        response: HttpResponse
        if request.path_info.startswith("/api/"):
            response = JsonResponse(
                {"code": "rate_limited", "message": message, "retry_after": wait}, status=429
            )
        else:
            response = render(
                request, "429.html", {"message": message, "seconds": wait}, status=429
            )
        response["Retry-After"] = str(wait)
        return response
