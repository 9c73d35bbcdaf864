"""The consortium report over HTTP: who sees it, agreements, suppression across reports, the
link a transfer leaves, and the DHIS2 mapping (issue 17, item 8)."""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone

from casework.accounts.models import Agency, Team
from casework.audit.models import AuditEntry
from casework.cases import services, workflow
from casework.cases.models import Case, Status
from casework.indicators.consortium import REMAINING_OVERLAP, build_consortium_report
from casework.indicators.consortium_models import ConsortiumAgreement, PersonLink
from casework.indicators.dimensions import parse_by
from casework.indicators.models import Dhis2Mapping, ReportingPolicy
from casework.indicators.periods import parse_period
from casework.indicators.report import build_report
from casework.indicators.tests.builders import CaseRows
from casework.people.models import Person

pytestmark = pytest.mark.django_db

PAGE = "/indicators/consortium/"
API = "/api/v1/indicators/consortium"
AGREEMENTS = "/indicators/consortium/agreements/"
Q3 = parse_period("2026-Q3")


@pytest.fixture
def member_admin(make_user, other_agency):
    return make_user("otto", agency=other_agency, role="none", is_administrator=True)


@pytest.fixture
def member_me(make_user, other_agency):
    return make_user("mona", agency=other_agency, role="me_officer")


@pytest.fixture
def third(db):
    return Agency.objects.create(code="THD", name="Third Agency", require_mfa=False)


@pytest.fixture
def outsider_me(make_user, third):
    return make_user("tess", agency=third, role="me_officer")


@pytest.fixture
def shared(agency, other_agency, member_admin, adam):
    """The other agency shares with ours (the lead) from the start of 2026; adam accepted."""
    return ConsortiumAgreement.objects.create(
        member=other_agency,
        lead=agency,
        starts_on=datetime.date(2026, 1, 1),
        agreed_by=member_admin,
        agreed_at=timezone.now(),
        accepted_by=adam,
        accepted_at=timezone.now(),
    )


def _figures_by_sex(agency, other_agency):
    """Ours: 20 men, 20 women. Theirs: 12 women, and 2 men that their own report hides."""
    ours, theirs = CaseRows(agency), CaseRows(other_agency)
    ours.many(40, age=12)
    men = Person.objects.filter(agency=agency).order_by("pk").values_list("pk", flat=True)[:20]
    Person.objects.filter(pk__in=list(men)).update(sex="male")
    theirs.many(12, age=12)
    for number in range(2):
        theirs.case(f"TM-{number}", f"TMP-{number}", sex="male", age=12)


# --- who sees what -------------------------------------------------------------------------------


def test_the_leads_me_officer_and_programme_manager_see_the_consortium_report(
    login, agency, other_agency, shared, mei, paul
):
    _figures_by_sex(agency, other_agency)
    for user in (mei, paul):
        page = login(user).get(PAGE, {"period": "2026-Q3", "by": "sex"})
        assert page.status_code == 200
        text = page.content.decode()
        assert "Other Agency (OTH)" in text and "Test Agency (AGY)" in text
        assert str(REMAINING_OVERLAP)[:60] in text  # the overlap that remains, stated
        answer = login(user).get(API, {"period": "2026-Q3", "by": "sex"})
        assert answer.status_code == 200
        body = answer.json()
        assert body["consortium"]["members"] == ["AGY", "OTH"]
        assert body["consortium"]["remaining_overlap"] == str(REMAINING_OVERLAP)
        children = next(i for i in body["indicators"] if i["code"] == "CM_CHILDREN_YOUTH")
        assert children["value"] == 20 + 20 + 12 + 2
        # Downloaded from the page: the same figures, with what the roll-up says of itself.
        download = login(user).get(PAGE, {"period": "2026-Q3", "by": "sex", "download": "json"})
        assert download.status_code == 200
        assert download["Content-Disposition"].startswith('attachment; filename="indicators-AGY-')
        assert json.loads(download.content)["consortium"]["members"] == ["AGY", "OTH"]
        csv = login(user).get(PAGE, {"period": "2026-Q3", "by": "sex", "download": "csv"})
        assert csv.status_code == 200 and b"CM_CHILDREN_YOUTH" in csv.content
        # The indicators page leads there.
        assert PAGE in login(user).get("/indicators/").content.decode()


