"""The permission matrix, walked: every URL and every API operation, for every role.

New screens and endpoints are covered without editing this file: URLs are read from the URL
resolver and API operations from the OpenAPI schema. For every route that takes a case, each
user who may not see amina's case gets 404 — the same answer as for a case that does not exist.
Every other route must not show amina's case to them either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from casework.api import api

OUTSIDERS = ["omar", "olga", "xena", "mei", "priya", "adam", "dana"]
SKIP_PREFIXES = ("admin/", "i18n/", "api/", "accounts/")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _html_routes() -> list[str]:
    routes = []
    for route, _pattern in _walk(get_resolver().url_patterns):
        if route.startswith(SKIP_PREFIXES) or route.startswith("^"):
            continue
        routes.append(route)
    return sorted(set(routes))


def _api_operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    prefix = "/api/v1"
    operations = []
    for path, methods in schema["paths"].items():
        for method in methods:
            if method in ("get", "post", "put", "patch", "delete"):
                operations.append((method, path if path.startswith(prefix) else prefix + path))
    return sorted(operations)


def _fill_html(route: str, case_pk: int, person_pk: int = 0) -> tuple[str, bool]:
    takes_case = False

    def replace(match: re.Match[str]) -> str:
        nonlocal takes_case
        name = match.group(2)
        # `pk` names a case only in /cases/<pk>/…; elsewhere (an organisation, a task) it does not.
        if name in ("case_pk", "case_id") or (name == "pk" and route.startswith("cases/<int:pk>")):
            takes_case = True
            return str(case_pk)
        # A person is seen through their cases: /persons/<pk>/… answers as the case does.
        if name == "pk" and route.startswith("persons/<int:pk>"):
            takes_case = True
            return str(person_pk)
        return "1" if match.group(1) in ("int", None) else "x"

    path = re.sub(r"<(?:(\w+):)?(\w+)>", replace, route)
    return "/" + path, takes_case


def _fill_api(path: str, case_pk: int, person_pk: int = 0) -> tuple[str, bool]:
    takes_case = "{case_id}" in path or "{person_id}" in path
    path = path.replace("{case_id}", str(case_pk)).replace("{person_id}", str(person_pk))
    return re.sub(r"\{(\w+)\}", "1", path), takes_case


@pytest.fixture
def everyone(
    amina: Any,
    sam: Any,
    omar: Any,
    olga: Any,
    paul: Any,
    mei: Any,
    priya: Any,
    adam: Any,
    xena: Any,
    dana: Any,
) -> dict[str, Any]:
    return {u.username: u for u in (amina, sam, omar, olga, paul, mei, priya, adam, xena, dana)}


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_case_route_answers_404_to_those_who_may_not_see_the_case(
    everyone: dict[str, Any], case: Any
) -> None:
    failures = []
    routes = _html_routes()
    assert any("<int:pk>" in route for route in routes)
    for username in OUTSIDERS:
        client = _client(everyone[username])
        for route in routes:
            path, takes_case = _fill_html(route, case.pk, case.person_id)
            if not takes_case:
                continue
            for method in ("get", "post"):
                status = getattr(client, method)(path).status_code
                if status not in (404, 405):
                    failures.append(f"{username} {method.upper()} {path} → {status}")
    assert not failures, "\n".join(failures)


def test_every_case_api_operation_answers_404_to_those_who_may_not_see_the_case(
    everyone: dict[str, Any], case: Any
) -> None:
    failures = []
    operations = _api_operations()
    assert any("{case_id}" in path for _method, path in operations)
    for username in OUTSIDERS:
        client = _client(everyone[username])
        for method, template in operations:
            path, takes_case = _fill_api(template, case.pk, case.person_id)
            if not takes_case:
                continue
            response = (
                client.get(path)
                if method == "get"
                else getattr(client, method)(path, data="{}", content_type="application/json")
            )
            # 422: the body was refused before any case was looked up, which reveals nothing.
            if response.status_code not in (404, 422):
                failures.append(f"{username} {method.upper()} {template} → {response.status_code}")
    assert not failures, "\n".join(failures)


def test_no_list_or_search_shows_the_case_to_outsiders(everyone: dict[str, Any], case: Any) -> None:
    failures = []
    for username in OUTSIDERS:
        client = _client(everyone[username])
        for route in _html_routes():
            path, takes_case = _fill_html(route, case.pk, case.person_id)
            if takes_case:
                continue
            body = client.get(path).content.decode(errors="replace")
            if case.reference in body or "Traoré" in body:
                failures.append(f"{username} GET {path}")
        for method, template in _api_operations():
            path, takes_case = _fill_api(template, case.pk, case.person_id)
            if takes_case or method != "get" or "openapi" in path or path.endswith("/docs"):
                continue
            body = client.get(path).content.decode(errors="replace")
            if case.reference in body or "Traoré" in body:
                failures.append(f"{username} GET {path}")
        search = client.post(
            "/api/v1/cases/search", {"query": "Fatima Traoré"}, content_type="application/json"
        )
        if case.reference in search.content.decode():
            failures.append(f"{username} POST /api/v1/cases/search")
    assert not failures, "\n".join(failures)


def test_the_owner_and_the_supervisor_reach_the_case(everyone: dict[str, Any], case: Any) -> None:
    for username in ("amina", "sam"):
        client = _client(everyone[username])
        assert client.get(f"/cases/{case.pk}/").status_code == 200
        assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200


def test_the_programme_manager_reads_but_cannot_write(everyone: dict[str, Any], case: Any) -> None:
    client = _client(everyone["paul"])
    assert client.get(f"/cases/{case.pk}/").status_code == 200
    assert client.get(f"/cases/{case.pk}/notes/add/").status_code == 404
    body = client.get(f"/api/v1/cases/{case.pk}").json()
    assert "Fatima" not in str(body)


def test_an_anonymous_visitor_is_sent_to_sign_in_or_refused(case: Any) -> None:
    client = Client()
    for route in _html_routes():
        path, _takes_case = _fill_html(route, case.pk)
        status = client.get(path).status_code
        assert status in (302, 404, 405) or path.startswith("/accounts/"), path
    for method, template in _api_operations():
        path, _takes_case = _fill_api(template, case.pk)
        if "openapi" in path or path.endswith("/docs"):
            continue
        response = (
            client.get(path)
            if method == "get"
            else getattr(client, method)(path, data="{}", content_type="application/json")
        )
        status = response.status_code
        assert status in (401, 404, 422), f"{method} {path} → {status}"
