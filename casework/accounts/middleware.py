"""Idle timeout and absolute session lifetime.

The session is refreshed at most once a minute, so ordinary page views cost no session write.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from casework.audit.log import record

STARTED = "cw_started"
SEEN = "cw_seen"
REFRESH_EVERY = 60


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            session = request.session
            started = session.get(STARTED)
            seen = session.get(SEEN)
            if started is None or seen is None:
                session[STARTED] = session[SEEN] = now
                session.set_expiry(settings.CASEWORK_SESSION_IDLE_SECONDS)
            elif (
                now - started > settings.CASEWORK_SESSION_ABSOLUTE_SECONDS
                or now - seen > settings.CASEWORK_SESSION_IDLE_SECONDS
            ):
                record("accounts.session_expired", by=user, target=user)
                logout(request)
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {"code": "session_expired", "message": _("Your session has expired.")},
                        status=401,
                    )
                return redirect(settings.LOGIN_URL)
            elif now - seen > REFRESH_EVERY:
                session[SEEN] = now
                session.set_expiry(settings.CASEWORK_SESSION_IDLE_SECONDS)
        return self.get_response(request)