def test_anyone_else_gets_404(
    login, agency, other_agency, shared, sam, amina, adam, xena, member_me, outsider_me, priya
):
    # The lead's supervisor, caseworker and administrator; the member's M&E officer (who sees
    # only its own agency's report); another agency's users; a partner.
    for user in (sam, amina, adam, xena, member_me, outsider_me, priya):
        assert login(user).get(PAGE, {"period": "2026-Q3"}).status_code == 404, user
        assert login(user).get(API, {"period": "2026-Q3"}).status_code == 404, user


def test_an_agency_that_leads_nothing_has_no_consortium_page(login, agency, mei):
    assert login(mei).get(PAGE).status_code == 404
    assert AuditEntry.objects.filter(action="access.denied").exists()


def test_a_members_users_see_their_own_figures_not_another_members(
    login, agency, other_agency, shared, member_me
):
    _figures_by_sex(agency, other_agency)
    answer = login(member_me).get("/api/v1/indicators", {"period": "2026-Q3"})
    assert answer.status_code == 200
    children = next(i for i in answer.json()["indicators"] if i["code"] == "CM_CHILDREN_YOUTH")
    assert children["value"] == 14  # theirs alone, not the lead's 40
    assert login(member_me).get(API, {"period": "2026-Q3"}).status_code == 404


# --- agreements ----------------------------------------------------------------------------------


def test_a_member_agrees_and_revokes_and_the_lead_report_follows(
    login, agency, other_agency, member_admin, mei, adam, xena
):
    _figures_by_sex(agency, other_agency)
    admin = login(member_admin)
    assert AGREEMENTS in admin.get("/administration/").content.decode()
    assert admin.get(AGREEMENTS).status_code == 200
    answer = admin.post(AGREEMENTS, {"lead": "AGY", "starts_on": "2026-01-01", "ends_on": ""})
    assert answer.status_code == 302
    agreement = ConsortiumAgreement.objects.get()
    assert (agreement.member, agreement.lead) == (other_agency, agency)
    assert AuditEntry.objects.filter(action="indicators.consortium.agreed").exists()
    assert (
        login(adam).post(f"/indicators/consortium/received/{agreement.pk}/accept/").status_code
        == 302
    )
    assert login(mei).get(API, {"period": "2026-Q3"}).json()["consortium"]["members"] == [
        "AGY",
        "OTH",
    ]
    # The lead's administrator sees it, but may not revoke it; another agency's user sees nothing.
    assert "Other Agency" in login(adam).get(AGREEMENTS).content.decode()
    assert login(adam).post(f"{AGREEMENTS}{agreement.pk}/revoke/").status_code == 404
    assert login(xena).get(AGREEMENTS).status_code == 404
    assert admin.post(f"{AGREEMENTS}{agreement.pk}/revoke/").status_code == 302
    agreement.refresh_from_db()
    assert agreement.revoked_at is not None and agreement.revoked_by == member_admin
    assert AuditEntry.objects.filter(action="indicators.consortium.revoked").exists()
    body = login(mei).get(API, {"period": "2026-Q3"}).json()
    assert body["consortium"]["members"] == ["AGY"]
    children = next(i for i in body["indicators"] if i["code"] == "CM_CHILDREN_YOUTH")
    assert children["value"] == 40


def test_an_agreement_covers_only_the_periods_inside_its_dates(
    login, agency, other_agency, member_admin, mei, adam
):
    answer = login(member_admin).post(
        AGREEMENTS, {"lead": "AGY", "starts_on": "2026-08-01", "ends_on": "2026-12-31"}
    )
    assert answer.status_code == 302
    agreement = ConsortiumAgreement.objects.get()
    assert (
        login(adam).post(f"/indicators/consortium/received/{agreement.pk}/accept/").status_code
        == 302
    )
    members = lambda period: login(mei).get(API, {"period": period}).json()["consortium"]  # noqa: E731
    assert members("2026-Q3")["members"] == ["AGY"]  # starts inside Q3: not covered
    assert members("2026-Q4")["members"] == ["AGY", "OTH"]
    bad = login(member_admin).post(
        AGREEMENTS, {"lead": "AGY", "starts_on": "2026-08-01", "ends_on": "2026-07-01"}
    )
    assert bad.status_code == 400 and "The end comes before the start." in bad.content.decode()


