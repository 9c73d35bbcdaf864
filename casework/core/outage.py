"""When the database cannot answer: 503 with Retry-After, never a bare "Server Error (500)".

Two faults, told apart by `fault_kind`:
- "unavailable": the database cannot be reached (PostgreSQL refusing or dropping connections,
  SQLite unable to open its file);
- "busy": a write could not get the lock in time (SQLite "database is locked" after its busy
  timeout, CASEWORK_SQLITE_BUSY_SECONDS; PostgreSQL lock_not_available).

`OutageMiddleware` connects before anything below it touches the database, so an outage is
answered at once, and turns a fault escaping a view into the same answer. The API's own exception
handler (casework/api.py) answers faults inside Django Ninja's views with `answer` too, and
`server_error` (the project's handler500) turns a fault escaping a middleware below this one
(a rate-limit counter, a session save) into it as well. The API answers JSON
`{"code": "unavailable"|"busy", "message": …, "retry_after": N}`; a screen answers a translated
page that needs no database (templates/503.html) and, after a POST, shows what the user typed
(never a password or the CSRF token) so it can be copied and sent again.

A fault is logged once per interval and kind, with the number of further ones, never one
traceback per request; no path, value or exception message goes into the log.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import SuspiciousOperation
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

# Seconds a client is told to wait before trying again, by kind.
RETRY_AFTER = {"unavailable": 30, "busy": 5}
# One log record per kind per this many seconds.
LOG_INTERVAL_SECONDS = 30
# Posted fields never shown again: the CSRF token, and anything that looks like a secret.
_HIDDEN = ("csrfmiddlewaretoken",)
_SECRET_WORDS = ("password", "passphrase", "secret", "token", "otp")
# SQLite schema errors are OperationalErrors too, but they are bugs, not outages.
_NOT_FAULTS = ("no such table", "no such column", "syntax error")
# PostgreSQL SQLSTATEs for "could not get the lock in time".
_BUSY_SQLSTATES = {"55P03"}

DatabaseFault = (OperationalError, InterfaceError)


def fault_kind(error: BaseException) -> str | None:
    """ "busy", "unavailable", or None for anything that is not a database fault."""
    if isinstance(error, InterfaceError):
        return "unavailable"
    if not isinstance(error, OperationalError):
        return None
    text = str(error).lower()
    if any(text.startswith(prefix) for prefix in _NOT_FAULTS):
        return None
    if "is locked" in text or getattr(error.__cause__, "sqlstate", None) in _BUSY_SQLSTATES:
        return "busy"
    return "unavailable"


@dataclass
class _Window:
    started: float = 0.0
    suppressed: int = 0


@dataclass
class FaultLog:
    """Logs the first fault of each kind in an interval, and how many it did not log before."""

    interval: float
    windows: dict[str, _Window] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def report(self, kind: str, error: BaseException, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self.lock:
            window = self.windows.setdefault(kind, _Window(started=-self.interval))
            if now - window.started < self.interval:
                window.suppressed += 1
                return
            suppressed, window.suppressed, window.started = window.suppressed, 0, now
        logger.warning(
            "Database %s (%s): answering 503; %d more since the previous record were not logged.",
            kind,
            type(error).__name__,
            suppressed,
        )

    def reset(self) -> None:
        with self.lock:
            self.windows.clear()


fault_log = FaultLog(interval=LOG_INTERVAL_SECONDS)


def _message(kind: str, *, write: bool) -> str:
    if kind == "busy":
        if write:
            return _("The database is busy and your change was not saved. Try again in a moment.")
        return _("The database is busy. Try again in a moment.")
    if write:
        return _("The database cannot be reached and your change was not saved. Try again later.")
    return _("The database cannot be reached. Try again later.")


def _is_secret(name: str) -> bool:
    folded = name.casefold()
    return folded in _HIDDEN or any(word in folded for word in _SECRET_WORDS)


def _typed(request: HttpRequest) -> list[tuple[str, list[str]]]:
    """What the user posted, field by field, without the CSRF token or anything secret."""
    if request.method != "POST":
        return []
    try:
        posted = request.POST
    except (SuspiciousOperation, MultiPartParserError, OSError):
        return []  # an unreadable or oversized body is simply not shown again
    return [(name, posted.getlist(name)) for name in posted if not _is_secret(name)]


def answer(request: HttpRequest, error: BaseException, kind: str) -> HttpResponse:
    """The 503 for a database fault: JSON on the API, a page needing no database on screens."""
    fault_log.report(kind, error)
    wait = RETRY_AFTER[kind]
    with translation.override(translation.get_language_from_request(request)):
        message = _message(kind, write=request.method not in ("GET", "HEAD", "OPTIONS"))
        response: HttpResponse
        if request.path_info.startswith("/api/"):
            response = JsonResponse(
                {"code": kind, "message": message, "retry_after": wait}, status=503
            )
        else:
            # No request in the context: the context processors (the signed-in user's menu,
            # messages kept in the session) would query the database that just failed.
            page = render_to_string(
                "503.html",
                {
                    "kind": kind,
                    "message": message,
                    "seconds": wait,
                    "typed": _typed(request),
                    "path": request.path,
                },
            )
            response = HttpResponse(page, status=503)
    response["Retry-After"] = str(wait)
    # Logged above, once per interval: Django must not add a traceback for each request.
    setattr(response, "_has_been_logged", True)  # noqa: B010 - Django's own private flag
    return response


class OutageMiddleware:
    """Placed above every middleware that reads the session, the user or the rate counters."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            connection.ensure_connection()
        except DatabaseFault as error:
            kind = fault_kind(error)
            if kind is None:
                raise
            return answer(request, error, kind)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, error: Exception) -> HttpResponse | None:
        kind = fault_kind(error)
        return None if kind is None else answer(request, error, kind)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database fault raised in a middleware below OutageMiddleware gets the same
    503; anything else the usual 500 page."""
    error = sys.exc_info()[1]
    kind = fault_kind(error) if error is not None else None
    if error is None or kind is None:
        return defaults.server_error(request)
    return answer(request, error, kind)
