"""The permission matrix of the screens, and of the API's lists and creations: every role (and
users of another team, agency and a partner) × every URL pattern and every operation that names
no object, with real ids of the matrix's world (tests/matrix.py).

Who may use what is written out below, route by route, from the roles' duties — not read from
the code's own role tables, so that a gate that opens or closes by mistake turns this red. Allowed
users get past the gate: a page (or a redirect) for GET; for POST, the page's own form submitted
untouched is answered with a redirect (done) or its errors (400), never 404. Everyone else gets
the same 404 as for an object that does not exist; a method a route does not offer is 405 for all.
A new route fails here until it is given its line.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from . import matrix
from .test_permission_matrix import EVERYONE, _walk

CASEWORKERS = {"amina", "omar", "xena"}  # North and South of one agency, and another agency's
SUPERVISORS = {"sam", "olga", "rhea"}
FRONT_LINE = CASEWORKERS | SUPERVISORS
ALL = set(EVERYONE)
ADMIN = {"adam"}
DPO = {"dana"}

# amina's case (and what hangs off it): read by her, her supervisor and the programme manager,
# changed by her and her supervisor; decided by her supervisor.
READ = {"amina", "sam", "paul"}
WRITE = {"amina", "sam"}
DECIDE = {"sam"}

# route → (who may GET, who may POST). A route that does not offer a method answers 405.
SCREENS: dict[str, tuple[set[str], set[str]]] = {
    "": (ALL, ALL),
    # Everyone's own account: signing in and out, passwords, two-factor sign-in, own tokens.
    "accounts/login/": (ALL, ALL),
    "accounts/logout/": (ALL, ALL),
    "accounts/password-reset/": (ALL, ALL),
    "accounts/password-reset/sent/": (ALL, ALL),
    "accounts/password-reset/<uidb64>/<token>/": (ALL, ALL),
    "accounts/two-factor/": (ALL, ALL),
    "accounts/two-factor/set-up/": (ALL, ALL),
    "accounts/two-factor/recovery-codes/": (ALL, ALL),
    "accounts/tokens/": (ALL, ALL),
    # amina's token: revoked by her or her agency's administrator.
    "accounts/tokens/<int:token_id>/revoke/": ({"amina"} | ADMIN, {"amina"} | ADMIN),
    # The agency's users and its matching agreements: the administrator's.
    "accounts/users/": (ADMIN, ADMIN),
    "accounts/matching/": (ADMIN, ADMIN),
    "accounts/users/<int:user_id>/end-sessions/": (ADMIN, ADMIN),
    "accounts/users/<int:user_id>/deactivate/": (ADMIN, ADMIN),
    "accounts/users/<int:user_id>/reset-two-factor/": (ADMIN, ADMIN),
    "accounts/users/<int:user_id>/enrolment-code/": (ADMIN, ADMIN),
    # The agency administrator's area.
    "administration/": (ADMIN, ADMIN),
    "administration/purge/": (ADMIN, ADMIN),
    "administration/purge/<int:pk>/cancel/": (ADMIN, ADMIN),
    "administration/purge/<int:pk>/confirm/": (ADMIN, ADMIN),
    "administration/purge/request/": (ADMIN, ADMIN),
    "administration/service-accounts/": (ADMIN, ADMIN),
    "administration/service-accounts/<int:user_id>/token/": (ADMIN, ADMIN),
    "administration/tokens/": (ADMIN, ADMIN),
    "administration/settings/": (ADMIN, ADMIN),
    "administration/settings/<str:key>/": (ADMIN, ADMIN),
    "administration/attributes/": (ADMIN, ADMIN),
    "administration/attributes/<int:attribute_pk>/": (ADMIN, ADMIN),
    # Supervisors' queues.
    "approvals/": (SUPERVISORS, SUPERVISORS),
    # Spot checks of plans: supervisors (their team) and the M&E officer (the agency); a sample
    # of North's plans and its checks are sam's and mei's alone. A sample's page has no form.
    "spot-checks/": (SUPERVISORS | {"mei"}, SUPERVISORS | {"mei"}),
    "spot-checks/<int:sample_pk>/": ({"sam", "mei"}, set()),
    "spot-checks/checks/<int:check_pk>/": ({"sam", "mei"}, {"sam", "mei"}),
    "cases/team/": (SUPERVISORS, SUPERVISORS),
    "cases/transfers/": (SUPERVISORS, SUPERVISORS),
    "persons/duplicates/": (SUPERVISORS, SUPERVISORS),
    # Caseloads: everyone with one (another team's caseworker sees her own, not amina's cases).
    "cases/": (FRONT_LINE | {"paul"}, FRONT_LINE | {"paul"}),
    "cases/register/": (FRONT_LINE, FRONT_LINE),
    "tasks/": (FRONT_LINE, FRONT_LINE),
    "tasks/notifications/read-all/": (ALL, ALL),
    # Clients still to survey this period: one's own, or a supervisor's team (and its task button).
    "surveys/still-to-survey/": (FRONT_LINE, FRONT_LINE),
    # Supervision: the sessions one led or took part in; recorded by a team's supervisor; sam's
    # session with amina seen by the two of them, added to by sam alone.
    "supervision/": (FRONT_LINE, FRONT_LINE),
    "supervision/new/": (SUPERVISORS, SUPERVISORS),
    "supervision/<int:pk>/": ({"amina", "sam"}, {"amina", "sam"}),
    "supervision/<int:pk>/cases/add/": ({"sam"}, {"sam"}),
    "supervision/<int:pk>/actions/add/": ({"sam"}, {"sam"}),
    # amina's case, read.
    "cases/<int:pk>/": (READ, READ),
    "cases/<int:pk>/assessments/": (READ, READ),
    "cases/<int:pk>/assessments/<int:number>/": (READ, READ),
    "cases/<int:pk>/plans/<int:plan_pk>/": (READ, READ),
    "cases/<int:case_pk>/referrals/<int:pk>/": (READ, READ),
    "persons/<int:pk>/": (READ, READ),
    # amina's case, changed.
    "cases/<int:case_pk>/referrals/<int:pk>/move/": (WRITE, WRITE),
    "cases/<int:case_pk>/referrals/new/": (WRITE, WRITE),
    "cases/<int:case_pk>/referrals/not-needed/": (WRITE, WRITE),
    "cases/<int:case_pk>/unmet-needs/new/": (WRITE, WRITE),
    "cases/<int:case_pk>/unmet-needs/<int:pk>/resolve/": (WRITE, WRITE),
    "cases/<int:pk>/assessments/new/": (WRITE, WRITE),
    "cases/<int:pk>/attributes/": (WRITE, WRITE),
    "cases/<int:pk>/assessments/new/questions/": (WRITE, WRITE),
    "cases/<int:pk>/close/": (WRITE, WRITE),
    "cases/<int:pk>/consents/<int:consent_pk>/withdraw/": (WRITE, WRITE),
    "cases/<int:pk>/consents/add/": (WRITE, WRITE),
    "cases/<int:pk>/correct/": (WRITE, WRITE),
    "cases/<int:pk>/follow-ups/add/": (WRITE, WRITE),
    "cases/<int:pk>/move/": (WRITE, WRITE),
    "cases/<int:pk>/notes/<int:note_pk>/edit/": (WRITE, WRITE),
    "cases/<int:pk>/notes/add/": (WRITE, WRITE),
    "cases/<int:pk>/plans/<int:plan_pk>/edit/": (WRITE, WRITE),
    "cases/<int:pk>/plans/<int:plan_pk>/new-version/": (WRITE, WRITE),
    "cases/<int:pk>/plans/<int:plan_pk>/participation/": (WRITE, WRITE),
    "cases/<int:pk>/plans/<int:plan_pk>/review/": (WRITE, WRITE),
    "cases/<int:pk>/plans/<int:plan_pk>/submit/": (WRITE, WRITE),
    "cases/<int:pk>/plans/new/": (WRITE, WRITE),
    "cases/<int:pk>/relatives/<int:person_pk>/unlink/": (WRITE, WRITE),
    "cases/<int:pk>/relatives/add/": (WRITE, WRITE),
    "cases/<int:pk>/relatives/link/": (WRITE, WRITE),
    "cases/<int:pk>/surveys/exit/": (WRITE, WRITE),
    "cases/<int:pk>/surveys/participation/": (WRITE, WRITE),
    "cases/<int:pk>/transfer/": (WRITE, WRITE),
    "persons/<int:pk>/cases/new/": (WRITE, WRITE),
    # amina's case, decided by her supervisor.
    "cases/<int:pk>/closures/<int:closure_pk>/decide/": (DECIDE, DECIDE),
    "cases/<int:pk>/plans/<int:plan_pk>/decide/": (DECIDE, DECIDE),
    "cases/<int:pk>/plans/<int:plan_pk>/matches/<int:match_pk>/": (DECIDE, DECIDE),
    "cases/<int:pk>/reassign/": (DECIDE, DECIDE),
    "persons/<int:pk>/merge/<int:other_pk>/": (DECIDE, DECIDE),
    "persons/duplicates/<int:pk>/dismiss/": (DECIDE, DECIDE),
    "persons/merges/<int:merge_pk>/undo/": (DECIDE, DECIDE),
    # A transfer is answered by the receiving agency's supervisor.
    "cases/transfers/<int:transfer_pk>/": ({"rhea"}, {"rhea"}),
    # Reports and data exchange.
    "exports/": (SUPERVISORS | {"paul"}, SUPERVISORS | {"paul"}),
    # An export with names is downloaded by its maker alone.
    "exports/<int:pk>/download/": ({"paul"}, {"paul"}),
    "indicators/": (SUPERVISORS | {"paul", "mei"}, SUPERVISORS | {"paul", "mei"}),
    "indicators/trends/": (SUPERVISORS | {"paul", "mei"}, SUPERVISORS | {"paul", "mei"}),
    # The service-gap report: the indicators' audience.
    "indicators/service-gaps/": (SUPERVISORS | {"paul", "mei"}, SUPERVISORS | {"paul", "mei"}),
    # Reports as submitted: read by those who read the indicators, frozen by M&E and managers.
    "indicators/frozen/": (SUPERVISORS | {"paul", "mei"}, SUPERVISORS | {"paul", "mei"}),
    "indicators/frozen/new/": ({"paul", "mei"}, {"paul", "mei"}),
    # The world's frozen report is amina's agency's: not rhea's (a supervisor elsewhere).
    "indicators/frozen/<int:pk>/": ({"sam", "olga", "paul", "mei"}, {"sam", "olga", "paul", "mei"}),
    "indicators/frozen/<int:pk>/download.<str:file_format>": (
        {"sam", "olga", "paul", "mei"},
        {"sam", "olga", "paul", "mei"},
    ),
    # The consortium report: the lead's M&E officer and programme manager (amina's agency leads
    # the receiving agency's figures); agreements are the administrator's, and the one adam
    # revokes is his agency's own. The DHIS2 mapping: those who send reports.
    "indicators/consortium/": ({"paul", "mei"}, {"paul", "mei"}),
    "indicators/consortium/agreements/": (ADMIN, ADMIN),
    "indicators/consortium/agreements/<int:pk>/revoke/": (ADMIN, ADMIN),
    # The agreement proposed to amina's agency as lead: its administrator answers it.
    "indicators/consortium/received/<int:pk>/accept/": (ADMIN, ADMIN),
    "indicators/consortium/received/<int:pk>/refuse/": (ADMIN, ADMIN),
    "indicators/dhis2/": ({"paul", "mei"}, {"paul", "mei"}),
    "indicators/dhis2/<int:pk>/delete/": ({"paul", "mei"}, {"paul", "mei"}),
    "imports/": ({"paul", "mei"}, {"paul", "mei"}),
    "imports/mappings/": ({"paul", "mei"}, {"paul", "mei"}),
    "imports/mappings/<int:pk>/": ({"paul", "mei"}, {"paul", "mei"}),
    "imports/mappings/new/": ({"paul", "mei"}, {"paul", "mei"}),
    # An upload is its importer's alone.
    "imports/<int:pk>/": ({"paul"}, {"paul"}),
    "imports/<int:pk>/discard/": ({"paul"}, {"paul"}),
    "imports/<int:pk>/errors.csv": ({"paul"}, {"paul"}),
    "imports/<int:pk>/import/": ({"paul"}, {"paul"}),
    # The data-protection officer's desk (the administrator reads the audit log too, and answers
    # alerts; the case's supervisor reviews an access package another officer compiled).
    "privacy/audit-log/": (ADMIN | DPO, ADMIN | DPO),
    "privacy/audit-log/export.csv": (ADMIN | DPO, ADMIN | DPO),
    "privacy/audit-log/readers/": (ADMIN | DPO, ADMIN | DPO),
    "privacy/settings/": (ADMIN | DPO, ADMIN | DPO),
    "privacy/alerts/<int:pk>/acknowledge/": (ADMIN | DPO, ADMIN | DPO),
    "privacy/requests/": (DPO, DPO),
    "privacy/requests/new/": (DPO, DPO),
    "privacy/requests/<int:pk>/": (DPO, DPO),
    "privacy/requests/<int:pk>/close/": (DPO, DPO),
    "privacy/requests/<int:pk>/compile/": (DPO, DPO),
    "privacy/requests/<int:pk>/corrections/": (DPO, DPO),
    "privacy/requests/<int:pk>/erase/": (DPO, DPO),
    "privacy/requests/<int:pk>/handler/": (DPO, DPO),
    "privacy/requests/<int:pk>/identity/": (DPO, DPO),
    "privacy/reviews/": (SUPERVISORS | DPO, SUPERVISORS | DPO),
    # The compiler sees her package; the review (POST) is someone else's: the case's supervisor.
    "privacy/packages/<int:pk>/": ({"sam"} | DPO, {"sam"}),
    "privacy/packages/<int:pk>/release.<str:file_format>": (DPO, DPO),
    # The agency's configuration: questionnaires, the service directory, the risk policy.
    "questionnaires/": (ADMIN, ADMIN),
    "questionnaires/<int:questionnaire_pk>/": (ADMIN, ADMIN),
    "questionnaires/<int:questionnaire_pk>/active/": (ADMIN, ADMIN),
    "questionnaires/<int:questionnaire_pk>/upload/": (ADMIN, ADMIN),
    "questionnaires/<int:questionnaire_pk>/versions/<int:number>/file/": (ADMIN, ADMIN),
    "questionnaires/new/": (ADMIN, ADMIN),
    "questionnaires/upload/": (ADMIN, ADMIN),
    "services/import/": (ADMIN, ADMIN),
    "services/import/template.csv": (ADMIN, ADMIN),
    "services/organisations/<int:organisation_pk>/services/<int:pk>/edit/": (ADMIN, ADMIN),
    "services/organisations/<int:organisation_pk>/services/add/": (ADMIN, ADMIN),
    "services/organisations/<int:pk>/edit/": (ADMIN, ADMIN),
    "services/organisations/add/": (ADMIN, ADMIN),
    "settings/risk-follow-up/": (ADMIN, ADMIN),
    # The directory of services is read by everyone who refers, in any agency.
    "services/": (FRONT_LINE | {"paul"} | ADMIN, FRONT_LINE | {"paul"} | ADMIN),
    "services/organisations/<int:pk>/": (
        FRONT_LINE | {"paul"} | ADMIN,
        FRONT_LINE | {"paul"} | ADMIN,
    ),
    # The partner answers the referral sent to her organisation.
    "referrals/inbox/": ({"priya"}, {"priya"}),
    "referrals/<int:pk>/": ({"priya"}, {"priya"}),
    "referrals/<int:pk>/answer/": ({"priya"}, {"priya"}),
    # A task of amina's case is done by those who work the case; a notification by its addressee.
    "tasks/<int:task_pk>/done/": (WRITE, WRITE),
    "tasks/notifications/<int:notification_pk>/read/": ({"amina"}, {"amina"}),
}


# Django's own admin (superusers of the server, not agency users), the language switch and the API
# (its own matrix) are not screens of the matrix.
NOT_SCREENS = ("admin/", "i18n/", "api/")


def _html_routes() -> list[str]:
    from django.urls import get_resolver

    return sorted(
        {
            route
            for route, _pattern in _walk(get_resolver().url_patterns)
            if not route.startswith(NOT_SCREENS) and not route.startswith("^")
        }
    )


def _clients(world: matrix.World) -> dict[str, Client]:
    clients = {}
    for name in EVERYONE:
        client = Client()
        client.force_login(world.users[name])
        clients[name] = client
    return clients


def _page_form(clients: dict[str, Client], permitted: set[str], path: str) -> dict[str, Any]:
    """The page's own form as an allowed user is shown it (empty when the route has no page)."""
    for name in sorted(permitted):
        response = clients[name].get(path)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            return matrix.form_of(response.content.decode(), path)
    return {}


