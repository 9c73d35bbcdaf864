"""The purge drill: two agencies with persons, birth dates, notes, assessments and plans; agency
A is purged with `casework purge`; then no name, note, plan or birth date of A can be read
through any page, any API operation, an export, a search or the raw database (nor from a
backup taken before), while agency B reads as before and A's indicators still compute.

Written for SQLite and PostgreSQL alike: raw SQL only through the introspection and quoting of
the connection in use.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import io
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import call_command
from django.db import connection
from django.db.models import ExpressionWrapper, F, TextField
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from casework.accounts.models import Agency, User
from casework.api import api
from casework.assessments import services as assessments
from casework.audit import checkpoints
from casework.audit.models import AuditEntry
from casework.cases import services, workflow
from casework.cases.models import Case, ConsentRecipient, ContactType
from casework.interchange import container
from casework.interchange.models import ExportFile
from casework.people.models import Person, PersonNameIndex
from casework.plans import services as plans
from casework.plans.tests.conftest import content
from casework.retention import rekeying
from casework.retention.models import AgencyPurge
from casework.vault import keys, rotation
from casework.vault.crypto import decrypt_bytes, encrypt_text
from casework.vault.models import DataKey

PASSWORD = "drill export password 2026"


@dataclass(frozen=True)
class Canaries:
    """Values planted in one agency: none may be readable anywhere once it is purged."""

    given: str
    family: str
    birth: datetime.date
    note: str
    goal: str
    rationale: str

    @property
    def texts(self) -> list[str]:
        return [
            self.given,
            self.family,
            self.birth.isoformat(),
            self.note,
            self.goal,
            self.rationale,
        ]


A = Canaries(
    given="Quillonette",
    family="Vantrexa",
    birth=datetime.date(1987, 7, 23),
    note="Quillonette hid by the ferry landing",
    goal="Quillonette reaches the cousin in Tarvassi",
    rationale="Recruiter Pelmody knows the Vantrexa house",
)
B = Canaries(
    given="Brindolie",
    family="Ostravelle",
    birth=datetime.date(1986, 2, 11),
    note="Brindolie met us at the clinic gate",
    goal="Brindolie restarts the bakery course",
    rationale="Ostravelle family pressure to return",
)


@pytest.fixture(autouse=True)
def _key_directory(settings: Any, tmp_path: Any, db: Any) -> None:
    """Master keys in a key file (as in production), so the purge can replace it."""
    settings.CASEWORK_MASTER_KEYS = ""
    settings.CASEWORK_KEY_DIR = str(tmp_path / "keys")
    keys.init_key_files(tmp_path / "keys")
    keys.clear_cache()


def _plant(case: Case, worker: Any, canaries: Canaries) -> Case:
    person = case.person
    person.date_of_birth = canaries.birth
    person.phone = "+223 70 11 22 33"
    person.save()
    services.add_note(case, by=worker, text=canaries.note, contact_type=ContactType.HOME_VISIT)
    assessments.record_assessment(
        case,
        by=worker,
        details=assessments.AssessmentDetails(
            risk_level="medium",
            risk_rationale=canaries.rationale,
            findings=[
                assessments.FindingDetails(
                    domain="shelter", need_level="high", services=["shelter"]
                )
            ],
        ),
    )
    case.refresh_from_db()
    plans.create_plan(case, by=worker, content=content(goals=[canaries.goal], actions=["Call"]))
    for consent in case.consents.all():
        ConsentRecipient.objects.create(
            consent=consent,
            organisation_name="Cluster Lead",
            purpose="export",
            information=["identity", "case_summary"],
        )
    case.refresh_from_db()
    return case


@dataclass
class Drill:
    a: Case
    b: Case
    a_people: dict[str, Any]  # amina, sam, paul: caseworker, supervisor, programme manager
    b_people: dict[str, Any]  # xena, and a supervisor and a programme manager of B
    moved: Case  # transferred from A to B, its values still under A's key


# Written into A before agencies had keys: under the instance key, which outlives A's purge.
LEGACY = "Zelvorine"
# A case A transferred to B, whose re-encryption for B never ran: still under A's key.
MOVED = "Transferina"


def _plant_legacy(case: Case) -> None:
    legacy = encrypt_text(LEGACY, context="people.person.other_names", agency_id=None)
    table = connection.ops.quote_name(Person._meta.db_table)
    column = connection.ops.quote_name("other_names")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = %s WHERE id = %s",  # noqa: S608 - quoted names
            [legacy, case.person_id],
        )


def _transfer_unrekeyed(case: Case, amina: Any, sofia: Any, monkeypatch: Any) -> Case:
    services.record_consent(
        case,
        by=amina,
        details=services.ConsentDetails(
            receive_services=True,
            recipients=[
                services.RecipientDetails(
                    organisation_name=sofia.agency.name,
                    organisation_code=sofia.agency.code,
                    purpose="transfer",
                )
            ],
        ),
    )
    with monkeypatch.context() as patched:
        patched.setattr(rekeying, "rekey_transferred_case", lambda *a, **k: None)
        transfer = workflow.request_transfer(
            case, to_agency=sofia.agency, by=amina, reason="Moving", summary="Needs school"
        )
        workflow.decide_transfer(transfer, by=sofia, accept=True)
    case.refresh_from_db()
    assert case.agency_id == sofia.agency_id
    return case


@pytest.fixture
def drill(
    register: Any,
    amina: Any,
    sam: Any,
    paul: Any,
    xena: Any,
    make_user: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Drill:
    team = xena.team
    b_people = {
        "xena": xena,
        "sofia": make_user("sofia", agency=xena.agency, team=team, role="supervisor"),
        "pia": make_user("pia", agency=xena.agency, role="programme_manager"),
    }
    a = _plant(register(amina, given_name=A.given, family_name=A.family), amina, A)
    _plant_legacy(a)
    moved = register(amina, given_name=MOVED, family_name=B.family)
    _transfer_unrekeyed(moved, amina, b_people["sofia"], monkeypatch)
    b = _plant(register(xena, given_name=B.given, family_name=B.family), xena, B)
    return Drill(a, b, {"amina": amina, "sam": sam, "paul": paul}, b_people, moved)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- every page and operation -----------------------------------------------------------------


def _routes(patterns: list[Any], prefix: str = "") -> list[str]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found += _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append(prefix + str(entry.pattern))
    return sorted(set(found))


def _ids(case: Case) -> dict[str, int]:
    return {
        "case": case.pk,
        "person": case.person_id,
        "note": case.notes.get().pk,
        "plan": case.plans.get().pk,
        "consent": case.consents.order_by("pk").values_list("pk", flat=True)[0],
    }


def _page_paths(case: Case) -> list[str]:
    ids = _ids(case)
    names = {
        "case_pk": ids["case"],
        "case_id": ids["case"],
        "note_pk": ids["note"],
        "plan_pk": ids["plan"],
        "consent_pk": ids["consent"],
        "number": 1,
    }
    paths = []
    for route in _routes(get_resolver().url_patterns):
        if route.startswith(("admin/", "i18n/", "api/", "^")):
            continue

        def fill(match: re.Match[str], route: str = route) -> str:
            name = match.group(2)
            if name == "pk" and route.startswith("cases/"):
                return str(ids["case"])
            if name == "pk" and route.startswith("persons/"):
                return str(ids["person"])
            return str(names.get(name, 1))

        paths.append("/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route))
    return paths


def _api_paths(case: Case) -> list[str]:
    ids = _ids(case)
    names = {
        "case_id": ids["case"],
        "person_id": ids["person"],
        "note_id": ids["note"],
        "plan_id": ids["plan"],
        "number": 1,
    }
    schema = api.get_openapi_schema()
    paths = []
    for path, methods in schema["paths"].items():
        if "get" in methods and "openapi" not in path and not path.endswith("/docs"):
            filled = re.sub(r"\{(\w+)\}", lambda m: str(names.get(m.group(1), 1)), path)
            paths.append(filled if filled.startswith("/api/v1") else "/api/v1" + filled)
    year = datetime.date.today().year  # noqa: DTZ011
    paths.append(f"/api/v1/indicators?period={year}")
    return paths


def _everything_shown(users: dict[str, Any], case: Case) -> str:
    """Every page and every API answer the agency's users get about the case: one text (a
    request that fails raises, failing the drill)."""
    shown = []
    for user in users.values():
        client = _client(user)
        for path in _page_paths(case) + _api_paths(case):
            response = client.get(path)
            assert response.status_code < 500, path
            shown.append(response.content.decode(errors="replace"))
    return "\n".join(shown)


def _found_by_name(user: Any, case: Case, canaries: Canaries) -> bool:
    """Whether searching the person's name (caseload screen and API) finds the case. The
    answer repeats the words searched for, so only the case reference tells."""
    client = _client(user)
    query = f"{canaries.given} {canaries.family}"
    answers = [
        client.post("/cases/", {"q": query}),
        client.post("/api/v1/cases/search", {"query": query}, content_type="application/json"),
    ]
    assert all(answer.status_code == 200 for answer in answers)
    return any(case.reference in answer.content.decode() for answer in answers)


EXPORT_FORM = {
    "file_format": "csv",
    "with_names": "on",
    "recipient_name": "Cluster Lead",
    "password": PASSWORD,
    "leave_out_refused": "on",
}


def _exported(manager: Any) -> str:
    """The agency's export with names and dates of birth, opened."""
    client = _client(manager)
    response = client.post("/exports/", EXPORT_FORM)
    assert response.status_code == 302, response.content[:500]
    # The export is kept for its maker; the newest is the one just made.
    kept = ExportFile.objects.filter(created_by=manager).latest("created_at", "pk")
    download = client.get(f"/exports/{kept.pk}/download/")
    assert download.status_code == 200, download.content[:500]
    files = container.open_container(download.content, PASSWORD)
    return "\n".join(data.decode("utf-8", errors="replace") for data in files.values())


