"""An export with names: only with the permission, only for cases whose consent covers it (or by
an allowed override), always audited, and only as a file encrypted under a password."""

from __future__ import annotations

from typing import Any

import pytest

from casework.accounts.roles import ROLE_PERMISSIONS, Perm, Role
from casework.audit.models import AuditEntry
from casework.core.errors import CaseworkError, ConsentRequired, NotAllowed
from casework.interchange import container
from casework.interchange.example import load_example
from casework.interchange.exporter import ConsentMissing, export_cases
from casework.interchange.models import ExportRun
from casework.interchange.tests.conftest import consent_to_export

PASSWORD = "correct horse battery"


@pytest.fixture
def example(agency: Any) -> None:
    load_example()


def _named(by: Any, **options: Any) -> Any:
    return export_cases(
        by=by,
        with_names=True,
        recipient_name=options.pop("recipient_name", "Cluster Lead"),
        password=options.pop("password", PASSWORD),
        **options,
    )


def test_it_is_refused_without_the_permission(example: None, sam: Any) -> None:
    consent_to_export()
    with pytest.raises(NotAllowed):
        _named(sam)  # a supervisor exports rows, but not names


def test_it_is_refused_for_cases_without_consent_and_lists_them(example: None, paul: Any) -> None:
    consent_to_export("C11-000001", "C11-000002")
    with pytest.raises(ConsentMissing) as refused:
        _named(paul)
    assert len(refused.value.case_refs) == 180
    assert "C11-000003" in refused.value.case_refs
    assert "C11-000001" not in refused.value.case_refs
    assert not ExportRun.objects.exists()
    # The refusals stay in the audit log though nothing was exported.
    assert AuditEntry.objects.filter(action="interchange.export.refused").count() == 1
    assert AuditEntry.objects.filter(action="cases.release.refused").count() == 180


def test_consent_to_another_organisation_does_not_count(example: None, paul: Any) -> None:
    consent_to_export(organisation="Someone Else")
    with pytest.raises(ConsentMissing):
        _named(paul)


def test_it_can_leave_out_the_refused_cases(example: None, paul: Any) -> None:
    consent_to_export("C11-000001", "C11-000002")
    export = _named(paul, leave_out_refused=True)
    files = container.open_container(export.sealed, PASSWORD)
    lines = files["cases.csv"].decode().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["C11-000001", "C11-000002"]
    assert len(export.refused) == 180
    assert export.run.cases == 2 and len(export.run.refused_case_ids) == 180


def test_the_file_opens_only_with_its_password(example: None, paul: Any) -> None:
    consent_to_export()
    export = _named(paul)
    assert export.sealed[:4] == b"CWX1"
    assert b"C11-000001" not in export.sealed  # nothing readable without the password
    files = container.open_container(export.sealed, PASSWORD)
    assert set(files) == {"cases.csv", "surveys.csv"}
    header = files["cases.csv"].decode().splitlines()[0].split(",")
    assert {"given_name", "family_name", "date_of_birth"} <= set(header)
    with pytest.raises(container.ContainerError):
        container.open_container(export.sealed, "wrong password!!")
    altered = bytearray(export.sealed)
    altered[-20] ^= 1
    with pytest.raises(container.ContainerError):
        container.open_container(bytes(altered), PASSWORD)


def test_a_short_password_is_refused(example: None, paul: Any) -> None:
    consent_to_export()
    with pytest.raises(CaseworkError):
        _named(paul, password="short")


def test_it_is_audited_and_recorded(example: None, paul: Any) -> None:
    consent_to_export()
    export = _named(paul, file_format="xlsx")
    run = ExportRun.objects.get()
    assert (run.with_names, run.recipient_name, run.cases, run.created_by) == (
        True,
        "Cluster Lead",
        182,
        paul,
    )
    entry = AuditEntry.objects.get(action="interchange.export.created")
    assert entry.data["with_names"] is True and entry.data["cases"] == 182
    assert set(container.open_container(export.sealed, PASSWORD)) == {"export.xlsx"}


def test_a_role_without_override_cannot_override(example: None, paul: Any) -> None:
    with pytest.raises(ConsentRequired):
        _named(paul, override_reason="The cluster needs them")
    assert AuditEntry.objects.filter(action="interchange.export.override_denied").exists()
    assert not ExportRun.objects.exists()


def test_an_allowed_role_may_override_with_a_reason(
    example: None, paul: Any, monkeypatch: Any
) -> None:
    allowed = ROLE_PERMISSIONS[Role.PROGRAMME_MANAGER] | {Perm.OVERRIDE_CONSENT}
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.PROGRAMME_MANAGER, allowed)
    export = _named(paul, override_reason="Court order 12/2026")
    assert export.run.cases == 182
    assert export.run.override_reason == "Court order 12/2026"
    assert AuditEntry.objects.filter(action="cases.release.overridden").count() == 182


def test_the_consent_check_reads_consents_in_bulk_not_case_by_case(
    example: None, paul: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    consent_to_export()
    with CaptureQueriesContext(connection) as captured:
        export = _named(paul)
    assert export.run.cases == 182
    consent_reads = [q for q in captured if 'FROM "cases_consent"' in q["sql"]]
    # One read of consents for every case (and one of their recipients), not one per case.
    assert len(consent_reads) <= 2, len(consent_reads)
