"""An export with names is kept, not sent: sealed and encrypted again under the agency's key,
downloadable by its maker alone until it expires (then 410), erased by the worker's hourly job,
which leaves the row as history."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.core.schedule import load_registry
from casework.interchange import container
from casework.interchange.exporter import ConsentMissing
from casework.interchange.models import ExportFile, ExportRun
from casework.interchange.services import export_with_names, purge_expired_exports
from casework.interchange.tasks import purge_exports
from casework.interchange.tests.conftest import consent_to_export

PASSWORD = "correct horse battery"
FORM = {
    "file_format": "csv",
    "with_names": "on",
    "recipient_name": "Cluster Lead",
    "password": PASSWORD,
}


@pytest.fixture
def consented(register: Any, amina: Any) -> Any:
    """Two cases of amina's whose clients consented to an export to the Cluster Lead."""
    first = register(amina, given_name="Aminata", family_name="Keita")
    register(amina, given_name="Bintou", family_name="Sissoko")
    consent_to_export()
    return first


def _kept(by: Any) -> ExportFile:
    return export_with_names(by=by, recipient_name="Cluster Lead", password=PASSWORD)


def _expire(kept: ExportFile) -> None:
    ExportFile.objects.filter(pk=kept.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )


def _opened(content: bytes) -> str:
    files = container.open_container(content, PASSWORD)
    return files["cases.csv"].decode()


# --- kept, encrypted at rest --------------------------------------------------------------------


def test_it_is_kept_encrypted_under_the_agency_key(consented: Any, paul: Any) -> None:
    kept = _kept(paul)
    with connection.cursor() as cursor:
        cursor.execute("SELECT content FROM interchange_exportfile WHERE id = %s", [kept.pk])
        (raw,) = cursor.fetchone()
    sealed = base64.b64decode(ExportFile.objects.get(pk=kept.pk).content)
    # Not the sealed file, not its base64, not even its recognisable header: vault ciphertext.
    assert sealed[:4] == b"CWX1"
    assert base64.b64encode(sealed).decode() not in raw
    assert base64.b64encode(b"CWX1").decode()[:6] not in raw
    for name in ("Aminata", "Keita", "Bintou", "Cluster"):
        assert name not in raw
    # What the model reads back is the file the maker sealed: it opens with the password.
    assert "Aminata" in _opened(sealed)


def test_it_expires_after_the_configured_days(consented: Any, paul: Any, settings: Any) -> None:
    settings.CASEWORK_EXPORT_DAYS = 2
    kept = _kept(paul)
    assert kept.expires_at - kept.created_at == datetime.timedelta(days=2)
    settings.CASEWORK_EXPORT_DAYS = 7
    assert _kept(paul).expires_at - timezone.now() > datetime.timedelta(days=6, hours=23)
    entry = AuditEntry.objects.filter(action="interchange.export.stored").latest("id")
    newest = ExportFile.objects.latest("created_at", "pk")
    assert entry.data["days"] == 7 and entry.object_id == str(newest.pk)


def test_the_consent_check_still_refuses_and_nothing_is_kept(
    register: Any, amina: Any, paul: Any
) -> None:
    register(amina)
    with pytest.raises(ConsentMissing):
        _kept(paul)
    assert not ExportFile.objects.exists() and not ExportRun.objects.exists()
    assert AuditEntry.objects.filter(action="interchange.export.refused").count() == 1


# --- the screen --------------------------------------------------------------------------------


def test_the_screen_keeps_the_export_lists_it_and_lets_its_maker_download_it(
    consented: Any, paul: Any, login: Any, django_assert_max_num_queries: Any
) -> None:
    client = login(paul)
    made = client.post("/exports/", FORM)
    assert made.status_code == 302 and made["Location"] == "/exports/"
    kept = ExportFile.objects.get()
    assert (kept.created_by, kept.run.recipient_name, kept.run.cases) == (paul, "Cluster Lead", 2)
    with django_assert_max_num_queries(12):
        page = client.get("/exports/").content.decode()
    assert kept.name in page and f"/exports/{kept.pk}/download/" in page
    assert timezone.localtime(kept.expires_at).strftime("%Y-%m-%d %H:%M") in page

    download = client.get(f"/exports/{kept.pk}/download/")
    assert download.status_code == 200
    assert download["Cache-Control"] == "no-store"
    assert kept.name in download["Content-Disposition"]
    assert "Aminata" in _opened(download.content)
    kept.refresh_from_db()
    assert kept.downloads == 1 and kept.last_downloaded_at is not None
    entry = AuditEntry.objects.get(action="interchange.export.downloaded")
    assert (entry.actor_id, entry.object_id, entry.data) == (
        paul.pk,
        str(kept.pk),
        {"downloads": 1},
    )


def test_a_de_identified_export_is_still_the_answer_and_nothing_is_kept(
    consented: Any, paul: Any, login: Any
) -> None:
    response = login(paul).post("/exports/", {"file_format": "csv"})
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert not ExportFile.objects.exists()


def test_an_expired_export_is_gone_with_a_clear_message(
    consented: Any, paul: Any, login: Any
) -> None:
    kept = _kept(paul)
    _expire(kept)
    client = login(paul)
    gone = client.get(f"/exports/{kept.pk}/download/")
    assert gone.status_code == 410
    assert "expired" in gone.content.decode() and "CWX1" not in gone.content.decode()
    api = client.get(f"/api/v1/interchange/exports/{kept.pk}/file")
    assert api.status_code == 410 and api.json()["code"] == "export_expired"
    assert "Export again" in api.json()["message"]
    assert (
        AuditEntry.objects.filter(action="interchange.export.expired", outcome="denied").count()
        == 2
    )
    kept.refresh_from_db()
    assert kept.downloads == 0
    # The list says so instead of offering the file.
    page = client.get("/exports/").content.decode()
    assert f"/exports/{kept.pk}/download/" not in page and "Expired" in page