def _indicators(manager: Any) -> Any:
    year = datetime.date.today().year  # noqa: DTZ011
    response = _client(manager).get(f"/api/v1/indicators?period={year}&min_cell=1")
    assert response.status_code == 200
    report = response.json()
    report.pop("generated_at", None)
    return report


# --- the raw database ------------------------------------------------------------------------


def _raw_text() -> str:
    """Every value of every column of every table, as text (bytes decoded as far as they go)."""
    out = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes):
                        out.append(bytes(value).decode("utf-8", errors="ignore"))
                    elif value is not None:
                        out.append(str(value))
    return "\n".join(out)


def _readable_values(case: Case | None = None) -> list[str]:
    """What the raw ciphertexts of the case's agency's rows (through each table's path to the
    agency), or of every row of the database, still decrypt to with every key this process can
    load: the raw database as an attacker holding the keys left would read it."""
    keys.clear_cache()
    found = []
    for table in rotation.encrypted_tables():
        rows = table.model._base_manager.all()
        if case is not None:
            if table.agency_path is None:
                continue
            rows = rows.filter(**{table.agency_path: case.agency_id})
        for batch in rotation.raw_batches(table, batch_size=1000, rows=rows):
            for _pk, _owner, *values in batch:
                for col, value in zip(table.encrypted, values, strict=True):
                    if value and (plain := decrypt_bytes(value, context=col.context)):
                        found.append(plain.decode())
    return found


