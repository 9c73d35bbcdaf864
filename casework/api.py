"""The JSON API under /api/v1. Each app adds its router; all share auth and error handling.

Errors are JSON objects with a machine `code` and a translated `message` (and `fields` for
per-field problems). A case the caller may not see is a 404, exactly as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from casework.accounts import agency_settings_api
from casework.accounts.tokens import API_AUTH
from casework.assessments import api as assessments_api
from casework.attributes import api as attributes_api
from casework.cases import api as cases_api
from casework.cases import person_api, screening_api, workflow_api
from casework.core import outage
from casework.core.errors import CaseworkError, Conflict, PreconditionFailed
from casework.feedback import api as feedback_api
from casework.indicators import api as indicators_api
from casework.indicators import consortium_api, frozen_api
from casework.indicators import gap_api as indicators_gap_api
from casework.interchange import api as interchange_api
from casework.plans import api as plans_api
from casework.privacy import api as privacy_api
from casework.reference import api as reference_api
from casework.referrals import api as referrals_api
from casework.supervision import api as supervision_api
from casework.worklist import api as worklist_api

api = NinjaAPI(
    title="Casework API",
    version="1",
    urls_namespace="api",
    auth=API_AUTH,
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
    if isinstance(error, Conflict) and "If-Match" in request.headers:
        # The version the client sent was current when checked, but another write won the race
        # before this one reached the row: for the client, the same failed precondition.
        error = PreconditionFailed(error.message)
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


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def _database_fault(request: HttpRequest, error: Exception) -> HttpResponse:
    """The database cannot be reached or is busy: 503 with Retry-After, as everywhere else."""
    kind = outage.fault_kind(error)
    if kind is None:
        raise error
    return outage.answer(request, error, kind)


for prefix, router in [
    # Fixed paths before "/cases/{case_id}", which would take "/cases/screenings" for a case.
    ("/cases", screening_api.router),
    ("/cases", cases_api.router),
    ("/cases", workflow_api.router),
    ("/persons", person_api.router),
    ("/reference", reference_api.router),
    ("/tasks", worklist_api.router),
    ("/assessments", assessments_api.router),
    ("/plans", plans_api.router),
    ("/referrals", referrals_api.router),
    ("/feedback", feedback_api.router),
    ("/indicators/service-gaps", indicators_gap_api.router),
    ("/indicators/frozen", frozen_api.router),
    ("/indicators/consortium", consortium_api.router),
    ("/supervision", supervision_api.router),
    ("/indicators", indicators_api.router),
    ("/interchange", interchange_api.router),
    ("/privacy", privacy_api.router),
    ("/settings", agency_settings_api.router),
    ("/attributes", attributes_api.router),
]:
    api.add_router(prefix, router)
