"""Request → approve / return with comments, with the history kept as rows."""

from __future__ import annotations

from typing import Any

import pytest

from casework.audit.models import AuditEntry
from casework.core.errors import CaseworkError, NotAllowed
from casework.plans import services
from casework.plans.models import CasePlan, PlanDecision
from casework.plans.tests.conftest import content, participation


def test_a_plan_goes_to_the_supervisor_and_is_approved(submitted: CasePlan, sam: Any) -> None:
    assert submitted.status == CasePlan.Status.SUBMITTED and submitted.submitted_at
    services.approve_plan(submitted, by=sam, comment="Good, realistic goals.")
    submitted.refresh_from_db()
    assert submitted.status == CasePlan.Status.APPROVED
    history = list(submitted.decisions.values_list("kind", "by__username"))
    assert history == [("requested", "amina"), ("approved", "sam")]
    assert AuditEntry.objects.filter(action="plans.plan.approved").exists()


def test_a_returned_plan_is_changed_and_sent_again(
    submitted: CasePlan, amina: Any, sam: Any
) -> None:
    services.return_plan(submitted, by=sam, comment="Add the safety plan for school days.")
    submitted.refresh_from_db()
    assert submitted.status == CasePlan.Status.RETURNED
    services.update_plan(
        submitted,
        by=amina,
        content=content(safety_plan="On school days the teacher walks her home."),
        expected_revision=submitted.revision,
    )
    services.submit_plan(submitted, by=amina)
    services.approve_plan(submitted, by=sam)
    kinds = list(submitted.decisions.values_list("kind", flat=True))
    assert kinds == ["requested", "returned", "requested", "approved"]
    returned = submitted.decisions.get(kind="returned")
    assert returned.comment == "Add the safety plan for school days."


def test_returning_needs_comments(submitted: CasePlan, sam: Any) -> None:
    with pytest.raises(CaseworkError):
        services.return_plan(submitted, by=sam, comment="  ")
    assert submitted.decisions.count() == 1


def test_an_incomplete_plan_cannot_be_sent(plan: CasePlan, amina: Any) -> None:
    with pytest.raises(CaseworkError) as error:
        services.submit_plan(plan, by=amina)
    assert error.value.code == "plan_incomplete"
    assert "how the client took part" in str(error.value.message)
    plan.refresh_from_db()
    assert plan.status == CasePlan.Status.DRAFT


def test_only_the_supervisor_of_the_team_decides(
    submitted: CasePlan, amina: Any, olga: Any
) -> None:
    for user in (amina, olga):
        with pytest.raises(NotAllowed):
            services.approve_plan(submitted, by=user)
    assert submitted.decisions.count() == 1


def test_a_supervisor_does_not_approve_a_plan_they_sent(
    assessed: Any, sam: Any, make_plan: Any
) -> None:
    plan = make_plan(assessed, by=sam)
    services.record_participation(plan, by=sam, details=participation())
    services.submit_plan(plan, by=sam)
    with pytest.raises(NotAllowed):
        services.approve_plan(plan, by=sam)


def test_a_submitted_plan_is_locked(submitted: CasePlan, amina: Any) -> None:
    with pytest.raises(CaseworkError):
        services.update_plan(submitted, by=amina, content=content(), expected_revision=1)


def test_the_approval_flow_over_http(login: Any, amina: Any, sam: Any, plan: CasePlan) -> None:
    services.record_participation(plan, by=amina, details=participation())
    caseworker = login(amina)
    base = f"/cases/{plan.case_id}/plans/{plan.pk}"
    assert caseworker.post(f"{base}/submit/").status_code == 302
    supervisor = login(sam)
    queue = supervisor.get("/approvals/").content.decode()
    assert f"{base}/decide/" in queue
    assert supervisor.get(f"{base}/decide/").status_code == 200
    response = supervisor.post(f"{base}/decide/", {"decision": "return", "comment": ""})
    assert response.status_code == 400
    response = supervisor.post(
        f"{base}/decide/", {"decision": "return", "comment": "Say who pays the bus fare."}
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == CasePlan.Status.RETURNED
    page = caseworker.get(f"{base}/").content.decode()
    assert "Say who pays the bus fare." in page
    assert f"{base}/decide/" not in supervisor.get("/approvals/").content.decode()


def test_the_approval_flow_over_the_api(login: Any, amina: Any, sam: Any, plan: CasePlan) -> None:
    caseworker = login(amina)
    tag = caseworker.get(f"/api/v1/plans/{plan.pk}").headers["ETag"]
    response = caseworker.put(
        f"/api/v1/plans/{plan.pk}/participation",
        {
            "ways": ["expressed_needs", "agreed_plan"],
            "told_right_to_decline": True,
            "client_agreed": True,
            "agreed_on": plan.planned_on.isoformat(),
        },
        content_type="application/json",
        headers={"If-Match": tag},
    )
    assert response.status_code == 200, response.json()
    tag = response.headers["ETag"]
    submitted = caseworker.post(f"/api/v1/plans/{plan.pk}/submit", headers={"If-Match": tag})
    assert submitted.json()["status"] == "submitted"
    supervisor = login(sam)
    queue = supervisor.get("/api/v1/plans/approvals").json()
    assert [item["id"] for item in queue] == [plan.pk]
    response = supervisor.post(
        f"/api/v1/plans/{plan.pk}/decision",
        {"decision": "approve", "comment": "Fine."},
        content_type="application/json",
        headers={"If-Match": submitted.headers["ETag"]},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "approved"
    assert [d["kind"] for d in body["decisions"]] == ["requested", "approved"]
    assert supervisor.get("/api/v1/plans/approvals").json() == []
    assert PlanDecision.objects.filter(plan=plan).count() == 2
