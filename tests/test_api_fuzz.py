"""The API fuzzed with a token of each role (schemathesis over our own OpenAPI document): no
operation answers a server error, and no answer breaks the schema it documents.

Slow by nature (hundreds of generated requests), so it runs on SQLite only; the gate and the
schema are the same on PostgreSQL, whose own tests cover its queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from casework.accounts import tokens
from config.wsgi import application


@pytest.fixture
def api_schema(db: Any, settings: Any) -> Iterator[Any]:
    """Our OpenAPI document, fetched from the application itself (WSGI: no server, no network).

    Requests go straight to the WSGI application, inside the test's transaction: as Django's test
    client does, keep the end of each request from closing the test's database connection."""
    settings.CASEWORK_RATE_LIMITS_ENABLED = False
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


ROLES = ["amina", "sam", "paul", "mei", "priya", "dana", "adam", "xena"]

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="fuzzing runs once, on the embedded database"
)


@pytest.fixture
def bearers(
    settings: Any,
    amina: Any,
    sam: Any,
    paul: Any,
    mei: Any,
    priya: Any,
    dana: Any,
    adam: Any,
    xena: Any,
    case: Any,
) -> dict[str, dict[str, str]]:
    """A token with every scope for one user of each role (and an outsider), over a world with
    amina's case in it; rate limits off (the fuzzer asks faster than a person)."""
    settings.CASEWORK_RATE_LIMITS_ENABLED = False
    users = {u.username: u for u in (amina, sam, paul, mei, priya, dana, adam, xena)}
    return {
        name: {
            "Authorization": "Bearer "
            + tokens.create_token(
                owner=user, by=None, name="fuzz", scopes=["read", "write", "export"], days=1
            )
        }
        for name, user in users.items()
    }


def test_no_operation_fails_or_breaks_its_schema_for_any_role(
    api_schema: Any, bearers: dict[str, dict[str, str]]
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 60
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=3,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            for role in ROLES:
                case.call_and_validate(
                    headers=bearers[role],
                    checks=[not_a_server_error, response_schema_conformance],
                )

        run()