RECEIVED = "/indicators/consortium/received/"


def test_a_proposal_counts_only_once_the_leads_administrator_accepts_it(
    login, agency, other_agency, third, member_admin, adam, mei, make_user
):
    """A stranger naming our agency as its lead changes nothing in our report (figures and
    threshold) until our administrator accepts; nobody else may accept for us."""
    _figures_by_sex(agency, other_agency)
    CaseRows(third).many(6, age=12)
    third_admin = make_user("theo", agency=third, role="none", is_administrator=True)
    ConsortiumAgreement.objects.create(  # the consortium we lead already: THD, accepted
        member=third,
        lead=agency,
        starts_on=datetime.date(2026, 1, 1),
        agreed_by=third_admin,
        agreed_at=timezone.now(),
        accepted_by=adam,
        accepted_at=timezone.now(),
    )
    ReportingPolicy.objects.create(agency=other_agency, min_cell=30)  # would blank our report

    def consortium_report():
        body = login(mei).get(API, {"period": "2026-Q3", "by": "sex"}).json()
        children = next(i for i in body["indicators"] if i["code"] == "CM_CHILDREN_YOUTH")
        return body["consortium"]["members"], body["consortium"]["min_cell"], children["value"]

    before = consortium_report()
    assert before == (["AGY", "THD"], 5, 40 + 6)
    proposed = login(member_admin).post(
        AGREEMENTS, {"lead": "AGY", "starts_on": "2026-01-01", "ends_on": ""}
    )
    assert proposed.status_code == 302
    agreement = ConsortiumAgreement.objects.get(member=other_agency)
    assert agreement.is_pending
    assert consortium_report() == before  # figures and threshold unchanged
    assert "waiting for your answer" in login(adam).get(AGREEMENTS).content.decode()
    # The member may not accept its own proposal; another agency's administrator may not either.
    for user in (member_admin, third_admin):
        for action in ("accept", "refuse"):
            assert login(user).post(f"{RECEIVED}{agreement.pk}/{action}/").status_code == 404
    assert login(adam).get(f"{RECEIVED}{agreement.pk}/accept/").status_code == 405
    agreement.refresh_from_db()
    assert agreement.is_pending and consortium_report() == before
    # Our administrator accepts: now it counts (its threshold too).
    assert login(adam).post(f"{RECEIVED}{agreement.pk}/accept/").status_code == 302
    agreement.refresh_from_db()
    assert agreement.accepted_by == adam and agreement.accepted_at is not None
    assert AuditEntry.objects.filter(action="indicators.consortium.accepted", actor=adam).exists()
    members, min_cell, _children = consortium_report()
    assert (members, min_cell) == (["AGY", "OTH", "THD"], 30)
    # Answered once: a second answer changes nothing.
    assert login(adam).post(f"{RECEIVED}{agreement.pk}/refuse/").status_code == 302
    agreement.refresh_from_db()
    assert agreement.refused_at is None


def test_a_refused_proposal_counts_nowhere(login, agency, other_agency, member_admin, adam, mei):
    _figures_by_sex(agency, other_agency)
    login(member_admin).post(AGREEMENTS, {"lead": "AGY", "starts_on": "2026-01-01", "ends_on": ""})
    agreement = ConsortiumAgreement.objects.get()
    # Unaccepted, the lead has no consortium report at all.
    assert login(mei).get(API, {"period": "2026-Q3"}).status_code == 404
    assert login(adam).post(f"{RECEIVED}{agreement.pk}/refuse/").status_code == 302
    agreement.refresh_from_db()
    assert agreement.refused_by == adam and agreement.accepted_at is None
    assert AuditEntry.objects.filter(action="indicators.consortium.refused").exists()
    assert login(mei).get(API, {"period": "2026-Q3"}).status_code == 404
    assert login(adam).post(f"{RECEIVED}{agreement.pk}/accept/").status_code == 302
    agreement.refresh_from_db()
    assert agreement.accepted_at is None  # refused stays refused