def test_every_screen_route_has_its_line() -> None:
    routes = set(_html_routes())
    assert not routes - set(SCREENS), f"routes without a line in SCREENS: {routes - set(SCREENS)}"
    assert not set(SCREENS) - routes, f"lines for routes that are gone: {set(SCREENS) - routes}"


def test_every_screen_answers_only_those_who_may_use_it(world: matrix.World) -> None:
    clients = _clients(world)
    failures: list[str] = []
    for route in _html_routes():
        may_get, may_post = SCREENS[route]
        path, _kinds = matrix.fill_html(route, world)
        data = _page_form(clients, may_get | may_post, path)
        for method, permitted in (("get", may_get), ("post", may_post)):
            answers = {
                name: matrix.send_html(clients[name], method, path, data) for name in EVERYONE
            }
            offered = any(answers[name] != 405 for name in permitted)
            for name, status in answers.items():
                if not offered:
                    # The route does not take this method: 405 for everyone alike.
                    if status not in (404, 405):
                        failures.append(
                            f"{name} {method.upper()} /{route} → {status} (no such method)"
                        )
                elif name in permitted:
                    if status in (404, 405) or status >= 500:
                        failures.append(f"{name} {method.upper()} /{route} → {status} (allowed)")
                    elif method == "get" and status >= 400:
                        failures.append(f"{name} GET /{route} → {status} (allowed)")
                elif status != 404:
                    failures.append(f"{name} {method.upper()} /{route} → {status} (not 404)")
        if route.startswith("accounts/"):
            # Signing out (or a session ended) clears the clients' cookies: sign in again.
            clients = _clients(world)
    assert not failures, "\n".join(failures)


