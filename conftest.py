"""Shared test fixtures: keys in a throw-away directory and the named users every test reuses.

The people (STYLE.md: "a few named users reused everywhere"):
- amina: caseworker, North team; owns the cases under test
- sam: supervisor, North team (amina's supervisor)
- omar: caseworker, South team (same agency, another team)
- olga: supervisor, South team
- paul: programme manager of the agency
- mei: M&E officer of the agency
- priya: partner user at a service-provider organisation
- adam: administrator of the agency, no case role
- dana: data-protection officer of the agency (audit log and clients' requests, no case content)
- xena: caseworker in another agency (the outsider)
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

PASSWORD = "correct horse battery staple 2026"


@pytest.fixture(autouse=True)
def _own_audit_checkpoints(settings: Any, tmp_path: Any) -> Iterator[None]:
    """Each test starts with no audit checkpoint (the file is outside the database, which each
    test rolls back), and the sealer writes one whenever asked."""
    from casework.audit import sealing

    settings.CASEWORK_AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.log"
    # The worker's backup job runs with every due job a test enqueues: its files stay here.
    settings.CASEWORK_BACKUP_DIR = tmp_path / "backups"
    sealing._last_checkpoint.update(at=0.0, seq=-1)
    yield


@pytest.fixture(autouse=True)
def _fresh_keyring(db: Any) -> Iterator[None]:
    """Data keys live in the database, which each test rolls back: forget the cached ones."""
    from casework.vault import keys

    keys.clear_cache()
    yield
    keys.clear_cache()


@pytest.fixture
def agency(db: Any) -> Any:
    from casework.accounts.models import Agency

    return Agency.objects.create(code="AGY", name="Test Agency", require_mfa=False)


@pytest.fixture
def other_agency(db: Any) -> Any:
    from casework.accounts.models import Agency

    return Agency.objects.create(code="OTH", name="Other Agency", require_mfa=False)


@pytest.fixture
def partner_agency(db: Any) -> Any:
    from casework.accounts.models import Agency

    return Agency.objects.create(
        code="PRT", name="Partner Clinic", kind=Agency.Kind.SERVICE_PROVIDER, require_mfa=False
    )


@pytest.fixture
def north(agency: Any) -> Any:
    from casework.accounts.models import Team

    return Team.objects.create(agency=agency, name="North")


@pytest.fixture
def south(agency: Any) -> Any:
    from casework.accounts.models import Team

    return Team.objects.create(agency=agency, name="South")


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    from django.contrib.auth.hashers import make_password

    from casework.accounts.models import User

    hashed = make_password(PASSWORD)

    def make(username: str, **fields: Any) -> Any:
        return User.objects.create(
            username=username,
            first_name=username.capitalize(),
            email=f"{username}@example.org",
            password=hashed,
            **fields,
        )

    return make


@pytest.fixture
def amina(make_user: Any, agency: Any, north: Any) -> Any:
    return make_user("amina", agency=agency, team=north, role="caseworker")


@pytest.fixture
def sam(make_user: Any, agency: Any, north: Any) -> Any:
    return make_user("sam", agency=agency, team=north, role="supervisor")


@pytest.fixture
def omar(make_user: Any, agency: Any, south: Any) -> Any:
    return make_user("omar", agency=agency, team=south, role="caseworker")


@pytest.fixture
def olga(make_user: Any, agency: Any, south: Any) -> Any:
    return make_user("olga", agency=agency, team=south, role="supervisor")


@pytest.fixture
def paul(make_user: Any, agency: Any) -> Any:
    return make_user("paul", agency=agency, role="programme_manager")


@pytest.fixture
def mei(make_user: Any, agency: Any) -> Any:
    return make_user("mei", agency=agency, role="me_officer")


@pytest.fixture
def priya(make_user: Any, partner_agency: Any) -> Any:
    return make_user("priya", agency=partner_agency, role="partner")


@pytest.fixture
def adam(make_user: Any, agency: Any) -> Any:
    return make_user("adam", agency=agency, role="none", is_administrator=True)


@pytest.fixture
def dana(make_user: Any, agency: Any) -> Any:
    return make_user("dana", agency=agency, role="data_protection_officer")


@pytest.fixture
def xena(make_user: Any, other_agency: Any) -> Any:
    from casework.accounts.models import Team

    team = Team.objects.create(agency=other_agency, name="Elsewhere")
    return make_user("xena", agency=other_agency, team=team, role="caseworker")


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
    """Every named user by username."""
    return {u.username: u for u in (amina, sam, omar, olga, paul, mei, priya, adam, xena, dana)}


@pytest.fixture
def programme(db: Any) -> Any:
    from casework.reference.models import Programme

    return Programme.objects.get(code="CP")


@pytest.fixture
def concern(db: Any) -> Any:
    from casework.reference.models import ProtectionConcern

    return ProtectionConcern.objects.get(code="separated")


@pytest.fixture
def register(programme: Any, concern: Any) -> Callable[..., Any]:
    """Register a case through the service, as a caseworker would. Adults consent themselves."""
    from casework.cases import services

    def make(
        by: Any,
        *,
        given_name: str = "Fatima",
        family_name: str = "Traoré",
        age: int = 30,
        consent: bool = True,
        risk_level: str = "medium",
        **case_fields: Any,
    ) -> Any:
        child = age < 18
        consent_details = (
            services.ConsentDetails(
                receive_services=True,
                given_by="caregiver" if child else "client",
                child_assent=True if child else None,
            )
            if consent
            else None
        )
        caregiver = (
            services.CaregiverDetails(given_name="Hawa", family_name=family_name) if child else None
        )
        return services.register_case(
            by=by,
            person=services.PersonDetails(
                given_name=given_name, family_name=family_name, sex="female", estimated_age=age
            ),
            details=services.CaseDetails(
                programme=case_fields.pop("programme", programme),
                primary_concern=concern,
                risk_level=risk_level,
                identified_on=datetime.date.today() - datetime.timedelta(days=2),  # noqa: DTZ011
                **case_fields,
            ),
            consent=consent_details,
            caregiver=caregiver,
        )

    return make


@pytest.fixture
def case(register: Any, amina: Any) -> Any:
    """Amina's registered case, with consent to services."""
    return register(amina)


