"""The JSON API under /api/v1. Each app adds its router; all share auth and error handling.

Errors are JSON objects with a machine `code` and a translated `message` (and `fields` for
per-field problems). A case the caller may not see is a 404, exactly as if it did not exist.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from casework.core.errors import CaseworkError


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from casework.accounts.tokens import user_for_token

        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="Casework API",
    version="1",
    urls_namespace="api",
    auth=[SessionAuth(csrf=True), TokenAuth()],
    description=(
        "Case management for humanitarian and social-service organisations. Every case endpoint "
        "answers 404 for a case the caller may not see. Names are never sent in URLs: search "
        "with POST."
    ),
)


def _error(request: HttpRequest, status: int, payload: dict[str, Any]) -> HttpResponse:
    return api.create_response(request, payload, status=status)


@api.exception_handler(CaseworkError)
def _casework_error(request: HttpRequest, error: CaseworkError) -> HttpResponse:
    return _error(request, error.status, error.as_dict())


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return _error(request, 404, {"code": "not_found", "message": _("Not found.")})


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for item in error.errors:
        location = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body",))
        fields.setdefault(location or "body", []).append(str(item.get("msg", "")))
    return _error(
        request,
        422,
        {
            "code": "invalid_input",
            "message": _("Some values are missing or invalid."),
            "fields": fields,
        },
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if error.status_code == 403:
        payload = {"code": "forbidden", "message": _("Refused (missing or invalid CSRF token).")}
    else:
        payload = {"code": "error", "message": str(error)}
    return _error(request, error.status_code, payload)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return _error(
        request, 401, {"code": "not_authenticated", "message": _("Sign in or send a valid token.")}
    )


def _register_routers() -> None:
    from casework.cases.api import router as cases_router
    from casework.reference.api import router as reference_router

    api.add_router("/cases", cases_router)
    api.add_router("/reference", reference_router)
    for prefix, module in [
        ("/tasks", "casework.worklist.api"),
        ("/assessments", "casework.assessments.api"),
        ("/plans", "casework.plans.api"),
        ("/referrals", "casework.referrals.api"),
        ("/feedback", "casework.feedback.api"),
        ("/indicators", "casework.indicators.api"),
        ("/interchange", "casework.interchange.api"),
    ]:
        api.add_router(prefix, importlib.import_module(module).router)


_register_routers()
