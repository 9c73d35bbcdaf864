"""Idle timeout and absolute session lifetime; the hold on users who owe a second factor.

The session is refreshed at most once a minute, so ordinary page views cost no session write.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from casework.accounts.mfa import mfa_step_url
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


class MFARequiredMiddleware:
    """Hold a user who must use two-factor sign-in at the second step until they pass it.

    Until `request.user.is_verified()`, such a user reaches only the two-factor pages, sign-out,
    the language switch and static files; the API answers 401 `mfa_required`. Users whose role
    and agency do not require two-factor sign-in are not touched. (API tokens are not sessions:
    they are checked by the API itself, after this middleware.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not self._open_to_unverified(request.path)
            # is_verified() first: it costs no query (OTPMiddleware has loaded the device), while
            # must_use_mfa loads the agency.
            and not user.is_verified()
            and user.must_use_mfa
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "mfa_required",
                        "message": _("Confirm your sign-in with your two-factor code first."),
                    },
                    status=401,
                )
            next_url = request.get_full_path() if request.method == "GET" else ""
            return redirect(mfa_step_url(user, next_url))
        return self.get_response(request)

    @staticmethod
    def _open_to_unverified(path: str) -> bool:
        if path.startswith(settings.STATIC_URL):
            return True
        return path in {
            reverse("accounts:mfa_enrol"),
            reverse("accounts:mfa_verify"),
            reverse("accounts:logout"),
            reverse("set_language"),
        }
