"""No lost updates on any write (security checklist item 7): every API write that could overwrite
someone else's change requires If-Match with the record's ETag.

The operations are read from the OpenAPI document (`x-if-match`), so a new one is covered
without editing this file. For each: the gate first (404 for those who may not see), then the
precondition (428 without If-Match, 412 with a stale one), then the body (422), and nothing
changes when the precondition fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from casework.api import api
from casework.audit.models import AuditEntry
from casework.cases import services as case_services
from casework.cases.models import Case, CaseNote, ClosureRequest, Status, TransferRequest
from casework.plans import services as plan_services
from casework.plans.models import PlanMatch
from casework.plans.tests.conftest import content
from casework.referrals import services as referral_services
from casework.referrals.models import Organisation, Service

PREFIX = "/api/v1"
READS = {"cases.case.viewed", "people.person.viewed", "referrals.referral.viewed"}


def _operations(kind: str) -> list[tuple[str, str]]:
    schema = api.get_openapi_schema(path_prefix="")
    return sorted(
        (method, path)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if isinstance(operation, dict) and operation.get("x-if-match") == kind
    )


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(
    register: Callable[..., Case],
    amina: Any,
    sam: Any,
    make_user: Any,
    other_agency: Any,
    partner_agency: Any,
) -> dict[str, Any]:
    """One of each versioned record, and who may write it."""
    case = register(amina)
    case_services.transition_case(case, to=Status.ASSESSED, by=amina)
    other = register(amina, given_name="Awa", family_name="Diallo")
    case_services.transition_case(other, to=Status.ASSESSED, by=amina)
    note = case_services.add_note(case, by=amina, text="Called.", contact_type="phone")
    plan = plan_services.create_plan(case, by=amina, content=content())
    other_plan = plan_services.create_plan(other, by=amina, content=content(goals=["Other"]))
    match = PlanMatch.objects.create(
        plan=plan,
        other_plan=other_plan,
        score=90,
        plan_fold_hash=plan.fold_hash,
        other_fold_hash=other_plan.fold_hash,
        found_at=timezone.now(),
    )
    clinic = Organisation.objects.create(code="PRT", name="Clinic", agency=partner_agency)
    service = Service.objects.create(organisation=clinic, name="Care", sector="health")
    case_services.record_consent(
        case,
        by=amina,
        details=case_services.ConsentDetails(
            receive_services=True,
            share_for_referral=True,
            recipients=[
                case_services.RecipientDetails("Clinic", "PRT", information=["case_summary"])
            ],
        ),
    )
    referral = referral_services.send_referral(
        case,
        by=amina,
        details=referral_services.ReferralDetails(service=service, need_code="health"),
    )
    unmet_need = referral_services.record_unmet_need(
        case, by=amina, need_code="food", reason="full", step="plan"
    )
    closure = ClosureRequest.objects.create(
        case=case,
        reason="needs_met",
        requested_by=amina,
        goals_reviewed=True,
        closure_explained=True,
        follow_up_arranged=True,
    )
    receiving = make_user("rosa", agency=other_agency, team=None, role="supervisor")
    from casework.accounts.models import Team

    receiving.team = Team.objects.create(agency=other_agency, name="Intake")
    receiving.save(update_fields=["team"])
    transfer = TransferRequest.objects.create(
        case=case,
        from_agency=case.agency,
        to_agency=other_agency,
        reason="Moved",
        requested_by=amina,
    )
    twin = register(amina, given_name="Kadi", family_name="Sow")
    double = register(amina, given_name="Kadi", family_name="Sow")
    from casework.cases import merging

    merge = merging.merge_persons(twin.person, double.person, by=sam, choices={})
    case.refresh_from_db()
    return {
        "ids": {
            "case_id": case.pk,
            "person_id": case.person_id,
            "note_id": note.pk,
            "plan_id": plan.pk,
            "match_id": match.pk,
            "referral_id": referral.pk,
            "unmet_need_id": unmet_need.pk,
            "closure_id": closure.pk,
            "transfer_id": transfer.pk,
            "consent_id": case.consents.first().pk,  # type: ignore[union-attr]
            "merge_id": merge.pk,
        },
        "amina": amina,
        "sam": sam,
        "receiving": receiving,
        "case": case,
    }


def _writer(world: dict[str, Any], path: str) -> Any:
    if "/transfers/" in path:
        return world["receiving"]
    if path.endswith(("/decision", "/reassign", "/merge", "/unmerge")) or "/matches/" in path:
        return world["sam"]
    return world["amina"]


def _fill(world: dict[str, Any], path: str) -> str:
    return PREFIX + re.sub(r"\{(?:int:)?(\w+)\}", lambda m: str(world["ids"][m.group(1)]), path)


def _writes_made() -> int:
    return AuditEntry.objects.exclude(action__in=READS).exclude(outcome="denied").count()


def test_the_versioned_writes_are_the_ones_the_issue_names() -> None:
    required = {f"{method.upper()} {path}" for method, path in _operations("required")}
    for expected in (
        "PATCH /cases/{case_id}",
        "PATCH /persons/{person_id}",
        "POST /cases/{case_id}/transitions",
        "PUT /cases/{case_id}/notes/{note_id}",
        "POST /cases/{case_id}/closure",
        "POST /cases/{case_id}/closures/{closure_id}/decision",
        "POST /cases/transfers/{transfer_id}/decision",
        "POST /cases/{case_id}/transfer",
        "POST /cases/{case_id}/reopen",
        "PUT /plans/{plan_id}",
        "POST /plans/{plan_id}/versions",
        "POST /plans/{plan_id}/decision",
        "POST /referrals/{referral_id}/status",
    ):
        assert expected in required, expected
    optional = {f"{method.upper()} {path}" for method, path in _operations("optional")}
    for expected in (
        "POST /cases/{case_id}/notes",
        "POST /cases/{case_id}/follow-ups",
        "POST /cases/{case_id}/consents",
    ):
        assert expected in optional, expected


def test_every_versioned_write_needs_a_current_if_match_and_changes_nothing_without(
    world: dict[str, Any],
) -> None:
    failures = []
    operations = _operations("required")
    assert len(operations) >= 15
    for method, template in operations:
        path = _fill(world, template)
        client = _client(_writer(world, template))
        before = _writes_made()
        send = getattr(client, method)
        missing = send(path, data="{}", content_type="application/json")
        stale = send(
            path, data="{}", content_type="application/json", headers={"If-Match": '"999999"'}
        )
        if missing.status_code != 428 or missing.json().get("code") != "precondition_required":
            failures.append(f"{method.upper()} {template} without If-Match → {missing.status_code}")
        if stale.status_code != 412 or stale.json().get("code") != "precondition_failed":
            failures.append(f"{method.upper()} {template} stale If-Match → {stale.status_code}")
        if _writes_made() != before:
            failures.append(f"{method.upper()} {template} wrote something")
    assert not failures, "\n".join(failures)


def test_an_append_takes_if_match_but_does_not_need_it(world: dict[str, Any]) -> None:
    for method, template in _operations("optional"):
        path = _fill(world, template)
        client = _client(_writer(world, template))
        send = getattr(client, method)
        stale = send(
            path, data="{}", content_type="application/json", headers={"If-Match": '"999999"'}
        )
        assert stale.status_code == 412, template
        missing = send(path, data="{}", content_type="application/json")
        assert missing.status_code != 428, template


def test_the_gate_answers_before_the_precondition_and_the_body_after(
    world: dict[str, Any], omar: Any
) -> None:
    outsider = _client(omar)
    path = _fill(world, "/cases/{case_id}/transitions")
    assert outsider.post(path, data="{}", content_type="application/json").status_code == 404
    tag = {"If-Match": f'"{world["case"].version}"'}
    body = _client(world["amina"]).post(
        path, data="{}", content_type="application/json", headers=tag
    )
    assert body.status_code == 422 and "to" in body.json()["fields"]


def test_an_etag_read_with_the_record_is_accepted(world: dict[str, Any]) -> None:
    client = _client(world["amina"])
    ids = world["ids"]
    for read in (
        f"/cases/{ids['case_id']}",
        f"/persons/{ids['person_id']}",
        f"/plans/{ids['plan_id']}",
        f"/referrals/{ids['referral_id']}",
        f"/cases/{ids['case_id']}/notes/{ids['note_id']}",
    ):
        response = client.get(PREFIX + read)
        assert response.status_code == 200 and re.fullmatch(r'"\d+"', response["ETag"]), read
    note_tag = client.get(PREFIX + f"/cases/{ids['case_id']}/notes/{ids['note_id']}")["ETag"]
    edited = client.put(
        PREFIX + f"/cases/{ids['case_id']}/notes/{ids['note_id']}",
        {"text": "Called twice.", "contact_type": "phone"},
        content_type="application/json",
        headers={"If-Match": note_tag},
    )
    assert edited.status_code == 200 and edited["ETag"] != note_tag
    assert CaseNote.objects.get(pk=ids["note_id"]).text == "Called twice."


# --- two writers at once --------------------------------------------------------------------------