def _backup(case: Case) -> dict[str, Any]:
    """What a backup taken now holds of the keys (the wrapped data keys and the key file), and
    the value of the case's person written under the instance key."""
    return {
        "data_keys": list(
            DataKey.objects.values("pk", "agency_id", "purpose", "master_key_id", "wrapped")
        ),
        "master_file": (keys.key_dir() / keys.MASTER_FILE).read_text(),
        "legacy": Person.objects.filter(pk=case.person_id)
        .annotate(raw=ExpressionWrapper(F("other_names"), output_field=TextField()))
        .values_list("raw", flat=True)
        .get(),
    }


def _opened_by_live_keys(ciphertext: str, context: str) -> bool:
    """Whether any data key the live database holds, unwrapped by any master key of the current
    key file (whichever master and key id each names), decrypts `ciphertext`."""
    masters = [AESGCM(key) for key in keys.load_master_keys().keys.values()]
    blob = base64.urlsafe_b64decode(ciphertext.split("$", 2)[2])
    for row in DataKey.objects.filter(purpose=DataKey.Purpose.DATA):
        wrapped = bytes(row.wrapped)
        for master in masters:
            with contextlib.suppress(InvalidTag):
                key = master.decrypt(
                    wrapped[:12], wrapped[12:], keys._aad(row.purpose, row.agency_id)
                )
                with contextlib.suppress(InvalidTag):
                    AESGCM(key).decrypt(blob[:12], blob[12:], context.encode())
                    return True
    return False


def _leaks(text: str, canaries: Canaries) -> list[str]:
    return [value for value in canaries.texts if value in text]