def test_every_screen_parameter_names_an_object_of_the_world(world: matrix.World) -> None:
    for route in _html_routes():
        path, kinds = matrix.fill_html(route, world)
        assert "<" not in path
        literal = sum(route.count(f"<{name}>") for name in matrix.HTML_LITERAL)
        assert len(kinds) == route.count("<") - route.count("<str:file_format>") - literal


def test_an_unknown_screen_parameter_fails_the_matrix(world: matrix.World) -> None:
    with pytest.raises(matrix.UnknownParameter):
        matrix.fill_html("things/<int:pk>/", world)


# --- The API's lists and creations ----------------------------------------------------------------

# operation → who may call it. An operation not listed fails the test until it is given its line.
OPERATIONS: dict[tuple[str, str], set[str]] = {
    ("get", "/api/v1/assessments/questionnaires"): ADMIN,
    ("post", "/api/v1/assessments/questionnaires"): ADMIN,
    ("post", "/api/v1/assessments/questionnaires/new"): ADMIN,
    # Caseworkers and supervisors follow the risk policy, the administrator sets it.
    ("get", "/api/v1/assessments/risk-policy"): FRONT_LINE | ADMIN,
    ("put", "/api/v1/assessments/risk-policy"): ADMIN,
    ("get", "/api/v1/cases"): FRONT_LINE | {"paul"},
    ("post", "/api/v1/cases"): FRONT_LINE,
    ("post", "/api/v1/cases/search"): FRONT_LINE | {"paul"},
    ("post", "/api/v1/cases/screenings"): FRONT_LINE,
    ("post", "/api/v1/persons/matches"): FRONT_LINE,
    ("get", "/api/v1/cases/screenings/funnel"): SUPERVISORS | {"paul", "mei"},
    ("get", "/api/v1/cases/team/caseload"): SUPERVISORS,
    ("get", "/api/v1/cases/transfers/offered"): SUPERVISORS,
    ("get", "/api/v1/persons/duplicates"): SUPERVISORS,
    ("get", "/api/v1/plans/approvals"): SUPERVISORS,
    ("get", "/api/v1/plans/spot-checks/samples"): SUPERVISORS | {"mei"},
    ("post", "/api/v1/plans/spot-checks/samples"): SUPERVISORS | {"mei"},
    ("get", "/api/v1/indicators"): SUPERVISORS | {"paul", "mei"},
    ("get", "/api/v1/indicators/definitions"): SUPERVISORS | {"paul", "mei"},
    ("get", "/api/v1/indicators/trends"): SUPERVISORS | {"paul", "mei"},
    ("get", "/api/v1/indicators/service-gaps"): SUPERVISORS | {"paul", "mei"},
    ("get", "/api/v1/indicators/frozen"): SUPERVISORS | {"paul", "mei"},
    ("post", "/api/v1/indicators/frozen"): {"paul", "mei"},
    ("get", "/api/v1/indicators/consortium"): {"paul", "mei"},
    ("post", "/api/v1/interchange/exports"): SUPERVISORS | {"paul"},
    ("get", "/api/v1/interchange/exports"): SUPERVISORS | {"paul"},
    ("post", "/api/v1/interchange/imports"): {"paul", "mei"},
    ("get", "/api/v1/privacy/audit-log"): ADMIN | DPO,
    ("get", "/api/v1/privacy/audit-log/readers"): ADMIN | DPO,
    ("get", "/api/v1/privacy/requests"): DPO,
    # Reference lists and one's own notifications: everyone.
    ("get", "/api/v1/reference/locations"): ALL,
    ("get", "/api/v1/reference/programmes"): ALL,
    ("get", "/api/v1/reference/protection-concerns"): ALL,
    ("get", "/api/v1/tasks/notifications"): ALL,
    ("post", "/api/v1/tasks/notifications/read-all"): ALL,
    ("get", "/api/v1/tasks"): FRONT_LINE,
    # Clients still to survey this period, and a task for each: those who survey them.
    ("get", "/api/v1/feedback/still-to-survey"): FRONT_LINE,
    ("post", "/api/v1/feedback/still-to-survey/tasks"): FRONT_LINE,
    ("get", "/api/v1/referrals/overdue"): FRONT_LINE,
    # Supervision sessions: one's own list; recorded by supervisors.
    ("get", "/api/v1/supervision/sessions"): FRONT_LINE,
    ("post", "/api/v1/supervision/sessions"): SUPERVISORS,
    ("get", "/api/v1/referrals/inbox"): {"priya"},
    ("get", "/api/v1/referrals/services"): FRONT_LINE | {"paul"} | ADMIN,
    ("post", "/api/v1/referrals/organisations"): ADMIN,
    ("post", "/api/v1/referrals/services/import"): ADMIN,
    ("get", "/api/v1/settings"): ADMIN,
    ("get", "/api/v1/attributes"): ADMIN,
    ("post", "/api/v1/attributes"): ADMIN,
    ("get", "/api/v1/settings/history"): ADMIN,
}


def test_every_list_and_create_operation_answers_only_the_roles_that_offer_it(
    world: matrix.World,
) -> None:
    """With the schema's body and required query, allowed roles get past the gate (2xx, or an
    answer about the request: 400/403/409); everyone else the same 404."""
    clients = _clients(world)
    failures: list[str] = []
    listed = set()
    for op in matrix.operations(world):
        if op.params:
            continue
        key = (op.method, op.template)
        listed.add(key)
        if key not in OPERATIONS:
            failures.append(f"{op.method.upper()} {op.template}: no line in OPERATIONS")
            continue
        permitted = OPERATIONS[key]
        for name in EVERYONE:
            status = matrix.send(clients[name], op, op.template + op.query, None)
            if name in permitted and (status in (404, 405, 422) or status >= 500):
                failures.append(f"{name} {op.method.upper()} {op.template} → {status} (allowed)")
            elif name not in permitted and status != 404:
                failures.append(f"{name} {op.method.upper()} {op.template} → {status} (not 404)")
    assert not set(OPERATIONS) - listed, (
        f"lines for operations that are gone: {set(OPERATIONS) - listed}"
    )
    assert not failures, "\n".join(failures)