# --- suppression across the reports ---------------------------------------------------------------


def _published(report_json) -> dict[tuple[str, str, str], int | None]:
    found = {}
    for item in report_json["indicators"]:
        found[(item["code"], "", "")] = item.get("denominator", item["value"])
        for dimensions, rows in item["by"].items():
            for row in rows:
                key = row["key"] if isinstance(row["key"], str) else "+".join(row["key"])
                found[(item["code"], dimensions, key)] = row.get("denominator", row["value"])
    return found


def test_no_hidden_figure_comes_back_by_subtracting_published_ones(
    agency, other_agency, shared, mei
):
    """The member hides its 2 men; the lead publishes its 20. Were the roll-up to publish 22
    men, 22 − 20 would give the member's 2 back. Every difference of two published figures at
    the same place, and every line with one hidden cell, is tried."""
    _figures_by_sex(agency, other_agency)
    ReportingPolicy.objects.create(agency=other_agency, min_cell=3)
    by = parse_by("sex,age_group,sex+age_group")
    rolled = build_consortium_report(lead=agency, period=Q3, by=by)
    assert rolled.min_cell == 5  # the strictest of 5 (ours, the default) and 3
    reports = {
        "lead": _published(
            build_report(
                agency_id=agency.pk, agency_code="AGY", period=Q3, by=by, min_cell=5
            ).as_json()
        ),
        "member": _published(
            build_report(
                agency_id=other_agency.pk, agency_code="OTH", period=Q3, by=by, min_cell=3
            ).as_json()
        ),
        "consortium": _published(rolled.as_json()),
    }
    truth = {
        name: _published(
            build_report(agency_id=a.pk, agency_code=a.code, period=Q3, by=by, min_cell=1).as_json()
        )
        for name, a in (("lead", agency), ("member", other_agency))
    }
    hidden_somewhere = 0
    for name, published in reports.items():
        if name == "consortium":
            continue
        for place, value in published.items():
            if value is not None:
                continue
            hidden_somewhere += 1
            secret = truth[name][place]
            # The same place in the other reports: any difference of two published figures.
            others = [reports[other].get(place) for other in reports if other != name]
            shown = [figure for figure in others if figure is not None]
            differences = {first - second for first in shown for second in shown}
            assert secret not in differences - {0}, (name, place)
            # Whatever a member's (or the lead's) own report hides, the roll-up hides too.
            assert reports["consortium"].get(place, None) is None, (name, place)
    assert hidden_somewhere  # the member's men are hidden in its own report
    assert reports["consortium"][("CM_CHILDREN_YOUTH", "sex", "male")] is None
    # Within the roll-up, no line has exactly one hidden cell (the total minus the others).
    for code in {place[0] for place in reports["consortium"]}:
        for dimension in ("sex", "age_group"):
            cells = [
                v for (c, d, _k), v in reports["consortium"].items() if (c, d) == (code, dimension)
            ]
            total = reports["consortium"][(code, "", "")]
            assert total is None or sum(value is None for value in cells) != 1, (code, dimension)


