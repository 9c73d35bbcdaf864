"""Third parties in an access package, after review: the agency's other clients named in free
text (found through its blind name index), names written in other case or without accents, a plan
action's contact person, earlier names kept by corrections, and the supervisor's notes, withheld
unless the reviewer includes them."""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone

from casework.cases import services as case_services
from casework.cases.models import CaseRevision
from casework.plans.models import CasePlan, PlanAction
from casework.privacy import services
from casework.privacy.models import AccessPackage
from casework.referrals.models import Organisation


def _items(content: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return next(section["items"] for section in content["sections"] if section["key"] == key)


def _compile(receive: Any, case: Any, dana: Any) -> tuple[AccessPackage, dict[str, Any]]:
    package = services.compile_package(receive("access", case.reference), by=dana)
    return package, json.loads(package.content)


def test_other_clients_and_names_in_any_case_or_accent_are_redacted_from_notes(
    receive: Any, full_case: Any, register: Any, amina: Any, dana: Any
) -> None:
    register(amina, given_name="Aïcha", family_name="Sangaré")
    case_services.add_note(
        full_case,
        by=amina,
        text="Shares a room with AICHA SANGARE; Aïcha said MOUSSA KEÏTA came by the grace of god.",
        contact_type="office",
    )
    _package, content = _compile(receive, full_case, dana)
    notes = [item["values"]["text"] for item in _items(content, "cases.casenote")]
    assert notes[-1] == (
        "Shares a room with [third party]; [third party] said [third party] came by the grace "
        "of god."
    )
    text = json.dumps(content, ensure_ascii=False).casefold()
    assert "sangar" not in text and "aïcha" not in text and "keïta" not in text
    assert "fatima" in text  # her own names stay


def test_a_plan_actions_contact_person_is_redacted_unless_a_registered_organisation(
    receive: Any, full_case: Any, dana: Any
) -> None:
    Organisation.objects.create(code="HOPE", name="Hope Shelter")
    plan = CasePlan.objects.create(
        case=full_case, planned_on=timezone.localdate(), status=CasePlan.Status.APPROVED
    )
    for name in ("Hope Shelter", "Mme Bintou Coulibaly at Hope Shelter"):
        PlanAction.objects.create(
            plan=plan,
            description="Accommodation",
            responsible=PlanAction.Responsible.ORGANISATION,
            responsible_name=name,
        )
    _package, content = _compile(receive, full_case, dana)
    named = [item["values"]["responsible_name"] for item in _items(content, "plans.planaction")]
    assert named == ["Hope Shelter", "[third party]"]
    assert "Bintou" not in json.dumps(content, ensure_ascii=False)


def test_earlier_names_kept_by_corrections_are_redacted(
    receive: Any, full_case: Any, amina: Any, dana: Any
) -> None:
    CaseRevision.objects.create(
        case=full_case,
        version=1,
        fields=["caregiver_name", "location"],
        # As corrections store it: JSON with its accents escaped.
        previous=json.dumps({"caregiver_name": "Salif Diarra", "location": "chez Moussa Keïta"}),
        reason="Corrected",
        corrected_by=amina,
        corrected_at=timezone.now(),
    )
    _package, content = _compile(receive, full_case, dana)
    earlier = _items(content, "cases.caserevision")[-1]["values"]["previous"]
    assert earlier == {"caregiver_name": "[third party]", "location": "chez [third party]"}
    text = json.dumps(content)
    assert "Diarra" not in text and "Ke\\u00efta" not in text and "Keita" not in text


def test_the_supervisors_notes_are_released_only_if_the_reviewer_includes_them(
    login: Any, receive: Any, full_case: Any, dana: Any, deputy: Any
) -> None:
    CasePlan.objects.create(
        case=full_case,
        planned_on=timezone.localdate(),
        status=CasePlan.Status.APPROVED,
        supervision_notes="Caseworker seemed tired; discuss workload",
    )
    package, content = _compile(receive, full_case, dana)
    # The reviewer sees them, to decide.
    assert _items(content, "plans.caseplan")[0]["values"]["supervision_notes"]
    services.review_package(package, by=deputy, approve=True)
    released = login(dana).post(f"/privacy/packages/{package.pk}/release.json")
    assert released.status_code == 200
    body = released.json()
    assert "workload" not in released.content.decode()
    assert "plans.caseplan.supervision_notes" in body["withheld"]["fields"]
    assert "supervision_notes" not in _items(body, "plans.caseplan")[0]["values"]

    again, _content = _compile(receive, full_case, dana)
    page = login(deputy).post(
        f"/privacy/packages/{again.pk}/",
        {"decision": "approve", "include_fields": ["plans.caseplan.supervision_notes"]},
    )
    assert page.status_code == 302
    included = login(dana).post(f"/privacy/packages/{again.pk}/release.json").json()
    assert _items(included, "plans.caseplan")[0]["values"]["supervision_notes"] == (
        "Caseworker seemed tired; discuss workload"
    )


def test_what_was_decided_in_supervision_is_released_only_if_the_reviewer_includes_it(
    login: Any, receive: Any, full_case: Any, amina: Any, sam: Any, dana: Any, deputy: Any
) -> None:
    from casework.supervision import services as supervision

    supervision.record_session(
        by=sam,
        details=supervision.SessionDetails(
            kind="individual",
            held_on=timezone.localdate(),
            caseworkers=[amina],
            discussed=[supervision.DiscussionDetails(full_case, "Caseworker to slow down.")],
        ),
    )
    package, content = _compile(receive, full_case, dana)
    assert _items(content, "supervision.discussedcase")[0]["values"]["decisions"]
    services.review_package(package, by=deputy, approve=True)
    released = login(dana).post(f"/privacy/packages/{package.pk}/release.json")
    assert "slow down" not in released.content.decode()
    assert "supervision.discussedcase.decisions" in released.json()["withheld"]["fields"]