@pytest.fixture
def login(client: Client) -> Callable[[Any], Client]:
    """A client signed in as the given user (through the login, so sessions work as in life)."""

    def sign_in(user: Any) -> Client:
        fresh = Client()
        fresh.force_login(user)
        return fresh

    return sign_in


@pytest.fixture(autouse=True, scope="session")
def _flush_keeps_the_audit_triggers() -> Iterator[None]:
    """Transactional tests (the browser tests) empty the database with `flush` afterwards; the
    audit table's append-only triggers would refuse that. Lift them for the flush only, then put
    them back, so every other test still runs against an append-only audit table."""
    import importlib

    from django.core.management.commands import flush
    from django.db import DEFAULT_DB_ALIAS, connections

    first = importlib.import_module("casework.audit.migrations.0002_head_and_triggers")
    current = importlib.import_module("casework.audit.migrations.0003_sealed_in_batches")
    original = flush.Command.handle

    def handle(self: Any, **options: Any) -> Any:
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        with connection.schema_editor() as editor:
            first.remove_triggers(None, editor)
        try:
            return original(self, **options)
        finally:
            with connection.schema_editor() as editor:
                current.install_triggers(None, editor)
            # The shared cache's table is no model, so flush leaves it: rate-limit counts and
            # back-off strikes must not carry over into the next test either.
            from django.core.cache import cache

            cache.clear()

    with pytest.MonkeyPatch.context() as patch:  # session-wide, so not the `monkeypatch` fixture
        patch.setattr(flush.Command, "handle", handle)
        yield


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """A test that commits must restore the serialized database afterwards, as the others do:
    a plain transactional test's flush re-creates content types under the next such test."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None or not marker.kwargs.get("transaction"):
            continue
        if not marker.kwargs.get("serialized_rollback"):
            raise pytest.UsageError(
                f"{item.nodeid}: use @pytest.mark.django_db(transaction=True, "
                "serialized_rollback=True)"
            )
    # A transactional test leaves the database flushed (its data comes back at the next such
    # test's start), so pytest-django runs them after the others. `make test` hands out whole
    # files (--dist loadfile): a file that mixes the two kinds would run its transactional tests
    # among other files' plain ones, which would then find the migrations' data gone.
    kinds: dict[str, set[bool]] = {}
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None and not set(getattr(item, "fixturenames", ())) & {
            "db",
            "transactional_db",
        }:
            continue  # no database: runs anywhere
        fixtures = set(getattr(item, "fixturenames", ()))
        transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
            fixtures & {"transactional_db", "live_server", "django_db_serialized_rollback"}
        )
        kinds.setdefault(str(item.path), set()).add(transactional)
    mixed = sorted(path for path, found in kinds.items() if len(found) == 2)
    if mixed:
        raise pytest.UsageError(
            "Keep transactional tests in files of their own (--dist loadfile runs a file "
            f"together): {', '.join(mixed)}"
        )
