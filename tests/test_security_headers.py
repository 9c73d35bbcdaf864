"""Every HTML page carries the project's security headers and its strict CSP, exactly.

The routes are read from the URL resolver (as the permission matrix does), so a new screen is
covered without editing this file. Each is fetched by amina, signed in, with her case's id (and
its person's) where the route takes one; pages that answer 404 or 405 are HTML too and are held to
the same headers. Error pages (a refused form, a 404, a 500) are checked on their own below.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

SKIP_PREFIXES = ("admin/", "i18n/", "api/")

# The project's policy, written out (casework/core/middleware.py and config/settings.py): a copy
# on purpose, so that loosening either one turns this test red.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _html_routes() -> list[str]:
    return sorted(
        {r for r in _walk(get_resolver().url_patterns) if not r.startswith(SKIP_PREFIXES + ("^",))}
    )


def _fill(route: str, case_pk: int, person_pk: int) -> str:
    def replace(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        if name in ("case_pk", "case_id") or (name == "pk" and route.startswith("cases/<int:pk>")):
            return str(case_pk)
        if name in ("person_pk", "person_id") or (
            name == "pk" and route.startswith("persons/<int:pk>")
        ):
            return str(person_pk)
        return "1" if kind in ("int", None) else "x"

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", replace, route)


def _problems(path: str, response: HttpResponseBase) -> list[str]:
    found = []
    for name, value in HEADERS.items():
        if response.headers.get(name) != value:
            found.append(f"{path}: {name} = {response.headers.get(name)!r}")
    csp = response.headers.get("Content-Security-Policy", "")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        found.append(f"{path}: the CSP allows inline script or eval")
    body = getattr(response, "content", b"").decode(errors="replace")
    if INLINE_SCRIPT.search(body):
        found.append(f"{path}: an inline <script> (the CSP blocks it)")
    if INLINE_HANDLER.search(body):
        found.append(f"{path}: an inline event handler (the CSP blocks it)")
    return found


def _is_html(response: HttpResponseBase) -> bool:
    return response.headers.get("Content-Type", "").startswith("text/html")


def test_the_expected_policy_is_the_one_the_middleware_sends() -> None:
    from casework.core import middleware

    assert middleware.CONTENT_SECURITY_POLICY == CSP
    assert middleware.PERMISSIONS_POLICY == HEADERS["Permissions-Policy"]


@pytest.fixture
def staff(amina: Any, sam: Any, paul: Any, mei: Any, adam: Any, dana: Any) -> list[Any]:
    """A caseworker first ("signed in as a caseworker"), then each role that has screens of its own."""
    return [amina, sam, paul, mei, adam, dana]


def test_every_html_page_carries_the_security_headers(staff: list[Any], case: Any) -> None:
    routes = _html_routes()
    failures: list[str] = []
    reached: set[str] = set()
    for user in staff:
        client = Client()
        client.force_login(user)
        for route in routes:
            path = _fill(route, case.pk, case.person_id)
            response = client.get(path)
            where = f"{user.username} GET {path} ({response.status_code})"
            if not _is_html(response):
                # A redirect or a download: what every answer gets still applies.
                for name in ("Content-Security-Policy", "X-Content-Type-Options", "Cache-Control"):
                    if response.headers.get(name) != HEADERS[name]:
                        failures.append(f"{where}: {name} = {response.headers.get(name)!r}")
                continue
            if response.status_code == 200:
                reached.add(route)
            failures += _problems(where, response)
    assert not failures, "\n".join(failures)
    # The walk reached real pages, not only refusals and redirects: the case's own screens all
    # answer amina with a page, and so do a good share of the rest (others need ids of objects
    # that the walk does not make, or take POST only; their 404/405 pages were checked above).
    assert "cases/<int:pk>/" in reached
    assert len(reached) * 3 > len(routes), sorted(set(routes) - reached)


def test_the_sign_in_page_carries_them_too() -> None:
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    assert not _problems("/accounts/login/", response)


def test_a_refused_form_and_a_404_carry_them(login: Any, amina: Any, case: Any) -> None:
    client = login(amina)
    refused = client.post(f"/cases/{case.pk}/notes/add/", {})
    assert refused.status_code in (200, 400, 422)
    assert _is_html(refused)
    assert not _problems("refused note form", refused)
    missing = client.get("/cases/999999999/")
    assert missing.status_code == 404
    assert not _problems("404", missing)


def test_a_server_error_page_carries_them(
    login: Any, amina: Any, case: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casework.cases import views

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "render", broken)
    client = login(amina)
    client.raise_request_exception = False
    response = client.get(f"/cases/{case.pk}/")
    assert response.status_code == 500
    assert not _problems("500", response)
