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

from . import matrix

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


# --- The API matrix: real ids, valid bodies, the right ETags --------------------------------------

EVERYONE = ["amina", "sam", "omar", "olga", "paul", "mei", "priya", "adam", "xena", "dana", "rhea"]
CASE_READERS = {"amina", "sam", "paul"}  # amina's case: her, her supervisor, the manager (reads)
CASE_WRITERS = {"amina", "sam"}

# Who may call an operation on amina's objects, when it is not "the case's readers (GET) or
# writers": everyone else must get 404.
ALLOWED: dict[tuple[str, str], set[str]] = {
    # The supervisor of the case's team decides.
    ("post", "/api/v1/cases/{case_id}/closures/{closure_id}/decision"): {"sam"},
    ("post", "/api/v1/cases/{case_id}/reassign"): {"sam"},
    ("post", "/api/v1/persons/duplicates/{candidate_id}/dismiss"): {"sam"},
    ("post", "/api/v1/persons/merges/{merge_id}/unmerge"): {"sam"},
    ("post", "/api/v1/persons/{person_id}/merge"): {"sam"},
    ("post", "/api/v1/plans/{plan_id}/decision"): {"sam"},
    ("post", "/api/v1/plans/{plan_id}/matches/{match_id}"): {"sam"},
    # Spot checks of North's plans: the supervisor who drew the sample and the agency's M&E officer.
    ("get", "/api/v1/plans/spot-checks/samples/{sample_id}"): {"sam", "mei"},
    ("get", "/api/v1/plans/spot-checks/{check_id}"): {"sam", "mei"},
    ("post", "/api/v1/plans/spot-checks/{check_id}"): {"sam", "mei"},
    # The receiving agency's supervisor answers a transfer.
    ("post", "/api/v1/cases/transfers/{transfer_id}/decision"): {"rhea"},
    # The partner answers the referral sent to her organisation.
    ("get", "/api/v1/referrals/received/{referral_id}"): {"priya"},
    ("post", "/api/v1/referrals/{referral_id}/status"): {"amina", "sam", "priya"},
    # A notification is its addressee's; an import run its importer's.
    ("post", "/api/v1/tasks/notifications/{notification_id}/read"): {"amina"},
    ("get", "/api/v1/interchange/imports/{run_id}"): {"paul"},
    # An export with names is its maker's alone (not even his agency's officer downloads it).
    ("get", "/api/v1/interchange/exports/{export_id}/file"): {"paul"},
    # The agency's questionnaires and the directory are the administrator's to change.
    ("get", "/api/v1/assessments/questionnaires/{questionnaire_id}"): {"adam"},
    ("post", "/api/v1/assessments/questionnaires/{questionnaire_id}/active"): {"adam"},
    ("post", "/api/v1/assessments/questionnaires/{questionnaire_id}/questions"): {"adam"},
    ("post", "/api/v1/assessments/questionnaires/{questionnaire_id}/versions"): {"adam"},
    ("put", "/api/v1/referrals/organisations/{code}"): {"adam"},
    ("post", "/api/v1/referrals/organisations/{code}/services"): {"adam"},
    # A supervision session is seen by its supervisor and its caseworkers, added to by its
    # supervisor; a case's sessions by those who may see the case and were in them (not the
    # programme manager, who reads the case but takes no part in supervision).
    ("get", "/api/v1/supervision/sessions/{session_id}"): {"amina", "sam"},
    ("post", "/api/v1/supervision/sessions/{session_id}/cases"): {"sam"},
    ("post", "/api/v1/supervision/sessions/{session_id}/actions"): {"sam"},
    ("get", "/api/v1/supervision/cases/{case_id}/sessions"): {"amina", "sam"},
    # The agency's own attributes are its administrator's to define (a case's values follow
    # the case: its readers and writers).
    ("get", "/api/v1/attributes/{attribute_id}"): {"adam"},
    ("put", "/api/v1/attributes/{attribute_id}"): {"adam"},
    ("post", "/api/v1/attributes/{attribute_id}/choices"): {"adam"},
    # The agency's settings are its administrator's.
    ("put", "/api/v1/settings/{key}"): {"adam"},
    ("put", "/api/v1/referrals/organisations/{code}/services/{service_id}"): {"adam"},
    # A frozen report is read by those of its agency who read the indicators.
    ("get", "/api/v1/indicators/frozen/{frozen_id}"): {"sam", "olga", "paul", "mei"},
    ("get", "/api/v1/indicators/frozen/{frozen_id}/file"): {"sam", "olga", "paul", "mei"},
    ("get", "/api/v1/indicators/frozen/{frozen_id}/comparison"): {"sam", "olga", "paul", "mei"},
    # The directory of services is read by every case-management user, of any agency.
    ("get", "/api/v1/referrals/organisations/{code}"): {
        "amina",
        "sam",
        "omar",
        "olga",
        "paul",
        "adam",
        "xena",
        "rhea",
    },
}


def allowed(method: str, template: str) -> set[str]:
    if (method, template) in ALLOWED:
        return ALLOWED[method, template]
    return CASE_READERS if method == "get" else CASE_WRITERS


def reached(status: int) -> bool:
    """Past the gate: a success, or an answer about the request or the record's state. Not 404
    (refused), not 422 (the body's shape), not 428/412 (the matrix's ETag), not a server error."""
    return status < 500 and status not in (404, 405, 412, 422, 428)


def test_every_api_operation_on_an_object_answers_only_those_who_may_call_it(
    world: matrix.World,
) -> None:
    """Each user × each operation that names an object of amina's, with real ids, a valid body
    and the record's ETag: those allowed get past the gate, everyone else the same 404."""
    clients = {name: _client(world.users[name]) for name in EVERYONE}
    readers = [clients[name] for name in ("amina", "sam", "priya", "adam", "paul", "rhea")]
    failures = []
    covered = 0
    for op in matrix.operations(world):
        if not op.params:
            continue
        path, kinds = matrix.fill_api(op.template, world)
        etag = matrix.etag_for(path, kinds, world, readers) if op.if_match else None
        path += op.query
        permitted = allowed(op.method, op.template)
        for name in EVERYONE:
            status = matrix.send(clients[name], op, path, etag)
            covered += 1
            if name in permitted and not reached(status):
                failures.append(f"{name} {op.method.upper()} {op.template} → {status} (allowed)")
            elif name not in permitted and status != 404:
                failures.append(f"{name} {op.method.upper()} {op.template} → {status} (not 404)")
    assert covered >= len(EVERYONE) * 50
    assert not failures, "\n".join(failures)


def test_every_api_path_parameter_names_an_object_of_the_world(world: matrix.World) -> None:
    """A new route whose parameter the matrix does not know fails here (and in the matrix)."""
    for op in matrix.operations(world):
        matrix.fill_api(op.template, world)


def test_an_unknown_path_parameter_fails_the_matrix(world: matrix.World) -> None:
    with pytest.raises(matrix.UnknownParameter):
        matrix.fill_api("/api/v1/things/{thing_id}", world)


def test_bodies_are_built_from_the_request_schemas(world: matrix.World) -> None:
    bodies = {(op.method, op.template): op.body for op in matrix.operations(world)}
    note = bodies["post", "/api/v1/cases/{case_id}/notes"]
    assert note is not None and set(note) == {"text", "contact_type"}
    assert note["contact_type"] == "home_visit"  # the first choice of ContactType


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