def test_the_purge_drill(drill: Drill) -> None:
    a, b = drill.a, drill.b
    shown_before = _everything_shown(drill.a_people, a)
    assert _leaks(shown_before, A) == A.texts  # the drill sees every value it then looks for
    assert _found_by_name(drill.a_people["amina"], a, A)
    assert set(_leaks(_exported(drill.a_people["paul"]), A)) >= {A.given, A.birth.isoformat()}
    kept_before = ExportFile.objects.get(created_by=drill.a_people["paul"])
    # The raw ciphertexts of A do decrypt with the keys present: the checks after are not empty.
    readable_before = "\n".join(_readable_values())
    assert _leaks(readable_before, A) == A.texts
    assert LEGACY in readable_before and MOVED in readable_before
    assert _leaks(_raw_text(), A) == [] and LEGACY not in _raw_text()  # encrypted at rest
    indicators_before = _indicators(drill.a_people["paul"])
    backup = _backup(a)
    assert _opened_by_live_keys(backup["legacy"], "people.person.other_names")

    out = io.StringIO()
    call_command("purge", "--agency", a.agency.code, "--confirm", a.agency.code, stdout=out)

    # Audited and finished, every step.
    purge = AgencyPurge.objects.get(agency=a.agency)
    assert purge.keys_destroyed == 2 and purge.finished_at is not None
    assert purge.master_replaced_at is not None and purge.index_rows_deleted > 0
    assert f"Purge of {a.agency.code} finished." in out.getvalue()
    actions = set(AuditEntry.objects.filter(agency_id=a.agency_id).values_list("action", flat=True))
    assert {
        "retention.purge.keys_destroyed",
        "vault.master_key.replaced",
        "retention.purge.swept",
        "retention.purge.finished",
    } <= actions
    # … and sealed into the chain, with a signed checkpoint outside the database covering it.
    finished = AuditEntry.objects.get(action="retention.purge.finished", agency_id=a.agency_id)
    latest = checkpoints.read().latest
    assert finished.seq is not None and latest is not None and latest.seq >= finished.seq

    # A is closed: its users are deactivated and signed out, their next request refused.
    assert not Agency.objects.get(pk=a.agency_id).is_active
    for user in drill.a_people.values():
        user.refresh_from_db()
        assert not user.is_active
    assert _client(drill.a_people["amina"]).get(f"/cases/{a.pk}/").status_code == 302
    # Were they let in again, nothing of A would show through any page, API operation, search or
    # export; the pages still work.
    User.objects.filter(pk__in=[user.pk for user in drill.a_people.values()]).update(is_active=True)
    shown_after = _everything_shown(drill.a_people, a)
    assert _leaks(shown_after, A) == []
    assert "•••" in _client(drill.a_people["amina"]).get(f"/cases/{a.pk}/").content.decode()
    assert not _found_by_name(drill.a_people["amina"], a, A)
    # An export with names is refused (no key of A is made again to keep it under), and the one
    # kept before the purge, under A's destroyed key, is gone with it.
    manager = _client(drill.a_people["paul"])
    refused = manager.post("/exports/", EXPORT_FORM)
    assert refused.status_code == 400 and _leaks(refused.content.decode(), A) == []
    assert ExportFile.objects.filter(created_by=drill.a_people["paul"]).count() == 1
    gone = manager.get(f"/exports/{kept_before.pk}/download/")
    assert gone.status_code == 410
    assert not PersonNameIndex.objects.filter(person__agency=a.agency).exists()

    # Nothing of A in the raw database, and no ciphertext of A opens with any key left: not the
    # value written under the instance key, which was moved to A's key before it went.
    assert _leaks(_raw_text(), A) == []
    assert _readable_values(a) == []
    readable_after = "\n".join(_readable_values())
    assert _leaks(readable_after, A) == [] and LEGACY not in readable_after
    assert purge.values_moved >= 1 and purge.foreign_values_moved >= 1
    # The case transferred to B before the purge still reads, for B.
    assert MOVED in readable_after
    assert Person.objects.get(pk=drill.moved.person_id).given_name == MOVED
    keys.clear_cache()
    assert Person.objects.get(pk=a.person_id).date_of_birth is None
    assert not DataKey.objects.filter(agency=a.agency).exists()

    # A backup taken before cannot be read for A: its keys were wrapped by a master key that is
    # no longer in the key file (nor anywhere in the key directory).
    old_master = json.loads(backup["master_file"])
    new_master = keys.load_master_keys()
    assert not set(old_master["keys"]) & set(new_master.keys)
    for path in keys.key_dir().iterdir():
        for secret in old_master["keys"].values():
            assert secret not in path.read_text(errors="ignore")
    a_keys = [row for row in backup["data_keys"] if row["agency_id"] == a.agency_id]
    assert a_keys and all(row["master_key_id"] not in new_master.keys for row in a_keys)
    # Nor by the live keys: the value A had under the instance key, as the backup holds it, opens
    # with no key left (the instance's old key was deleted before the master key was replaced).
    assert not _opened_by_live_keys(backup["legacy"], "people.person.other_names")
    assert purge.instance_keys_replaced_at is not None

    # A's counts and indicators are as they were.
    assert _indicators(drill.a_people["paul"]) == indicators_before
    assert Case.objects.filter(agency=a.agency).count() == 1

    # B is untouched: its pages, its export, its searches and its raw values.
    shown_b = _everything_shown(drill.b_people, b)
    assert _leaks(shown_b, A) == []
    assert _leaks(shown_b, B) == B.texts
    assert set(_leaks(_exported(drill.b_people["pia"]), B)) >= {B.given, B.birth.isoformat()}
    assert _found_by_name(drill.b_people["xena"], b, B)
    assert B.note in _readable_values(b)
    assert Person.objects.get(pk=b.person_id).date_of_birth == B.birth
    assert _leaks(_raw_text(), B) == []
