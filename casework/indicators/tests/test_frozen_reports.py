"""Reports as submitted (issue 17, item 9): an M&E officer freezes a period's report when it goes
to a donor; later refusals and corrections change today's figures, never the frozen ones, and the
report page shows both; every file comes back byte for byte; a database edit is detected."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.utils import timezone

from casework.accounts import agency_settings
from casework.audit.models import AuditEntry
from casework.cases.models import Case, Consent
from casework.indicators import frozen
from casework.indicators.exports import FORMATS
from casework.indicators.models import Dhis2Mapping, FrozenExport, FrozenReport
from casework.indicators.periods import Period, last_complete_quarter
from casework.indicators.tests.builders import CaseRows
from casework.people.models import Person

pytestmark = pytest.mark.django_db

API = "/api/v1/indicators/frozen"
PAGE = "/indicators/"


@pytest.fixture
def period() -> Period:
    return last_complete_quarter(timezone.localdate())


def _on(period: Period, days: int) -> str:
    return (period.start + datetime.timedelta(days=days)).isoformat()


@pytest.fixture
def twenty(agency: Any, period: Period) -> list[Case]:
    """Twenty women in case management during the period, each with a plan."""
    return CaseRows(agency).many(
        20,
        registered_on=_on(period, 5),
        assessed_on=_on(period, 7),
        plan_on=_on(period, 10),
        plan_text="Individual plan",
    )


def refuse_reporting(cases: list[Case], *, by: Any, on: datetime.date) -> None:
    """Their latest word on the period's last day: no anonymised reporting."""
    Consent.objects.bulk_create(
        Consent(
            case=case,
            receive_services=True,
            anonymised_reporting=False,
            given_on=on,
            recorded_by=by,
        )
        for case in cases
    )


def freeze_over_http(client: Any, period: Period, **extra: str) -> Any:
    body = {"period": str(period), "by": "sex", "recipient": "UNICEF Q3 donor report", **extra}
    return client.post(API, body, content_type="application/json")


def plan_total(report: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in report["indicators"] if item["code"] == "INDIVIDUAL_PLAN")


def test_it_freezes_a_report_with_its_files_settings_and_definitions(login, mei, twenty, period):
    client = login(mei)
    # One figure mapped to DHIS2: a DHIS2 export with nothing mapped is refused (dhis2.py).
    Dhis2Mapping.objects.create(
        agency_id=mei.agency_id,
        indicator_code="INDIVIDUAL_PLAN",
        data_element="AbCdEfGhIj1",
        org_unit="OrgUnit0001",
    )
    # What the indicators page hands out today, before freezing.
    query = {"period": str(period), "by": "sex"}
    live = {name: client.get(PAGE, {**query, "download": name}).content for name in FORMATS}

    answer = freeze_over_http(client, period)

    assert answer.status_code == 201, answer.content
    made = answer.json()
    assert made["version"] == 1 and made["recipient"] == "UNICEF Q3 donor report"
    assert made["min_cell"] == 5 and made["disaggregations"] == "sex"
    found = FrozenReport.objects.get(pk=made["id"])
    assert plan_total(found.report)["denominator"] == 20
    assert found.settings["indicators.min_cell"]["value"] == 5
    assert {d["code"] for d in found.definitions} >= {"INDIVIDUAL_PLAN"}
    assert found.definitions_hash == frozen.definitions_hash(
        frozen.definitions_in_use(mei.agency_id)
    )
    assert frozen.verify(found)
    # Every format as the page rendered it: CSV, JSON, HXL, DHIS2 identical; the XLSX is
    # kept as rendered at freezing (a workbook carries the time it was written).
    files = {f.file_format: bytes(f.content) for f in found.files.all()}
    assert set(files) == set(FORMATS)
    for name in ("json", "csv", "hxl", "dhis2"):
        assert files[name] == live[name], name
    assert files["xlsx"].startswith(b"PK")
    # Freezing is audited, with codes only.
    entry = AuditEntry.objects.get(action=frozen.FROZEN)
    assert entry.actor_id == mei.pk
    assert entry.data == {"period": str(period), "version": 1, "disaggregations": [["sex"]]}


