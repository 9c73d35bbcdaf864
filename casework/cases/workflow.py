"""Steps 5 and 6 of the process and the moves around them (seed 003; NASW standards, seed 004):
follow-up, reassignment within a team, transfer to another agency, closure with its checklist and
approval. Each is a service in the style of services.py: validate, write rows, audit, or raise.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.access import check_perm
from casework.accounts.models import Agency, Team, User
from casework.accounts.roles import Perm, Role
from casework.audit.log import record
from casework.cases import events
from casework.cases.models import (
    OPEN_STATUSES,
    Assignment,
    Case,
    CaseGrant,
    CasePolicy,
    ClosureReason,
    ClosureRequest,
    ContactType,
    FollowUp,
    ReleasePurpose,
    RiskLevel,
    Status,
    TransferRequest,
    YesNoPartly,
)
from casework.cases.release import authorise_release
from casework.cases.services import (
    ADULT_AGE,
    _next_number,
    _touch_last_contact,
    case_reference,
    person_reference,
    resume_target,
    save_case,
    transition_case,
)
from casework.core.errors import CaseworkError, FieldErrors, InvalidTransition, NotAllowed
from casework.people.models import Person, PersonNameIndex, Relationship
from casework.people.services import link_persons

CONTACT_LOST_DAYS = 30


# --- follow-up ----------------------------------------------------------------------------------


@transaction.atomic
def record_follow_up(
    case: Case,
    *,
    by: User,
    occurred_on: datetime.date | None = None,
    contact_type: str = ContactType.HOME_VISIT,
    service_received: str = YesNoPartly.NOT_APPLICABLE,
    satisfied: str = YesNoPartly.NOT_APPLICABLE,
    new_needs: bool = False,
    risk_changed: bool = False,
    new_risk_level: str = "",
    reassessment_needed: bool = False,
    notes: str = "",
) -> FollowUp:
    """A follow-up visit or call. A new risk re-schedules the next follow-up at once."""
    check_perm(by, Perm.WORK_ON_CASES)
    today = timezone.localdate()
    day = occurred_on or today
    errors: dict[str, list[str]] = {}
    if day > today:
        errors["occurred_on"] = [_("A follow-up cannot be dated in the future.")]
    elif case.registered_on and day < case.registered_on:
        errors["occurred_on"] = [_("A follow-up cannot be dated before registration.")]
    if contact_type not in ContactType.values:
        errors["contact_type"] = [_("Choose a value from the list.")]
    for name, value in (("service_received", service_received), ("satisfied", satisfied)):
        if value not in YesNoPartly.values:
            errors[name] = [_("Choose a value from the list.")]
    if risk_changed and new_risk_level not in RiskLevel.values:
        errors["new_risk_level"] = [_("Say what the risk level is now.")]
    if not case.is_open:
        errors["__all__"] = [_("This case is not open.")]
    if errors:
        raise FieldErrors(errors)

    follow_up = FollowUp.objects.create(
        case=case,
        occurred_on=day,
        contact_type=contact_type,
        by=by,
        service_received=service_received,
        satisfied=satisfied,
        new_needs=new_needs,
        risk_changed=risk_changed,
        new_risk_level=new_risk_level if risk_changed else "",
        reassessment_needed=reassessment_needed,
        notes=notes.strip(),
    )
    _touch_last_contact(case, contact_type, day)
    previous_risk = case.risk_level
    if risk_changed:
        case.risk_level = new_risk_level
        save_case(case, ["risk_level"])
    if case.status == Status.PLANNED:
        transition_case(case, to=Status.IN_FOLLOW_UP, by=by)
    # The worklist schedules the next follow-up by the (possibly new) risk level, counted from
    # this contact, and puts a reassessment on the list when one is needed.
    events.follow_up_recorded.send(
        events.FollowUpRecorded(case, follow_up, by, previous_risk=previous_risk)
    )
    record(
        "cases.follow_up.recorded",
        by=by,
        target=follow_up,
        case_id=case.pk,
        data={
            "risk_from": previous_risk or None,
            "risk_to": case.risk_level or None,
            "reassessment": reassessment_needed,
        },
    )
    return follow_up


# --- reassignment within the team ---------------------------------------------------------------


@transaction.atomic
def reassign_case(case: Case, *, to: User, by: User, reason: str = "") -> Assignment:
    """A supervisor gives a case of their team to another caseworker of the team."""
    check_perm(by, Perm.REASSIGN_IN_TEAM)
    if by.team_id != case.team_id:
        raise NotAllowed(_("Only the team's supervisor can reassign this case."))
    if (
        not to.is_active
        or to.agency_id != case.agency_id
        or to.team_id != case.team_id
        or to.role not in (Role.CASEWORKER, Role.SUPERVISOR)
    ):
        raise FieldErrors({"caseworker": [_("Choose a caseworker of the team.")]})
    if to.pk == case.caseworker_id:
        raise FieldErrors({"caseworker": [_("The case is already with this caseworker.")]})
    assignment = Assignment.objects.create(
        case=case,
        from_user_id=case.caseworker_id,
        to_user=to,
        by=by,
        at=timezone.now(),
        reason=reason.strip(),
    )
    case.caseworker = to
    save_case(case, ["caseworker"])
    record("cases.case.reassigned", by=by, target=case, data={"to": to.pk})
    return assignment


# --- transfer to another agency -----------------------------------------------------------------


@transaction.atomic
def request_transfer(
    case: Case,
    *,
    to_agency: Agency,
    by: User,
    reason: str,
    summary: str = "",
    override_reason: str = "",
) -> TransferRequest:
    """Offer the case to another agency. Needs consent covering that agency for a transfer."""
    check_perm(by, Perm.WORK_ON_CASES)
    errors: dict[str, list[str]] = {}
    if to_agency.pk == case.agency_id or not to_agency.is_active:
        errors["to_agency"] = [_("Choose another active agency.")]
    elif to_agency.kind != Agency.Kind.CASE_MANAGEMENT:
        errors["to_agency"] = [
            _("Cases are transferred to case-management agencies; refer to service providers.")
        ]
    if not reason.strip():
        errors["reason"] = [_("Say why the case is being transferred.")]
    if case.transfer_requests.filter(status=TransferRequest.Status.PENDING).exists():
        errors["__all__"] = [_("A transfer of this case is already waiting for an answer.")]
    if errors:
        raise FieldErrors(errors)
    authorise_release(
        case,
        by=by,
        purpose=ReleasePurpose.TRANSFER,
        organisation_code=to_agency.code,
        organisation_name=to_agency.name,
        override_reason=override_reason,
    )
    transition_case(case, to=Status.TRANSFERRED, by=by, reason=reason)
    transfer = TransferRequest.objects.create(
        case=case,
        from_agency_id=case.agency_id,
        to_agency=to_agency,
        reason=reason.strip(),
        summary=summary.strip(),
        requested_by=by,
    )
    record(
        "cases.transfer.requested",
        by=by,
        target=transfer,
        case_id=case.pk,
        data={"to": to_agency.code},
    )
    return transfer


def transfers_for(user: User) -> Any:
    """Pending transfers a receiving supervisor may answer (they see the request, not the case)."""
    if not user.is_active or not user.has_casework_perm(Perm.REASSIGN_IN_TEAM):
        return TransferRequest.objects.none()
    return TransferRequest.objects.filter(
        to_agency_id=user.agency_id, status=TransferRequest.Status.PENDING
    ).select_related("from_agency", "case__programme")


def _carry(person: Person, to_agency: Agency, *, move: bool) -> Person:
    """The person in the receiving agency: the row itself (`move`), or a copy of it."""
    number = _next_number(to_agency.pk, 0)
    if move:
        person.agency = to_agency
        person.reference = person_reference(to_agency.code, number)
        person.household = None
        person.save(update_fields=["agency", "reference", "household", "updated_at"])
        return person
    copy = Person.objects.get(pk=person.pk)
    copy.pk = None
    copy.id = None
    copy.agency = to_agency
    copy.reference = person_reference(to_agency.code, number)
    copy.household = None
    copy.version = 1
    copy.save(force_insert=True)
    PersonNameIndex.objects.bulk_create(
        PersonNameIndex(person=copy, agency=to_agency, kind=row.kind, digest=row.digest)
        for row in PersonNameIndex.objects.filter(person=person)
    )
    return copy


def _move_person(case: Case, to_agency: Agency, *, by: User) -> Person:
    """The person moves with the case; if they have other cases here, the receiving agency gets
    its own copy of the person instead (each agency's records stay its own). Relatives who are
    no one's client (a caregiver, a sibling) go along as copies, linked as before; links to the
    sending agency's persons do not cross over."""
    person = case.person
    links = list(Relationship.objects.filter(person=person).select_related("relative"))
    with_cases = set(
        Case.objects.filter(person_id__in=[link.relative_id for link in links]).values_list(
            "person_id", flat=True
        )
    )
    whole = not Case.objects.filter(person=person).exclude(pk=case.pk).exists()
    if whole:
        Relationship.objects.filter(Q(person=person) | Q(relative=person)).delete()
    subject = _carry(person, to_agency, move=whole)
    for link in links:
        if link.relative_id in with_cases:
            continue
        relative = _carry(link.relative, to_agency, move=False)
        link_persons(subject, relative, kind=link.kind, is_caregiver=link.is_caregiver, by=by)
    return subject


@transaction.atomic
def decide_transfer(
    transfer: TransferRequest,
    *,
    by: User,
    accept: bool,
    caseworker: User | None = None,
    comment: str = "",
) -> TransferRequest:
    """The receiving agency's supervisor accepts (naming a caseworker of their team) or refuses.

    On acceptance the case, its history and its person move to the receiving agency and team;
    the sending team loses access at that moment. On refusal the case resumes where it was.
    """
    check_perm(by, Perm.REASSIGN_IN_TEAM)
    transfer = TransferRequest.objects.select_for_update().get(pk=transfer.pk)
    if transfer.to_agency_id != by.agency_id:
        raise NotAllowed(_("This transfer is not addressed to your agency."))
    if transfer.status != TransferRequest.Status.PENDING:
        raise InvalidTransition(_("This transfer has already been answered."))
    case = Case.objects.select_related("person").get(pk=transfer.case_id)
    back_to = resume_target(case) or Status.REGISTERED
    now = timezone.now()
    if accept:
        team: Team | None = by.team
        holder = caseworker or by
        if (
            team is None
            or holder.team_id != team.pk
            or holder.agency_id != by.agency_id
            or not holder.is_active
            or holder.role not in (Role.CASEWORKER, Role.SUPERVISOR)
        ):
            raise FieldErrors({"caseworker": [_("Choose a caseworker of your team.")]})
        to_agency = transfer.to_agency
        transfer.previous_reference = case.reference
        sending_person_id = case.person_id
        case.person = _move_person(case, to_agency, by=by)
        year = now.year
        case.agency = to_agency
        case.reference = case_reference(to_agency.code, year, _next_number(to_agency.pk, year))
        case.team = team
        case.caseworker = holder
        save_case(case, ["agency", "reference", "team", "caseworker", "person"])
        CaseGrant.objects.filter(case=case, revoked_at=None).update(revoked_at=now)
        Assignment.objects.create(case=case, from_user=None, to_user=holder, by=by, at=now)
        transfer.status = TransferRequest.Status.ACCEPTED
        events.case_transferred.send(
            events.CaseTransferred(
                case,
                by,
                from_agency_id=transfer.from_agency_id,
                to_agency_id=to_agency.pk,
                from_person_id=(sending_person_id if sending_person_id != case.person_id else None),
            )
        )
    else:
        if not comment.strip():
            raise FieldErrors({"comment": [_("Say why the transfer is refused.")]})
        transfer.status = TransferRequest.Status.REFUSED
    transition_case(case, to=back_to, by=by, reason=comment or _("Transfer answered"))
    transfer.decided_by = by
    transfer.decided_at = now
    transfer.decision_comment = comment.strip()
    transfer.save()
    record(
        "cases.transfer.accepted" if accept else "cases.transfer.refused",
        by=by,
        target=transfer,
        case_id=case.pk,
        agency_id=by.agency_id,
    )
    return transfer


# --- closure ------------------------------------------------------------------------------------


def _needs_checklist(reason: str) -> bool:
    # When the client is gone (contact lost, relocated, died) the goals cannot be reviewed with them.
    return reason in (ClosureReason.NEEDS_MET, ClosureReason.CLIENT_REQUEST, ClosureReason.OTHER)


@transaction.atomic
def request_closure(
    case: Case,
    *,
    by: User,
    reason: str,
    goals_reviewed: bool = False,
    closure_explained: bool = False,
    follow_up_arranged: bool = False,
    follow_up_arrangements: str = "",
    best_interests: str = "",
    summary: str = "",
) -> ClosureRequest:
    """Propose a closure with its checklist; closes at once where no approval is needed."""
    check_perm(by, Perm.WORK_ON_CASES)
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if case.status not in OPEN_STATUSES:
        add("__all__", _("Only an open case can be closed."))
    if reason not in ClosureReason.values:
        add("reason", _("Choose a reason for closing the case."))
    if _needs_checklist(reason):
        if not goals_reviewed:
            add("goals_reviewed", _("Review the plan's goals with the client before closing."))
        if not closure_explained:
            add(
                "closure_explained",
                _("Explain the closure to the client, and that they can come back."),
            )
        if not follow_up_arranged:
            add(
                "follow_up_arranged",
                _("Make follow-up arrangements, or record that none are needed."),
            )
    if reason == ClosureReason.CONTACT_LOST:
        days = case.days_without_contact()
        if days is None or days < CONTACT_LOST_DAYS:
            add(
                "reason",
                _("“Contact lost” needs %(days)s days or more without contact.")
                % {"days": CONTACT_LOST_DAYS},
            )
    child = case.age_at_registration is not None and case.age_at_registration < ADULT_AGE
    if child and reason == ClosureReason.CLIENT_REQUEST and not best_interests.strip():
        add(
            "best_interests", _("For a child, record how closing is in the child's best interests.")
        )
    if case.closure_requests.filter(status=ClosureRequest.Status.PENDING).exists():
        add("__all__", _("A closure of this case is already waiting for approval."))
    if errors:
        raise FieldErrors(errors)
    closure = ClosureRequest.objects.create(
        case=case,
        reason=reason,
        goals_reviewed=goals_reviewed,
        closure_explained=closure_explained,
        follow_up_arranged=follow_up_arranged,
        follow_up_arrangements=follow_up_arrangements.strip(),
        best_interests=best_interests.strip(),
        summary=summary.strip(),
        requested_by=by,
    )
    record(
        "cases.closure.requested", by=by, target=closure, case_id=case.pk, data={"reason": reason}
    )
    policy = CasePolicy.for_agency(case.agency_id)
    if reason not in policy.closure_approval_reasons or _may_approve_closure(by, case):
        _approve(closure, case, by=by, comment="")
    return closure


def _may_approve_closure(user: User, case: Case) -> bool:
    return user.has_casework_perm(Perm.APPROVE_CLOSURES) and user.team_id == case.team_id


def _approve(closure: ClosureRequest, case: Case, *, by: User, comment: str) -> None:
    transition_case(
        case, to=Status.CLOSED, by=by, closure_reason=closure.reason, reason=closure.summary
    )
    closure.status = ClosureRequest.Status.APPROVED
    closure.decided_by = by
    closure.decided_at = timezone.now()
    closure.decision_comment = comment.strip()
    closure.save()
    record(
        "cases.closure.approved",
        by=by,
        target=closure,
        case_id=case.pk,
        data={"reason": closure.reason},
    )


@transaction.atomic
def decide_closure(
    closure: ClosureRequest, *, by: User, approve: bool, comment: str = ""
) -> ClosureRequest:
    """The team's supervisor approves the closure (the case closes) or returns it with comments."""
    closure = ClosureRequest.objects.select_for_update().get(pk=closure.pk)
    case = Case.objects.select_related("person").get(pk=closure.case_id)
    if not _may_approve_closure(by, case):
        raise NotAllowed(_("Only the team's supervisor can decide on this closure."))
    if closure.status != ClosureRequest.Status.PENDING:
        raise InvalidTransition(_("This closure has already been decided."))
    if approve:
        _approve(closure, case, by=by, comment=comment)
    else:
        if not comment.strip():
            raise FieldErrors({"comment": [_("Say what needs to change before closing.")]})
        closure.status = ClosureRequest.Status.RETURNED
        closure.decided_by = by
        closure.decided_at = timezone.now()
        closure.decision_comment = comment.strip()
        closure.save()
        record("cases.closure.returned", by=by, target=closure, case_id=case.pk)
    return closure


def pending_closures_for(user: User) -> Any:
    """Closures waiting for this supervisor (their team's cases)."""
    if not user.is_active or not user.has_casework_perm(Perm.APPROVE_CLOSURES) or not user.team_id:
        return ClosureRequest.objects.none()
    if user.agency_id is None:  # no agency, no cases (every case has one)
        return ClosureRequest.objects.none()
    return (
        ClosureRequest.objects.filter(
            status=ClosureRequest.Status.PENDING,
            case__team_id=user.team_id,
            case__agency_id=user.agency_id,
        )
        .select_related("case", "requested_by")
        .order_by("created_at")
    )


@transaction.atomic
def reopen_case(case: Case, *, by: User, reason: str) -> None:
    """Reopen a closed case; its history stays and the earlier closure remains on record."""
    if not reason.strip():
        raise CaseworkError(_("Say why the case is being reopened."), field="reason")
    transition_case(case, to=Status.REOPENED, by=by, reason=reason)