# --- only the maker ------------------------------------------------------------------------------


def test_nobody_but_the_maker_gets_it_not_even_another_manager(
    consented: Any,
    paul: Any,
    sam: Any,
    dana: Any,
    xena: Any,
    amina: Any,
    make_user: Any,
    agency: Any,
    other_agency: Any,
    login: Any,
) -> None:
    kept = _kept(paul)
    colleague = make_user("pat", agency=agency, role="programme_manager")
    elsewhere = make_user("pia", agency=other_agency, role="programme_manager")
    for user in (colleague, elsewhere, xena, sam, dana, amina):
        client = login(user)
        assert client.get(f"/exports/{kept.pk}/download/").status_code == 404, user
        assert client.get(f"/api/v1/interchange/exports/{kept.pk}/file").status_code == 404, user
    # The same 404 as for an export that does not exist; the attempts are audited.
    assert login(paul).get(f"/exports/{kept.pk + 1000}/download/").status_code == 404
    assert AuditEntry.objects.filter(action="interchange.export.denied").count() == 13
    # Nor is it on anyone else's list.
    for user in (colleague, elsewhere):
        assert login(user).get("/api/v1/interchange/exports").json() == []
        assert kept.name not in login(user).get("/exports/").content.decode()
    kept.refresh_from_db()
    assert kept.downloads == 0


def test_an_outsider_from_another_agency_gets_404_everywhere(
    consented: Any, paul: Any, xena: Any, login: Any
) -> None:
    kept = _kept(paul)
    client = login(xena)
    assert client.get("/exports/").status_code == 404
    assert client.get(f"/exports/{kept.pk}/download/").status_code == 404
    assert client.get("/api/v1/interchange/exports").status_code == 404
    assert client.get(f"/api/v1/interchange/exports/{kept.pk}/file").status_code == 404


def test_a_maker_whose_role_changed_loses_the_file(consented: Any, paul: Any, login: Any) -> None:
    kept = _kept(paul)
    paul.role = "caseworker"
    paul.save(update_fields=["role"])
    assert login(paul).get(f"/exports/{kept.pk}/download/").status_code == 404


# --- the API -------------------------------------------------------------------------------------


def test_the_api_answers_where_to_download_and_lists_the_callers_exports(
    consented: Any, paul: Any, login: Any, django_assert_max_num_queries: Any
) -> None:
    client = login(paul)
    body = {"with_names": True, "recipient_name": "Cluster Lead", "password": PASSWORD}
    made = client.post(
        "/api/v1/interchange/exports", json.dumps(body), content_type="application/json"
    )
    assert made.status_code == 201
    answer = made.json()
    assert answer["download"] == f"/api/v1/interchange/exports/{answer['id']}/file"
    assert made["Location"] == answer["download"] and answer["available"] is True
    assert "Aminata" in _opened(client.get(answer["download"]).content)
    _kept(paul)
    with django_assert_max_num_queries(8):
        listed = client.get("/api/v1/interchange/exports").json()
    assert [item["id"] for item in listed][1] == answer["id"]
    first = listed[1]
    assert (first["downloads"], first["recipient_name"], first["cases"]) == (1, "Cluster Lead", 2)
    assert first["expires_at"] and first["purged_at"] is None


# --- the worker ----------------------------------------------------------------------------------


def test_the_worker_erases_expired_files_hourly_and_keeps_their_history(
    consented: Any, paul: Any, login: Any
) -> None:
    job = load_registry()["casework.interchange.tasks.purge_exports"]
    assert job.interval == datetime.timedelta(hours=1)
    old, fresh = _kept(paul), _kept(paul)
    _expire(old)

    assert purge_exports.call() == {"purged": 1}

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.content == "" and old.purged_at is not None
    assert fresh.content != "" and fresh.purged_at is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT content FROM interchange_exportfile WHERE id = %s", [old.pk])
        assert cursor.fetchone() == ("",)
    # History: who exported what for whom, when, and when it was erased.
    assert (old.created_by, old.run.recipient_name, old.run.cases) == (paul, "Cluster Lead", 2)
    entry = AuditEntry.objects.get(action="interchange.export.purged")
    assert entry.actor_id is None
    assert entry.data == {"purged": 1, "agency_ids": [paul.agency_id], "agency_counts": [1]}
    # One entry per run, even when nothing was due; nothing is erased twice.
    assert purge_expired_exports() == {"purged": 0}
    assert AuditEntry.objects.filter(action="interchange.export.purged").count() == 2
    # The maker sees it erased, and its file is gone.
    client = login(paul)
    listed = {item["id"]: item for item in client.get("/api/v1/interchange/exports").json()}
    assert listed[old.pk]["purged_at"] and listed[old.pk]["download"] is None
    assert client.get(f"/exports/{old.pk}/download/").status_code == 410
    assert client.get(f"/exports/{fresh.pk}/download/").status_code == 200


def test_a_file_that_cannot_be_stored_leaves_no_run_and_no_audit_of_an_export(
    consented: Any, paul: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run, its audit entries and the stored file are one transaction: a run recorded
    without its file would say names left the system when nothing did."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    entries = AuditEntry.objects.count()
    monkeypatch.setattr(ExportFile.objects, "create", refuse)
    with pytest.raises(RuntimeError):
        _kept(paul)
    assert not ExportRun.objects.exists()
    assert AuditEntry.objects.count() == entries
