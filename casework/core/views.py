"""Plumbing every app's HTML views share: the form → service → redirect shape.

A view loads its record through the app's gate, then hands a `ServiceForm` and the service call to
`run_service_form`, which validates, calls, and either redirects with a message or renders the form
again with the refusal on it (HTTP 400, so a script or a test sees the failure too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from casework.core.errors import CaseworkError
from casework.core.forms import ServiceForm

T = TypeVar("T")


def then_redirect(to: str, **kwargs: int | str) -> Callable[[object], HttpResponse]:
    """A `redirect_to` for `run_service_form` that goes to a fixed page whatever the result."""
    url = reverse(to, kwargs=kwargs)
    return lambda _result: HttpResponseRedirect(url)


def render_form(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    form: ServiceForm | None = None,
    *,
    invalid: bool | None = None,
) -> HttpResponse:
    """Render a form page: 400 when it was refused (`invalid`, or else the form, given or in
    `context["form"]`, has errors), so a script or a test sees the failure as well as a person."""
    if invalid is None:
        form = form if form is not None else context.get("form")
        invalid = form is not None and bool(form.errors)
    return render(request, template, context, status=400 if invalid else 200)


def run_service_form(
    request: HttpRequest,
    form: ServiceForm,
    call: Callable[[dict[str, Any]], T],
    *,
    success: str | Callable[[T], str] | None,
    redirect_to: Callable[[T], HttpResponse],
    template: str,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """Validate `form`, hand its cleaned data to `call` (a service), then redirect or re-render.

    A service's FieldErrors land next to their fields, any other CaseworkError at the top of the
    form, and nothing is changed. `success` is the message shown after the redirect (or makes it
    from the service's result; None shows none).
    """
    if request.method == "POST" and form.is_valid():
        try:
            result = call(form.cleaned_data)
        except CaseworkError as error:
            form.add_refusal(error)
        else:
            if success is not None:
                messages.success(request, success(result) if callable(success) else success)
            return redirect_to(result)
    return render_form(request, template, {**(context or {}), "form": form}, form)