def test_a_few_persons_counted_once_are_not_published_as_a_difference(agency, other_agency, shared):
    """Two linked persons are counted once: published, 'added up minus the roll-up' would say
    exactly how many moved between the agencies in that cell."""
    ours, theirs = CaseRows(agency), CaseRows(other_agency)
    ours.many(20, age=12)
    theirs.many(20, age=12)
    for number in range(2):
        mine = ours.case(f"OL-{number}", f"OLP-{number}", age=12)
        copy = theirs.case(f"TL-{number}", f"TLP-{number}", age=12)
        low, high = sorted([mine.person_id, copy.person_id])
        PersonLink.objects.create(first_id=low, second_id=high, kind="transfer")
    rolled = build_consortium_report(lead=agency, period=Q3, by=parse_by("sex"))
    children = next(i for i in rolled.report.indicators if i.code == "CM_CHILDREN_YOUTH")
    assert children.total.suppressed and rolled.linked["CM_CHILDREN_YOUTH"] is None
    unsuppressed = build_consortium_report(lead=agency, period=Q3, by=parse_by("sex"), min_cell=1)
    children = next(i for i in unsuppressed.report.indicators if i.code == "CM_CHILDREN_YOUTH")
    assert children.total.value == 42 and unsuppressed.linked["CM_CHILDREN_YOUTH"] == 2


# --- the link a transfer leaves -------------------------------------------------------------------


def test_a_transfer_that_leaves_the_person_in_both_agencies_links_the_two_records(
    register, amina, agency, other_agency, make_user
):
    team = Team.objects.create(agency=other_agency, name="Intake")
    rita = make_user("rita", agency=other_agency, team=team, role="supervisor")
    first = register(amina)
    other = Case.objects.create(
        agency=agency,
        reference="AGY-EXTRA-1",
        person=first.person,
        programme=first.programme,
        identified_on=first.identified_on,
        registered_on=first.registered_on,
        team=first.team,
        caseworker=amina,
        status=Status.REGISTERED,
    )
    services.record_consent(
        first,
        by=amina,
        details=services.ConsentDetails(
            receive_services=True,
            recipients=[
                services.RecipientDetails(
                    organisation_name=other_agency.name,
                    organisation_code=other_agency.code,
                    purpose="transfer",
                )
            ],
        ),
    )
    transfer = workflow.request_transfer(first, to_agency=other_agency, by=amina, reason="Moved")
    workflow.decide_transfer(transfer, by=rita, accept=True, caseworker=rita)
    first.refresh_from_db()
    assert first.person.agency == other_agency and other.person.agency == agency
    link = PersonLink.objects.get()
    assert {link.first_id, link.second_id} == {first.person_id, other.person_id}
    assert link.kind == "transfer"


# --- DHIS2 ------------------------------------------------------------------------------------------


def test_an_unmapped_dhis2_export_says_what_is_missing(login, agency, mei):
    CaseRows(agency).many(12, age=12)
    answer = login(mei).get("/api/v1/indicators", {"period": "2026-Q3", "format": "dhis2"})
    assert answer.status_code == 422
    message = answer.json()["message"] if "message" in answer.json() else str(answer.json())
    assert "CM_CHILDREN_YOUTH total value" in message
    page = login(mei).get("/indicators/", {"period": "2026-Q3", "download": "dhis2"})
    assert page.status_code == 422 and "CM_CHILDREN_YOUTH total value" in page.content.decode()


def test_the_mapping_screen_maps_a_figure_and_the_export_sends_it(login, agency, mei, xena, sam):
    CaseRows(agency).many(12, age=12)
    screen = login(mei).get("/indicators/dhis2/")
    assert screen.status_code == 200 and "CM_CHILDREN_YOUTH total value" in screen.content.decode()
    answer = login(mei).post(
        "/indicators/dhis2/",
        {
            "indicator_code": "CM_CHILDREN_YOUTH",
            "disaggregation": "",
            "key": "",
            "figure": "value",
            "data_element": "AbCdEfGhIj1",
            "org_unit": "OrgUnit0001",
        },
    )
    assert answer.status_code == 302
    mapping = Dhis2Mapping.objects.get()
    assert mapping.agency == agency
    assert AuditEntry.objects.filter(action="indicators.dhis2.mapped").exists()
    sent = login(mei).get("/api/v1/indicators", {"period": "2026-Q3", "format": "dhis2"})
    assert sent.status_code == 200
    values = sent.json()["dataValues"]
    assert values == [
        {"dataElement": "AbCdEfGhIj1", "period": "2026Q3", "orgUnit": "OrgUnit0001", "value": "12"}
    ]
    assert int(sent["X-Casework-Unmapped-Figures"]) > 0
    for user in (xena, sam):
        assert login(user).get("/indicators/dhis2/").status_code == 404
        assert login(user).post(f"/indicators/dhis2/{mapping.pk}/delete/").status_code == 404
    assert login(mei).post(f"/indicators/dhis2/{mapping.pk}/delete/").status_code == 302
    assert not Dhis2Mapping.objects.exists()


