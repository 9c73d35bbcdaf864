"""An access request's package: everything held on the person (cases, consents, notes,
corrections, relatives, plans, referrals …) as JSON and PDF, third parties redacted, staff named
by role; reviewed by someone other than its compiler (another officer, or the supervisor who may
see all its cases) before it can be released; every compile, read, review and release audited
under each case it holds."""

from __future__ import annotations

import json
from typing import Any

from casework.audit.log import case_access_log
from casework.audit.models import AuditEntry
from casework.privacy import package as packaging
from casework.privacy import services
from casework.privacy.models import AccessPackage
from casework.retention.services import personal_columns


def _compiled(receive: Any, full_case: Any, dana: Any) -> AccessPackage:
    request = receive("access", full_case.reference)
    return services.compile_package(request, by=dana)


def _section(content: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = [section for section in content["sections"] if section["key"] == key]
    return found[0]["items"] if found else []


def test_the_package_holds_everything_on_the_person_with_third_parties_redacted(
    receive: Any, full_case: Any, dana: Any
) -> None:
    package = _compiled(receive, full_case, dana)
    content = json.loads(package.content)
    text = package.content
    assert content["person"] == full_case.person.reference
    assert package.case_ids == [full_case.pk]
    person = _section(content, "people.person")[0]["values"]
    assert (person["given_name"], person["family_name"]) == ("Fatima", "Traoré")
    assert person["phone"] == "+223 76 12 34 56"
    assert _section(content, "cases.case")[0]["values"]["reference"] == full_case.reference
    # The note, with the partner's name blanked; her own family name stays.
    note = _section(content, "cases.casenote")[0]["values"]
    assert note["text"] == (
        "Fatima says [third party] threatened her; [third party] knows the shelter address."
    )
    # The correction (with what it replaced), the consent and its withdrawal.
    revision = _section(content, "people.personrevision")[0]["values"]
    assert revision["reason"] == "Fatima gave her new number" and "phone" in revision["fields"]
    consent = _section(content, "cases.consent")[0]["values"]
    assert consent["withdrawal_reason"] == "Fatima no longer wants referrals for now"
    # The relative is a link of a kind, not a name.
    link = _section(content, "people.relationship")[0]["values"]
    assert link["relative"] == "[third party]" and link["kind"] == "Spouse or partner"
    assert "Moussa" not in text and "Keita" not in text and "+223 70 00 00 01" not in text
    # Staff by role: the caseworker is "Caseworker", never "amina".
    assert note["author"] == "Caseworker" and "amina" not in text
    assert content["redacted"]["names_in_text"] == 2


def test_every_kind_of_personal_data_is_in_the_package_or_knowingly_left_out() -> None:
    """The package is held to retention's list of what is about a person."""
    shown = {section.key for section in packaging.sections()}
    about_a_person = {columns.model._meta.label_lower for columns in personal_columns()}
    assert about_a_person <= shown | set(packaging.NOT_IN_PACKAGE)
    for expected in (
        "cases.case",
        "cases.consent",
        "cases.casenote",
        "cases.noterevision",
        "cases.caserevision",
        "people.personrevision",
        "plans.caseplan",
        "plans.plangoal",
        "referrals.referral",
        "referrals.referralevent",
        "assessments.assessment",
    ):
        assert expected in shown


def test_compiling_and_reading_are_audited_under_the_case(
    login: Any, receive: Any, full_case: Any, dana: Any
) -> None:
    package = _compiled(receive, full_case, dana)
    assert login(dana).get(f"/privacy/packages/{package.pk}/").status_code == 200
    actions = [entry.action for entry in case_access_log(full_case.pk)]
    assert "privacy.package.compiled" in actions and "privacy.package.viewed" in actions
    viewed = AuditEntry.objects.get(action="privacy.package.viewed")
    assert viewed.actor == dana and viewed.case_id == full_case.pk
    assert viewed.data == {"package": package.pk, "request": package.request_id}


def test_the_compiler_does_not_review_and_a_supervisor_of_another_team_cannot(
    login: Any, receive: Any, full_case: Any, dana: Any, olga: Any, amina: Any, xena: Any
) -> None:
    package = _compiled(receive, full_case, dana)
    own = login(dana).post(f"/privacy/packages/{package.pk}/", {"decision": "approve"})
    assert own.status_code == 404  # dana reads it as its handler, but reviews nothing
    for user in (olga, amina, xena):
        client = login(user)
        assert client.get(f"/privacy/packages/{package.pk}/").status_code == 404
        assert (
            client.post(f"/privacy/packages/{package.pk}/", {"decision": "approve"}).status_code
            == 404
        )
    package.refresh_from_db()
    assert package.status == AccessPackage.Status.TO_REVIEW
    assert "Nothing to review." in login(olga).get("/privacy/reviews/").content.decode()


def test_the_supervisor_reviews_withholding_an_item_and_the_officer_releases(
    login: Any, receive: Any, full_case: Any, dana: Any, sam: Any
) -> None:
    package = _compiled(receive, full_case, dana)
    client = login(sam)
    team = client.get("/cases/team/").content.decode()
    assert "1 access package waiting for your review" in team
    assert f"/privacy/packages/{package.pk}/" in client.get("/privacy/reviews/").content.decode()
    page = client.get(f"/privacy/packages/{package.pk}/").content.decode()
    assert "Fatima says [third party] threatened her" in page and "Withhold this item" in page
    note_key = f"cases.casenote:{full_case.notes.get().pk}"
    # Release before the review is refused.
    early = login(dana).post(f"/privacy/packages/{package.pk}/release.json")
    assert (
        early.status_code == 302
        and not AuditEntry.objects.filter(action="privacy.package.released").exists()
    )
    missing = client.post(
        f"/privacy/packages/{package.pk}/", {"decision": "approve", "withheld": [note_key]}
    )
    assert missing.status_code == 400  # withholding needs its reason
    approved = client.post(
        f"/privacy/packages/{package.pk}/",
        {"decision": "approve", "withheld": [note_key], "withheld_reason": "serious_harm"},
    )
    assert approved.status_code == 302
    package.refresh_from_db()
    assert (package.status, package.reviewed_by, package.withheld) == ("approved", sam, [note_key])
    review = AuditEntry.objects.get(action="privacy.package.approved")
    assert review.case_id == full_case.pk and review.data["withheld"] == "1"

    officer = login(dana)
    released = officer.post(f"/privacy/packages/{package.pk}/release.json")
    assert released.status_code == 200 and "attachment" in released["Content-Disposition"]
    body = released.json()
    assert body["withheld"]["items"] == 1
    assert _section(body, "cases.casenote") == []
    assert _section(body, "cases.consent")[0]["values"]["withdrawal_reason"]
    pdf = officer.post(f"/privacy/packages/{package.pk}/release.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    releases = AuditEntry.objects.filter(action="privacy.package.released", case_id=full_case.pk)
    assert sorted(entry.data["format"] for entry in releases) == ["json", "pdf"]
    package.refresh_from_db()
    assert package.released_by == dana
    services.close_request(package.request, by=dana, outcome="completed")
    # Once the request is closed, no one reads the package any more.
    assert officer.get(f"/privacy/packages/{package.pk}/").status_code == 404


def test_a_returned_package_is_compiled_again(
    login: Any, make_user: Any, agency: Any, receive: Any, full_case: Any, dana: Any
) -> None:
    deputy = make_user("dora", agency=agency, role="data_protection_officer")
    package = _compiled(receive, full_case, dana)
    returned = login(deputy).post(
        f"/privacy/packages/{package.pk}/", {"decision": "return", "return_reason": "incomplete"}
    )
    assert returned.status_code == 302
    package.refresh_from_db()
    assert package.status == "returned" and package.return_reason == "incomplete"
    again = services.compile_package(package.request, by=dana)
    package.refresh_from_db()
    assert again.status == "to_review" and package.status == "superseded"


def test_the_package_follows_every_path_retention_blanks_along() -> None:
    """A row reached by retention along any path (an attribute value of the person or of one of
    their cases) is gathered by the package along the same paths."""
    found = {section.key: section.paths for section in packaging.sections()}
    for columns in personal_columns():
        key = columns.model._meta.label_lower
        if key not in packaging.NOT_IN_PACKAGE:
            assert set(columns.paths) <= set(found[key]), key
    assert set(found["attributes.attributevalue"]) == {"person", "case__person"}


def test_the_persons_and_her_cases_attribute_values_are_in_the_package_by_their_labels(
    receive: Any, full_case: Any, dana: Any, adam: Any, amina: Any
) -> None:
    from casework.attributes import services as attributes

    def define(code: str, applies_to: str, sensitive: bool) -> Any:
        return attributes.define_attribute(
            by=adam,
            code=code,
            label=code.replace("_", " ").title(),
            applies_to=applies_to,
            sensitive=sensitive,
            choices=[
                attributes.ChoiceDetails("group_a", "Group A", 0),
                attributes.ChoiceDetails("camp_b", "Camp B", 1),
            ],
        )

    ethnicity = define("ethnicity", "person", True)
    site = define("displacement_site", "case", False)
    hidden_site = define("hidden_site", "case", True)
    for attribute, choice in ((ethnicity, "group_a"), (site, "camp_b"), (hidden_site, "group_a")):
        attributes.set_value(by=amina, case=full_case, attribute=attribute, choice_code=choice)
    content = json.loads(_compiled(receive, full_case, dana).content)
    values = {
        item["values"]["attribute"]: item["values"]
        for item in _section(content, "attributes.attributevalue")
    }
    assert set(values) == {"Ethnicity", "Displacement Site", "Hidden Site"}
    assert values["Ethnicity"]["code"] == "Group A"  # sensitive, decrypted for the package
    assert values["Ethnicity"]["person"] == full_case.person.reference
    assert values["Displacement Site"]["code"] == "Camp B"
    assert values["Displacement Site"]["case"] == full_case.reference
    assert values["Hidden Site"]["code"] == "Group A"  # a case's sensitive value
    section = next(s for s in content["sections"] if s["key"] == "attributes.attributevalue")
    assert "sealed_code" not in section["fields"] and "grouping" not in section["fields"]
    assert section["labels"]["code"] == "Value"
