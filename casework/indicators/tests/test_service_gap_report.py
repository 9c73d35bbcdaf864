"""The service-gap report: unmet needs by need × area and referral outcomes by organisation on a
known data set, exact figures unsuppressed, small cells and those that would give them away
suppressed, the same figures in every export, and the indicators' audience only."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from casework.indicators.tests.builders import CaseRows
from casework.referrals.models import Organisation, Referral, ReferralEvent, Service, UnmetNeed

PAGE = "/indicators/service-gaps/"
API = "/api/v1/indicators/service-gaps"


def _at(text: str) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.fromisoformat(text))


@pytest.fixture
def known(agency: Any, amina: Any) -> dict[str, Any]:
    """Q3 2026 (1 July – 30 September):

    unmet needs, one per person and case:
    - health, NE-01 (in NE), no service: 6, recorded 15 July, still open;
    - health, SO, full: 2, recorded 1 August, one resolved 10 September;
    - legal, SO, no service: 5, recorded 1 June, still open (stands in Q3, not new in it);
    - health, NE: one resolved 20 June and one recorded 5 October (both outside Q3).
    referrals to PRT, one case each: 7 sent in Q3 (4 accepted the next day and delivered 2, 4,
    6 and 8 days after sending; 1 accepted only; 1 declined; 1 sent 28 September, accepted the
    next day and delivered 3 October, after the period); 1 sent in June (outside).
    """
    rows = CaseRows(agency)

    def gaps(count: int, need: str, area: str, reason: str, recorded: str, **more: Any) -> None:
        for case in rows.many(count, location=area):
            UnmetNeed.objects.create(
                case=case,
                need_code=need,
                location=case.location,
                reason=reason,
                step="plan",
                recorded_by=amina,
                recorded_on=datetime.date.fromisoformat(recorded),
                recorded_at=_at(f"{recorded}T10:00"),
                **more,
            )

    gaps(6, "health", "NE-01", "no_service", "2026-07-15")
    gaps(1, "health", "SO", "full", "2026-08-01")
    gaps(1, "health", "SO", "full", "2026-08-01", resolved_on=datetime.date(2026, 9, 10))
    gaps(5, "legal", "SO", "no_service", "2026-06-01")
    gaps(1, "health", "NE", "full", "2026-05-01", resolved_on=datetime.date(2026, 6, 20))
    gaps(1, "health", "NE", "full", "2026-10-05")

    clinic = Organisation.objects.create(code="PRT", name="Partner Clinic")
    care = Service.objects.create(
        organisation=clinic, name="Health care", sector="health", nationwide=True
    )

    def referral(sent: str, *events: tuple[str, float]) -> None:
        (case,) = rows.many(1, location="NE-01")
        sent_at = _at(sent)
        made = Referral.objects.create(
            case=case,
            service=care,
            organisation=clinic,
            need_code="health",
            sent_by=amina,
            sent_at=sent_at,
            answer_due_at=sent_at + datetime.timedelta(days=5),
            status=events[-1][0] if events else "sent",
        )
        ReferralEvent.objects.create(referral=made, status="sent", at=sent_at, by=amina)
        for status, days in events:
            ReferralEvent.objects.create(
                referral=made, status=status, at=sent_at + datetime.timedelta(days=days), by=amina
            )

    for days in (2, 4, 6, 8):
        referral("2026-07-01T09:00", ("accepted", 1), ("delivered", days))
    referral("2026-07-20T09:00", ("accepted", 1))
    referral("2026-08-03T09:00", ("declined", 2))
    referral("2026-09-28T09:00", ("accepted", 1), ("delivered", 5))
    referral("2026-06-20T09:00", ("accepted", 1), ("delivered", 2))
    return {"rows": rows}


def _report(client: Any, **query: Any) -> dict[str, Any]:
    response = client.get(API, {"period": "2026-Q3", **query})
    assert response.status_code == 200, response.content
    return response.json()


def test_it_counts_the_known_data_set_exactly(login: Any, paul: Any, known: Any) -> None:
    report = _report(login(paul), min_cell=1)
    gaps = report["unmet_needs"]
    assert gaps["persons"] == 13
    assert gaps["by_area"] == {"NE": 6, "SO": 7}
    assert gaps["by_reason"] == {"no_service": 11, "full": 2}
    needs = {row["need"]: row for row in gaps["needs"]}
    assert needs["health"] == {
        "need": "health",
        "persons": 8,
        "cases": 8,
        "new_in_period": 8,
        "open_at_end": 7,
        "by_area": {"NE": 6, "SO": 2},
        "by_reason": {"no_service": 6, "full": 2},
    }
    assert needs["legal"] == {
        "need": "legal",
        "persons": 5,
        "cases": 5,
        "new_in_period": 0,
        "open_at_end": 5,
        "by_area": {"NE": 0, "SO": 5},
        "by_reason": {"no_service": 5, "full": 0},
    }
    (clinic,) = report["referral_outcomes"]["organisations"]
    assert clinic == {
        "organisation": "PRT",
        "name": "Partner Clinic",
        "sent": 7,
        "accepted": 6,
        "declined": 1,
        "delivered": 4,
        "cancelled": 0,
        "awaiting": 0,
        "median_days_to_service": 5.0,
        "mean_days_to_service": 5.0,
    }
    assert report["referral_outcomes"]["total"]["sent"] == 7
    assert report["left_out"] == 0 and report["min_cell"] == 1


def test_it_groups_by_the_admin_level_asked_for(login: Any, paul: Any, known: Any) -> None:
    report = _report(login(paul), min_cell=1, level=2)
    # NE-01 is a level-2 area; SO is a region only, so its gaps have no level-2 area.
    assert report["unmet_needs"]["by_area"] == {"": 7, "NE-01": 6}


def test_small_cells_and_the_cells_that_would_give_them_away_are_suppressed(
    login: Any, mei: Any, known: Any
) -> None:
    report = _report(login(mei))
    assert report["min_cell"] == 5
    gaps = report["unmet_needs"]
    assert gaps["persons"] == 13 and gaps["by_area"] == {"NE": 6, "SO": 7}
    # 2 persons "full" is small; with one other reason, the total gives it away: both hidden.
    assert gaps["by_reason"] == {"no_service": None, "full": None}
    needs = {row["need"]: row for row in gaps["needs"]}
    # Health in SO (2) is small; with every margin published, the whole 2 × 2 table goes.
    assert needs["health"]["by_area"] == {"NE": None, "SO": None}
    assert needs["legal"]["by_area"] == {"NE": None, "SO": None}
    assert needs["health"]["by_reason"] == {"no_service": None, "full": None}
    assert needs["legal"]["by_reason"] == {"no_service": 5, "full": 0}
    # 7 of 8 still open: the one resolved would be 8 - 7.
    assert needs["health"]["open_at_end"] is None and needs["health"]["persons"] == 8
    assert needs["legal"]["open_at_end"] == 5
    (clinic,) = report["referral_outcomes"]["organisations"]
    assert clinic["sent"] == 7
    assert clinic["accepted"] is None and clinic["declined"] is None
    assert clinic["delivered"] is None
    assert clinic["cancelled"] == 0 and clinic["awaiting"] == 0
    assert clinic["median_days_to_service"] is None and clinic["mean_days_to_service"] is None


def test_a_smaller_threshold_needs_the_permission(login: Any, mei: Any, known: Any) -> None:
    refused = login(mei).get(API, {"period": "2026-Q3", "min_cell": 1})
    assert refused.status_code == 403


def test_the_page_shows_the_figures_and_offers_the_exports(
    login: Any, mei: Any, known: Any
) -> None:
    client = login(mei)
    page = client.get(PAGE, {"period": "2026-Q3", "level": 1})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Legal aid" in body and "Health" in body
    assert "Partner Clinic" in body and "suppressed" in body
    assert "download=csv" in body and "download=xlsx" in body
    bad = client.get(PAGE, {"period": "someday", "level": 1})
    assert bad.status_code == 400


def test_the_csv_and_xlsx_hold_the_same_figures_as_the_page(
    login: Any, mei: Any, paul: Any, known: Any
) -> None:
    suppressed = login(mei).get(PAGE, {"period": "2026-Q3", "level": 1, "download": "csv"})
    assert suppressed.status_code == 200
    assert (
        suppressed["Content-Disposition"] == 'attachment; filename="service-gaps-AGY-2026-Q3.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(suppressed.content.decode())))
    cell = next(
        row
        for row in rows
        if row["table"] == "unmet_needs" and (row["need"], row["area"]) == ("health", "SO")
    )
    assert (cell["value"], cell["suppressed"]) == ("", "yes")
    total = next(row for row in rows if (row["need"], row["area"], row["reason"]) == ("*",) * 3)
    assert (total["value"], total["suppressed"]) == ("13", "")
    sent = next(
        row
        for row in rows
        if row["table"] == "referral_outcomes"
        and (row["organisation"], row["figure"]) == ("PRT", "sent")
    )
    assert sent["value"] == "7"
    exact = login(paul).get(API, {"period": "2026-Q3", "min_cell": 1, "format": "xlsx"})
    assert exact.status_code == 200
    workbook = load_workbook(io.BytesIO(exact.content))
    assert workbook.sheetnames == ["unmet_needs", "referral_outcomes"]
    outcomes = [
        [cell.value for cell in row] for row in workbook["referral_outcomes"].iter_rows(min_row=7)
    ]
    assert ["PRT", "median_days_to_service", 5.0, None] in outcomes
    assert ["PRT", "delivered", 4, None] in outcomes


def test_another_agency_sees_none_of_these_figures(
    login: Any, make_user: Any, other_agency: Any, known: Any
) -> None:
    elsewhere = make_user("ola", agency=other_agency, role="me_officer")
    report = _report(login(elsewhere))
    assert report["unmet_needs"]["persons"] == 0 and report["unmet_needs"]["needs"] == []
    assert report["referral_outcomes"]["organisations"] == []


@pytest.mark.parametrize("who", ["amina", "priya", "dana", "xena"])
def test_the_report_is_404_outside_the_indicators_audience(
    login: Any, request: pytest.FixtureRequest, who: str
) -> None:
    client = login(request.getfixturevalue(who))
    assert client.get(PAGE, {"period": "2026-Q3"}).status_code == 404
    assert client.get(API, {"period": "2026-Q3"}).status_code == 404


def test_persons_refusing_anonymised_reporting_are_left_out_and_counted_as_such(
    login: Any, paul: Any, amina: Any, known: Any
) -> None:
    from casework.cases.models import Consent

    refusing = list(
        UnmetNeed.objects.filter(need_code="legal").values_list("case_id", flat=True)[:2]
    )
    Consent.objects.bulk_create(
        Consent(
            case_id=case_id,
            receive_services=True,
            anonymised_reporting=False,
            given_on=datetime.date(2026, 9, 1),
            recorded_by=amina,
        )
        for case_id in refusing
    )
    report = _report(login(paul), min_cell=1)
    assert report["left_out"] == 2
    assert report["unmet_needs"]["persons"] == 11
    needs = {row["need"]: row for row in report["unmet_needs"]["needs"]}
    assert needs["legal"]["persons"] == 3 and needs["legal"]["by_area"] == {"NE": 0, "SO": 3}