def test_the_consortium_dhis2_export_uses_the_leads_mapping(
    login, agency, other_agency, shared, mei
):
    _figures_by_sex(agency, other_agency)
    assert login(mei).get(API, {"period": "2026-Q3", "format": "dhis2"}).status_code == 422
    Dhis2Mapping.objects.create(
        agency=agency,
        indicator_code="CM_CHILDREN_YOUTH",
        data_element="AbCdEfGhIj1",
        org_unit="OrgUnit0001",
    )
    sent = login(mei).get(API, {"period": "2026-Q3", "format": "dhis2"})
    assert sent.status_code == 200
    assert sent.json()["dataValues"][0]["value"] == "54"


@pytest.mark.parametrize("met_at_the_member", [True, False])
def test_the_kept_record_of_a_person_counted_once_does_not_tell_what_the_other_agency_did(
    agency, other_agency, shared, met_at_the_member
):
    """The lead transferred survivor X to the member. The lead's location LA holds only the lead's
    own cases, whose figures the lead knows from its own report; X's record there is kept and
    takes the member's numerator (X has an individual plan at the member). Published, LA's
    numerator minus the lead's own would say whether X met the indicator at the member: LA is
    hidden (whether or not X met it, so hiding says nothing either)."""
    assert agency.pk < other_agency.pk  # the lead's record is the one kept
    ours, theirs = CaseRows(agency), CaseRows(other_agency)
    for number in range(10):  # LA: 5 with an individual plan, 5 without
        text = f"Lead plan {number}: school and health visits" if number < 5 else ""
        ours.case(f"LA-{number}", f"LAP-{number}", location="LA", plan_text=text)
    for number in range(10):  # LB: the member's, all with an individual plan
        theirs.case(
            f"LB-{number}", f"LBP-{number}", location="LB", plan_text=f"Member plan {number}"
        )
    for number in range(5):  # LC: the member's, none with a plan text
        theirs.case(f"LC-{number}", f"LCP-{number}", location="LC", plan_text="")
    mine = ours.case("LA-X", "LAP-X", location="LA", plan_text="")
    copy = theirs.case(
        "LB-X",
        "LBP-X",
        location="LB",
        plan_text="Member plan for X: safe shelter" if met_at_the_member else "",
    )
    low, high = sorted([mine.person_id, copy.person_id])
    PersonLink.objects.create(first_id=low, second_id=high, kind="transfer")
    by = parse_by("location_code")
    own = build_report(agency_id=agency.pk, agency_code="AGY", period=Q3, by=by, min_cell=5)
    own_row = next(
        row
        for row in next(i for i in own.as_json()["indicators"] if i["code"] == "INDIVIDUAL_PLAN")[
            "by"
        ]["location_code"]
        if row["key"] == "LA"
    )
    assert (own_row["numerator"], own_row["denominator"]) == (5, 11)  # the lead knows these
    rolled = build_consortium_report(lead=agency, period=Q3, by=by).as_json()
    plan = next(i for i in rolled["indicators"] if i["code"] == "INDIVIDUAL_PLAN")
    row = next(row for row in plan["by"]["location_code"] if row["key"] == "LA")
    assert row["numerator"] is None and row["denominator"] is None, row
    # What the merge did there is real (the figures behind the hidden cell).
    truth = build_consortium_report(lead=agency, period=Q3, by=by, min_cell=1).as_json()
    plan = next(i for i in truth["indicators"] if i["code"] == "INDIVIDUAL_PLAN")
    row = next(row for row in plan["by"]["location_code"] if row["key"] == "LA")
    assert row["numerator"] == (6 if met_at_the_member else 5)