def test_the_report_page_shows_frozen_figures_beside_todays_after_a_refusal_and_a_correction(
    login, mei, amina, twenty, period
):
    client = login(mei)
    made = freeze_over_http(client, period).json()
    downloads = {name: client.get(f"{API}/{made['id']}/file", {"format": name}) for name in FORMATS}

    # After the report went out: three persons refuse anonymised reporting, and corrections
    # record five others as men.
    refuse_reporting(twenty[:3], by=amina, on=period.end)
    Person.objects.filter(pk__in=[case.person_id for case in twenty[3:8]]).update(sex="male")

    page = client.get(PAGE, {"period": str(period), "by": "sex"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "As submitted: version 1, sent to UNICEF Q3 donor report" in body
    assert "Signature checked" in body
    assert "differ today from the ones submitted" in body
    comparison = page.context["comparison"]
    pairs = {(p.indicator, p.disaggregation, p.key, p.figure): p for p in comparison.pairs}
    denominator = pairs["INDIVIDUAL_PLAN", "", "", "denominator"]
    assert (denominator.frozen, denominator.today, denominator.changed) == (20, 17, True)
    female = pairs["INDIVIDUAL_PLAN", "sex", "female", "denominator"]
    assert (female.frozen, female.today) == (20, 12)
    male = pairs["INDIVIDUAL_PLAN", "sex", "male", "denominator"]
    assert (male.in_frozen, male.today, male.changed) == (False, 5, True)
    # The frozen report's own page and the API say the same.
    detail = client.get(f"/indicators/frozen/{made['id']}/")
    assert detail.status_code == 200 and "changed" in detail.content.decode()
    compared = client.get(f"{API}/{made['id']}/comparison").json()
    assert compared["signature_ok"] is True and compared["changed"] >= 2
    assert plan_total(compared["frozen"])["denominator"] == 20
    assert plan_total(compared["today"])["denominator"] == 17
    denominators = [
        figure
        for figure in compared["figures"]
        if (figure["indicator"], figure["disaggregation"], figure["figure"])
        == ("INDIVIDUAL_PLAN", "", "denominator")
    ]
    assert denominators == [
        {
            "indicator": "INDIVIDUAL_PLAN",
            "disaggregation": "",
            "key": "",
            "figure": "denominator",
            "frozen": 20,
            "today": 17,
            "in_frozen": True,
            "in_today": True,
            "changed": True,
        }
    ]
    assert type(denominators[0]["frozen"]) is int  # a count stays a count, not 20.0
    # The frozen figures and files did not move: byte for byte, same type and name.
    assert plan_total(FrozenReport.objects.get(pk=made["id"]).report)["denominator"] == 20
    for name, before in downloads.items():
        again = client.get(f"{API}/{made['id']}/file", {"format": name})
        screen = client.get(f"/indicators/frozen/{made['id']}/download.{name}")
        assert before.status_code == again.status_code == screen.status_code == 200
        assert again.content == before.content == screen.content, name
        assert again["Content-Type"] == before["Content-Type"] == FORMATS[name][0]
        assert again["Content-Disposition"] == before["Content-Disposition"]
        assert screen["Content-Disposition"] == before["Content-Disposition"]
    # Today's download, by contrast, has moved on.
    today = client.get(PAGE, {"period": str(period), "by": "sex", "download": "csv"})
    assert today.content != downloads["csv"].content


def test_a_report_page_without_a_frozen_version_shows_no_comparison(login, mei, twenty, period):
    freeze_over_http(login(mei), period)
    # Other disaggregations than the frozen ones: nothing to put beside.
    page = login(mei).get(PAGE, {"period": str(period), "by": "age_group"})
    assert page.status_code == 200
    assert "comparison" not in page.context
    assert "As submitted" not in page.content.decode()


def test_a_database_edit_of_a_frozen_figure_fails_the_signature(login, mei, sam, twenty, period):
    made = freeze_over_http(login(mei), period).json()
    found = FrozenReport.objects.get(pk=made["id"])
    assert frozen.verify(found)

    # Someone with the database but not the key raises a figure.
    edited = json.loads(json.dumps(found.report))
    plan_total(edited)["denominator"] = 25
    FrozenReport.objects.filter(pk=found.pk).update(report=edited)

    assert not frozen.verify(found)
    client = login(sam)
    detail = client.get(f"/indicators/frozen/{found.pk}/")
    assert detail.status_code == 200
    assert "The signature does not match" in detail.content.decode()
    assert client.get(f"{API}/{found.pk}").json()["signature_ok"] is False
    refused = client.get(f"{API}/{found.pk}/file", {"format": "csv"})
    assert refused.status_code == 409 and refused.json()["code"] == "signature_mismatch"
    assert client.get(f"/indicators/frozen/{found.pk}/download.csv").status_code == 409
    page = client.get(PAGE, {"period": str(period), "by": "sex"})
    assert "The signature does not match" in page.content.decode()


def test_a_database_edit_of_a_frozen_file_fails_the_signature(login, mei, twenty, period):
    made = freeze_over_http(login(mei), period).json()
    found = FrozenReport.objects.get(pk=made["id"])
    FrozenExport.objects.filter(frozen_report=found, file_format="csv").update(
        content=b"indicator,value\nINDIVIDUAL_PLAN,99\n"
    )
    assert not frozen.verify(found)


def test_freezing_again_is_a_new_version_with_its_reason(login, paul, mei, twenty, period):
    first = freeze_over_http(login(mei), period).json()

    refused = freeze_over_http(login(paul), period)
    assert refused.status_code == 400
    assert refused.json()["field"] == "reason"

    again = freeze_over_http(login(paul), period, reason="The donor asked for the corrected Q3.")
    assert again.status_code == 201
    assert again.json()["version"] == 2
    assert FrozenReport.objects.get(pk=first["id"]).version == 1
    listed = login(mei).get(API).json()
    assert [item["version"] for item in listed] == [2, 1]
    # Another disaggregation of the same period is a report of its own: version 1.
    other = freeze_over_http(login(mei), period, by="age_group")
    assert other.json()["version"] == 1


def test_the_freeze_screen_freezes_and_shows_the_report(login, mei, twenty, period):
    client = login(mei)
    form = client.get("/indicators/frozen/new/", {"period": str(period), "by": "sex"})
    assert form.status_code == 200
    answer = client.post(
        "/indicators/frozen/new/",
        {"period": str(period), "by": ["sex"], "recipient": "Protection cluster 5W"},
    )
    assert answer.status_code == 302
    made = FrozenReport.objects.get()
    assert answer["Location"] == f"/indicators/frozen/{made.pk}/"
    assert made.disaggregations == "sex" and made.recipient == "Protection cluster 5W"
    listing = client.get("/indicators/frozen/")
    assert "Protection cluster 5W" in listing.content.decode()
    # Without a recipient nothing is frozen, and the form says why.
    empty = client.post("/indicators/frozen/new/", {"period": str(period), "by": ["sex"]})
    assert empty.status_code == 400
    assert FrozenReport.objects.count() == 1


def test_a_recipient_must_be_named_in_one_short_line(login, mei, period):
    client = login(mei)
    for recipient in ("", "   ", "x" * 201, "UNICEF\nQ3"):
        answer = freeze_over_http(client, period, recipient=recipient)
        assert answer.status_code == 400, recipient
        assert answer.json()["field"] == "recipient"
    assert not FrozenReport.objects.exists()


def test_a_period_that_has_not_ended_is_not_frozen(login, mei):
    today = timezone.localdate()
    running = Period(today.replace(day=1), today + datetime.timedelta(days=30))
    answer = freeze_over_http(login(mei), running)
    assert answer.status_code == 400
    assert answer.json()["field"] == "period"
    assert not FrozenReport.objects.exists()


def test_who_may_freeze_and_who_may_see_frozen_reports(
    login, mei, paul, sam, amina, xena, priya, twenty, period
):
    made = freeze_over_http(login(mei), period).json()
    paths = [
        "/indicators/frozen/",
        f"/indicators/frozen/{made['id']}/",
        f"/indicators/frozen/{made['id']}/download.csv",
        API,
        f"{API}/{made['id']}",
        f"{API}/{made['id']}/file",
        f"{API}/{made['id']}/comparison",
    ]
    # The agency's supervisors, programme managers and M&E officers see them (aggregates).
    for user in (mei, paul, sam):
        for path in paths:
            assert login(user).get(path).status_code == 200, (user.username, path)
    # A caseworker, another agency's user and a partner: the same 404 as for nothing.
    for user in (amina, xena, priya):
        for path in paths:
            assert login(user).get(path).status_code == 404, (user.username, path)
    # Freezing: M&E officers and programme managers; a supervisor only reads.
    assert login(sam).get("/indicators/frozen/new/").status_code == 404
    assert freeze_over_http(login(sam), period, reason="again").status_code == 404
    assert freeze_over_http(login(xena), period, reason="again").status_code == 404
    assert freeze_over_http(login(paul), period, reason="again").status_code == 201
    # A frozen report of another agency is never theirs.
    assert login(xena).get(f"{API}/{made['id']}/comparison").status_code == 404


def test_the_list_of_frozen_reports_reads_in_a_bounded_number_of_queries(
    login, mei, twenty, period, django_assert_max_num_queries
):
    client = login(mei)
    for number in range(3):
        freeze_over_http(client, period, reason=f"Correction {number}")
    with django_assert_max_num_queries(12):
        assert client.get("/indicators/frozen/").status_code == 200
    with django_assert_max_num_queries(12):
        assert len(client.get(API).json()) == 3


def test_the_order_of_the_disaggregations_does_not_make_another_report(login, mei, twenty, period):
    client = login(mei)
    made = freeze_over_http(client, period, by="sex+age_group,age_group,sex").json()
    assert made["disaggregations"] == "sex,age_group,sex+age_group"
    page = client.get(
        PAGE, {"period": str(period), "by": ["age_group", "sex"], "pair": "sex+age_group"}
    )
    assert page.context["frozen_report"].pk == made["id"]
    assert page.context["changed_count"] == 0
    assert "Every figure is today what it was when submitted." in page.content.decode()


def test_a_setting_changed_after_freezing_leaves_the_frozen_one_as_it_was(
    login, mei, adam, twenty, period
):
    made = freeze_over_http(login(mei), period).json()
    # The administrator raises the smallest count published after the report went out.
    agency_settings.change(by=adam, key="indicators.min_cell", value=10)

    detail = login(mei).get(f"{API}/{made['id']}").json()
    assert detail["min_cell"] == 5
    assert detail["settings_in_force"]["indicators.min_cell"] == 5
    assert detail["signature_ok"] is True
    # Today's figures beside them never go below what the agency now publishes.
    compared = login(mei).get(f"{API}/{made['id']}/comparison").json()
    assert compared["today_min_cell"] == 10
    # The page counts at the new threshold and says the two differ.
    page = login(mei).get(PAGE, {"period": str(period), "by": "sex"})
    assert page.context["frozen_report"].pk == made["id"]
    assert "the frozen ones with 5" in page.content.decode()


def test_the_indicators_page_proves_the_frozen_figures_without_reading_the_files(
    login, mei, twenty, period
):
    """The page is loaded often: it checks the signature over the figures and the files' stored
    hashes, never reading the files' bytes; the file's own download checks its bytes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    made = freeze_over_http(login(mei), period).json()
    client = login(mei)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(PAGE, {"period": str(period), "by": "sex"})
    assert page.status_code == 200 and "The signature does not match" not in page.content.decode()
    export_reads = [q["sql"] for q in queries if "indicators_frozenexport" in q["sql"]]
    assert export_reads and not any('"content"' in sql for sql in export_reads), export_reads
    # A file's bytes edited in the database: the download refuses it.
    FrozenExport.objects.filter(frozen_report_id=made["id"], file_format="csv").update(
        content=b"indicator,value\nINDIVIDUAL_PLAN,99\n"
    )
    assert client.get(f"{API}/{made['id']}/file", {"format": "csv"}).status_code == 409
