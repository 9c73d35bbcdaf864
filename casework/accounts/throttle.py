"""Sign-in back-off: a pause that grows, for one account from one address, instead of a hard lock.

django-axes counts the failures of each (username, address) pair. After
`CASEWORK_LOGIN_FAILURE_LIMIT` of them the pair waits `CASEWORK_LOGIN_BACKOFF_SECONDS`; each
further lock-out of the same pair within a day doubles the wait, up to
`CASEWORK_LOGIN_BACKOFF_MAX_SECONDS`; a successful sign-in forgets it all. Someone guessing from
elsewhere does not lock the person out at their own office (other pairs are untouched), and
guessing one account from many addresses is held by the per-account rate limit
(casework/core/ratelimits.py). Strikes are kept in the shared cache, so every server agrees.
"""

from __future__ import annotations

import datetime
import hashlib
import time
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest

from casework.audit.middleware import client_ip

STRIKES_TTL = 24 * 60 * 60


def _key(username: str, ip: str) -> str:
    pair = f"{username.strip().lower()}|{ip}".encode()
    return "cw:login-strikes:" + hashlib.sha256(pair).hexdigest()


def _username(request: HttpRequest) -> str:
    return str(request.POST.get("username", "")) if request.method == "POST" else ""


def _state(key: str) -> tuple[int, float]:
    """(lock-outs so far, until when the current one lasts, as a timestamp)."""
    found = cache.get(key)
    if isinstance(found, list | tuple) and len(found) == 2:
        return int(found[0]), float(found[1])
    return 0, 0.0


def strikes(request: HttpRequest) -> int:
    return _state(_key(_username(request), client_ip(request)))[0]


def cooloff(request: HttpRequest | None = None) -> datetime.timedelta:
    """How long the pair waits now: doubling with each lock-out (AXES_COOLOFF_TIME)."""
    base = settings.CASEWORK_LOGIN_BACKOFF_SECONDS
    ceiling = settings.CASEWORK_LOGIN_BACKOFF_MAX_SECONDS
    if request is None:
        return datetime.timedelta(seconds=ceiling)
    seconds = min(ceiling, base * 2 ** max(strikes(request) - 1, 0))
    return datetime.timedelta(seconds=seconds)


def wait_left(request: HttpRequest) -> int:
    """Seconds until the pair may try again (for Retry-After)."""
    from axes.models import AccessAttempt
    from django.utils import timezone

    last = (
        AccessAttempt.objects.filter(username=_username(request), ip_address=client_ip(request))
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    total = cooloff(request)
    if last is None:
        return int(total.total_seconds())
    return max(1, int((last + total - timezone.now()).total_seconds()))


@receiver(user_locked_out)
def _strike(sender: Any, request: HttpRequest, username: str, ip_address: str, **kw: Any) -> None:
    """A new lock-out of the pair doubles the next wait; tries during a lock-out do not (a person
    retrying does not make their own wait longer and longer)."""
    key = _key(username or "", ip_address or "")
    count, until = _state(key)
    now = time.time()
    if now < until:
        return
    count += 1
    wait = min(
        settings.CASEWORK_LOGIN_BACKOFF_MAX_SECONDS,
        settings.CASEWORK_LOGIN_BACKOFF_SECONDS * 2 ** (count - 1),
    )
    cache.set(key, (count, now + wait), STRIKES_TTL)


@receiver(user_logged_in)
def _forget(sender: Any, request: HttpRequest | None, user: Any, **kw: Any) -> None:
    if request is not None:
        cache.delete(_key(user.get_username(), client_ip(request)))
