"""/api/v1/cases: the same operations as the case screens, calling the same services."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.db import transaction
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from casework.accounts.access import agency_of, require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.models import User
from casework.accounts.roles import Perm, Sensitive
from casework.accounts.tokens import READ_AUTH
from casework.cases import access, corrections, screening, selectors, services
from casework.cases.models import (
    Case,
    CaseNote,
    Consent,
    ContactType,
    IdentificationSource,
    ReleasePurpose,
    Screening,
    ServiceType,
)
from casework.cases.timeline import case_timeline
from casework.core.api import (
    READ_LATER,
    DocumentedAs,
    RawBody,
    answers,
    checked_body,
    if_match,
    paginate,
    send_version,
)
from casework.core.errors import CaseworkError, FieldErrors
from casework.people import services as people_services
from casework.people.models import MobilityStatus, Person, Relationship, Sex, YesNoUnknown
from casework.reference.models import Location, Programme, ProtectionConcern

router = Router(tags=["cases"])


# --- schemas ------------------------------------------------------------------------------------


class PersonIn(Schema):
    given_name: str = ""
    family_name: str = ""
    other_names: str = ""
    sex: Sex = Sex.UNKNOWN
    date_of_birth: datetime.date | None = None
    estimated_age: int | None = None
    nationality: str = ""
    disability: YesNoUnknown = YesNoUnknown.UNKNOWN
    mobility_status: MobilityStatus = MobilityStatus.UNKNOWN
    languages: str = ""
    phone: str = ""
    address: str = ""


class CaregiverIn(Schema):
    given_name: str = ""
    family_name: str = ""
    relationship: Relationship.Kind = Relationship.Kind.CAREGIVER
    phone: str = ""


class RecipientIn(Schema):
    organisation_name: str
    purpose: ReleasePurpose = ReleasePurpose.REFERRAL
    information: list[str] = []
    valid_until: datetime.date | None = None


class ConsentIn(Schema):
    receive_services: bool
    given_by: Consent.GivenBy = Consent.GivenBy.CLIENT
    child_assent: bool | None = None
    share_for_referral: bool = False
    anonymised_reporting: bool = True
    method: Consent.Method = Consent.Method.WRITTEN
    given_on: datetime.date | None = None
    recipients: list[RecipientIn] = []
    caregiver: CaregiverIn | None = None


class CaseIn(Schema):
    programme: str
    service_type: ServiceType = ServiceType.CASE_MANAGEMENT
    identification_source: IdentificationSource = IdentificationSource.SELF
    identified_on: datetime.date | None = None
    primary_concern: str | None = None
    secondary_concerns: list[str] = []
    risk_level: str = ""
    location: str | None = None
    caseworker: str | None = None


class RegistrationIn(Schema):
    person: PersonIn
    case: CaseIn
    consent: ConsentIn | None = None
    # The screening (POST /cases/screenings, after POST /persons/matches) this follows, if any.
    screening: int | None = None


class PersonOut(Schema):
    reference: str
    given_name: str | None = None
    family_name: str | None = None
    other_names: str | None = None
    date_of_birth: datetime.date | None = None
    phone: str | None = None
    address: str | None = None
    sex: str
    age_at_registration: int | None = None
    nationality: str
    disability: str
    mobility_status: str
    languages: str


class CaseSummaryOut(Schema):
    id: int
    reference: str
    status: str
    risk_level: str
    programme: str
    service_type: str
    caseworker: str | None
    next_due_at: datetime.datetime | None
    name: str | None = None


class CaseOut(CaseSummaryOut):
    version: int
    identification_source: str
    identified_on: datetime.date
    registered_on: datetime.date | None
    assessed_on: datetime.date | None
    planned_on: datetime.date | None
    closed_on: datetime.date | None
    closure_reason: str
    primary_concern: str | None
    secondary_concerns: list[str]
    location: str | None
    team: str
    last_contact_on: datetime.date | None
    person: PersonOut
    moves: list[str]


class CasePageOut(Schema):
    items: list[CaseSummaryOut]
    count: int
    page: int
    pages: int


class SearchIn(Schema):
    query: str


class EventOut(Schema):
    kind: str
    on: datetime.date
    at: datetime.datetime
    by: str | None
    id: int
    from_status: str | None = None
    to_status: str | None = None
    closure_reason: str | None = None
    contact_type: str | None = None
    text: str | None = None
    consent: dict[str, Any] | None = None
    # A correction: of the "person" or the "case", the fields changed, and what each said before
    # (null where the caller's role does not see that kind of data).
    corrected: str | None = None
    previous: dict[str, str | None] | None = None


class RegistrationCorrectionIn(Schema):
    """The registration facts to correct (any left out keep their value) and why. Codes as in
    /api/v1/reference; `secondary_concerns` replaces the list."""

    reason: str
    programme: str | None = None
    service_type: ServiceType | None = None
    identification_source: IdentificationSource | None = None
    identified_on: datetime.date | None = None
    registered_on: datetime.date | None = None
    primary_concern: str | None = None
    secondary_concerns: list[str] | None = None
    location: str | None = None


class TransitionIn(Schema):
    to: str
    reason: str = ""
    closure_reason: str = ""
    occurred_at: datetime.datetime | None = None


class NoteIn(Schema):
    text: str
    contact_type: ContactType
    contact_on: datetime.date | None = None


class NoteOut(Schema):
    id: int
    contact_on: datetime.date
    contact_type: str
    text: str | None
    author: str
    version: int


class WithdrawIn(Schema):
    withdrawn_on: datetime.date | None = None
    reason: str = ""


class ConsentOut(Schema):
    id: int
    given_by: str
    child_assent: bool | None
    receive_services: bool
    share_for_referral: bool
    anonymised_reporting: bool
    given_on: datetime.date
    withdrawn_on: datetime.date | None
    recipients: list[dict[str, Any]]


# --- shaping output by what the caller may see --------------------------------------------------


def _name(case: Case, user: User) -> str | None:
    return case.person.full_name if user.sees(Sensitive.NAMES) else None


def case_summary(case: Case, user: User) -> dict[str, Any]:
    return {
        "id": case.pk,
        "reference": case.reference,
        "status": case.status,
        "risk_level": case.risk_level,
        "programme": case.programme.code,
        "service_type": case.service_type,
        "caseworker": case.caseworker.username if case.caseworker else None,
        "next_due_at": case.next_due_at,
        "name": _name(case, user),
    }


def person_fields(person: Person, user: User) -> dict[str, Any]:
    """The person's details as `user` may see them (names, birth date, contact by role)."""
    names = user.sees(Sensitive.NAMES)
    contact = user.sees(Sensitive.CONTACT)
    return {
        "reference": person.reference,
        "given_name": person.given_name if names else None,
        "family_name": person.family_name if names else None,
        "other_names": person.other_names if names else None,
        "date_of_birth": person.date_of_birth if user.sees(Sensitive.BIRTH_DATE) else None,
        "phone": person.phone if contact else None,
        "address": person.address if contact else None,
        "sex": person.sex,
        "nationality": person.nationality,
        "disability": person.disability,
        "mobility_status": person.mobility_status,
        "languages": person.languages,
    }


def _person(case: Case, user: User) -> dict[str, Any]:
    return person_fields(case.person, user) | {"age_at_registration": case.age_at_registration}


def case_out(case: Case, user: User) -> dict[str, Any]:
    can_write = access.may_write(user, case)
    return case_summary(case, user) | {
        "version": case.version,
        "identification_source": case.identification_source,
        "identified_on": case.identified_on,
        "registered_on": case.registered_on,
        "assessed_on": case.assessed_on,
        "planned_on": case.planned_on,
        "closed_on": case.closed_on,
        "closure_reason": case.closure_reason,
        "primary_concern": case.primary_concern.code if case.primary_concern else None,
        "secondary_concerns": [c.code for c in case.secondary_concerns.all()],
        "location": case.location.code if case.location else None,
        "team": case.team.name,
        "last_contact_on": case.last_contact_on,
        "person": _person(case, user),
        "moves": services.available_moves(case) if can_write else [],
    }


def _consent(consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.pk,
        "given_by": consent.given_by,
        "child_assent": consent.child_assent,
        "receive_services": consent.receive_services,
        "share_for_referral": consent.share_for_referral,
        "anonymised_reporting": consent.anonymised_reporting,
        "given_on": consent.given_on,
        "withdrawn_on": consent.withdrawn_on,
        "recipients": [
            {
                "organisation_name": r.organisation_name,
                "purpose": r.purpose,
                "information": r.information,
                "valid_until": r.valid_until,
            }
            for r in consent.recipients.all()
        ],
    }


def _note(note: CaseNote, user: User) -> dict[str, Any]:
    return {
        "id": note.pk,
        "contact_on": note.contact_on,
        "contact_type": note.contact_type,
        "text": note.text if user.sees(Sensitive.NOTES) else None,
        "author": note.author.username,
        "version": note.version,
    }


def _lookup(model: Any, code: str | None, field: str, *, in_use: bool = True) -> Any:
    """The reference item of `code` (in use, unless `in_use=False`: a correction may keep one
    no longer in use, the service decides)."""
    if not code:
        return None
    items = model.objects.filter(code=code)
    item = (items.filter(is_active=True) if in_use else items).first()
    if item is None:
        raise FieldErrors({field: [_("Unknown code “%(code)s”.") % {"code": code}]})
    return item


def case_details(user: User, data: CaseIn) -> services.CaseDetails:
    """A new case's facts from the API's codes (404-free: an unknown code is a field error)."""
    caseworker = None
    if data.caseworker:
        caseworker = User.objects.filter(
            username=data.caseworker, agency_id=agency_of(user), is_active=True
        ).first()
        if caseworker is None:
            raise FieldErrors({"caseworker": [_("Choose a caseworker of your agency.")]})
    return services.CaseDetails(
        programme=_lookup(Programme, data.programme, "programme"),
        service_type=data.service_type,
        identification_source=data.identification_source,
        identified_on=data.identified_on,
        primary_concern=_lookup(ProtectionConcern, data.primary_concern, "primary_concern"),
        secondary_concerns=[
            _lookup(ProtectionConcern, code, "secondary_concerns")
            for code in data.secondary_concerns
        ],
        risk_level=data.risk_level,
        location=_lookup(Location, data.location, "location"),
        caseworker=caseworker,
    )


def consent_details(
    data: ConsentIn | None,
) -> tuple[services.ConsentDetails | None, services.CaregiverDetails | None]:
    if data is None:
        return None, None
    consent = services.ConsentDetails(
        receive_services=data.receive_services,
        given_by=data.given_by,
        child_assent=data.child_assent,
        share_for_referral=data.share_for_referral,
        anonymised_reporting=data.anonymised_reporting,
        method=data.method,
        given_on=data.given_on,
        recipients=[services.RecipientDetails(**r.dict()) for r in data.recipients],
    )
    caregiver = services.CaregiverDetails(**data.caregiver.dict()) if data.caregiver else None
    return consent, caregiver


# --- operations ---------------------------------------------------------------------------------


@router.get("", response=CasePageOut, summary="My caseload")
def list_cases(
    request: AuthenticatedHttpRequest, status: str = "", risk: str = "", page: int = 1
) -> Any:
    """Open cases the caller may see (or those in `status`), soonest due first."""
    user = request.user
    selectors.require_caseload(user)
    found = paginate(selectors.caseload(user, status=status, risk=risk), page, selectors.PAGE_SIZE)
    return {
        "items": [case_summary(c, user) for c in found.items],
        "count": found.count,
        "page": found.page,
        "pages": found.pages,
    }


@router.post(
    "/search",
    response=list[CaseSummaryOut],
    summary="Find cases by name or reference",
    auth=READ_AUTH,
)
def search_cases(request: AuthenticatedHttpRequest, payload: SearchIn) -> Any:
    """POST so that a name never travels in a URL. Name matching uses the blind index."""
    user = request.user
    selectors.require_caseload(user)
    cases = selectors.caseload(user)
    query = payload.query.strip()
    if not query:
        return []
    found = people_services.search_cases(cases, query, by_name=user.sees(Sensitive.NAMES))
    return [case_summary(c, user) for c in found[: selectors.PAGE_SIZE]]


@router.post(
    "",
    response=answers(CaseOut, 400, 403, 404, status=201),
    summary="Register a case (person, consent and case in one step)",
)
def register_case(request: AuthenticatedHttpRequest, payload: RegistrationIn) -> Any:
    user = request.user
    require_perm(user, Perm.REGISTER_CASES)
    details = case_details(user, payload.case)
    consent, caregiver = consent_details(payload.consent)
    with transaction.atomic():
        case = services.register_case(
            by=user,
            person=services.PersonDetails(**payload.person.dict()),
            details=details,
            consent=consent,
            caregiver=caregiver,
        )
        screening.settle_screening(
            payload.screening, by=user, case=case, choice=Screening.Choice.NEW_PERSON
        )
    case = access.get_case_for_user(user, case.pk)
    return Status(201, case_out(case, user))


@router.get("/{case_id}", response=answers(CaseOut, 404), summary="A case (ETag: its version)")
def get_case(request: AuthenticatedHttpRequest, case_id: int, response: HttpResponse) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id)
    send_version(response, case.version)
    return case_out(case, user)


@router.patch(
    "/{case_id}",
    response=answers(CaseOut, 400, 404, precondition=True),
    summary="Correct a case's registration facts (If-Match required; the old values are kept)",
    openapi_extra=if_match(),
)
def correct_case(
    request: AuthenticatedHttpRequest,
    case_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(RegistrationCorrectionIn)] = READ_LATER,
) -> Any:
    """Only the facts sent change; `reason` is required. Moving a case to another team or agency
    is a reassignment or a transfer, not a correction."""
    user = request.user
    case = access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, RegistrationCorrectionIn, payload, version=case.version)
    sent = data.model_dump(exclude_unset=True)
    facts = corrections.facts_of(case)
    references = {
        "programme": Programme,
        "primary_concern": ProtectionConcern,
        "location": Location,
    }
    for name, value in sent.items():
        if name in references:
            setattr(facts, name, _lookup(references[name], value, name, in_use=False))
        elif name == "secondary_concerns":
            facts.secondary_concerns = [
                _lookup(ProtectionConcern, code, name, in_use=False) for code in value or []
            ]
        elif name != "reason":
            setattr(facts, name, value)
    if facts.programme is None:
        raise FieldErrors({"programme": [_("A case has a programme.")]})
    corrections.correct_registration(
        case, by=user, facts=facts, reason=data.reason, expected_version=case.version
    )
    case = access.get_case_for_user(user, case.pk)
    send_version(response, case.version)
    return case_out(case, user)


@router.get("/{case_id}/timeline", response=answers(list[EventOut], 404))
def get_timeline(request: AuthenticatedHttpRequest, case_id: int) -> Any:
    """Transitions, consents and notes, newest first."""
    user = request.user
    case = access.get_case_for_user(user, case_id)
    shown = []
    for event in case_timeline(case):
        item = event.item
        row: dict[str, Any] = {
            "kind": event.kind,
            "on": event.on,
            "at": event.at,
            "by": event.actor.username if event.actor else None,
            "id": item.pk,
        }
        if event.kind == "transition":
            row |= {
                "from_status": item.from_status or None,
                "to_status": item.to_status,
                "closure_reason": item.closure_reason or None,
                "text": item.reason if user.sees(Sensitive.NOTES) else None,
            }
        elif event.kind == "correction":
            row |= {
                "corrected": "person" if item.of_person else "case",
                "previous": {
                    change.name: change.before if change.shown_to(user) else None
                    for change in item.changes
                },
                "text": item.reason if user.sees(Sensitive.NOTES) else None,
            }
        elif event.kind == "note":
            row |= {
                "contact_type": item.contact_type,
                "text": item.text if user.sees(Sensitive.NOTES) else None,
            }
        else:
            row["consent"] = _consent(item)
        shown.append(row)
    return shown


@router.post(
    "/{case_id}/transitions",
    response=answers(CaseOut, 400, 403, 404, precondition=True),
    summary="Move a case through its lifecycle",
    openapi_extra=if_match(),
)
def move_case(
    request: AuthenticatedHttpRequest,
    case_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(TransitionIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, TransitionIn, payload, version=case.version)
    if data.to == "closed":
        raise CaseworkError(
            _("Close a case through /cases/{id}/closure (checklist and approval)."),
            code="use_closure",
            field="to",
        )
    services.transition_case(
        case,
        to=data.to,
        by=user,
        reason=data.reason,
        closure_reason=data.closure_reason,
        occurred_at=data.occurred_at,
        expected_version=case.version,
    )
    send_version(response, case.version)
    return case_out(case, user)


@router.post(
    "/{case_id}/notes",
    response=answers(NoteOut, 400, 404, 412, status=201),
    summary="Add a case note",
    openapi_extra=if_match(required=False),
)
def add_note(
    request: AuthenticatedHttpRequest,
    case_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(NoteIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, NoteIn, payload, version=case.version, required=False)
    note = services.add_note(
        case, by=user, text=data.text, contact_type=data.contact_type, contact_on=data.contact_on
    )
    send_version(response, note.version)
    return Status(201, _note(note, user))


def _note_of(case: Case, note_id: int) -> CaseNote:
    note = CaseNote.objects.filter(case=case, pk=note_id).select_related("author").first()
    if note is None:
        raise Http404
    note.case = case
    return note


@router.get(
    "/{case_id}/notes/{note_id}",
    response=answers(NoteOut, 404),
    summary="A case note (ETag: its version)",
)
def get_note(
    request: AuthenticatedHttpRequest, case_id: int, note_id: int, response: HttpResponse
) -> Any:
    user = request.user
    note = _note_of(access.get_case_for_user(user, case_id), note_id)
    send_version(response, note.version)
    return _note(note, user)


@router.put(
    "/{case_id}/notes/{note_id}",
    response=answers(NoteOut, 400, 403, 404, precondition=True),
    summary="Edit a case note (the earlier text is kept)",
    openapi_extra=if_match(),
)
def edit_note(
    request: AuthenticatedHttpRequest,
    case_id: int,
    note_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(NoteIn)] = READ_LATER,
) -> Any:
    user = request.user
    note = _note_of(access.get_case_for_user(user, case_id, write=True), note_id)
    data = checked_body(request, NoteIn, payload, version=note.version)
    services.edit_note(
        note,
        by=user,
        text=data.text,
        contact_type=data.contact_type,
        contact_on=data.contact_on or note.contact_on,
        expected_version=note.version,
    )
    send_version(response, note.version)
    return _note(note, user)


@router.post(
    "/{case_id}/consents",
    response=answers(ConsentOut, 400, 404, 412, status=201),
    summary="Record a consent",
    openapi_extra=if_match(required=False),
)
def add_consent(
    request: AuthenticatedHttpRequest,
    case_id: int,
    payload: Annotated[RawBody, DocumentedAs(ConsentIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, ConsentIn, payload, version=case.version, required=False)
    consent = services.record_consent(
        case,
        by=user,
        details=services.ConsentDetails(
            receive_services=data.receive_services,
            given_by=data.given_by,
            child_assent=data.child_assent,
            share_for_referral=data.share_for_referral,
            anonymised_reporting=data.anonymised_reporting,
            method=data.method,
            given_on=data.given_on,
            recipients=[services.RecipientDetails(**r.dict()) for r in data.recipients],
        ),
        caregiver=(services.CaregiverDetails(**data.caregiver.dict()) if data.caregiver else None),
    )
    return Status(201, _consent(consent))


@router.post(
    "/{case_id}/consents/{consent_id}/withdraw",
    response=answers(ConsentOut, 400, 404, 409, 412),
    summary="Record the withdrawal of a consent",
    openapi_extra=if_match(required=False),
)
def withdraw_consent(
    request: AuthenticatedHttpRequest,
    case_id: int,
    consent_id: int,
    payload: Annotated[RawBody, DocumentedAs(WithdrawIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id, write=True)
    consent = Consent.objects.filter(case=case, pk=consent_id).first()
    if consent is None:
        raise Http404
    data = checked_body(request, WithdrawIn, payload, version=case.version, required=False)
    services.withdraw_consent(consent, by=user, on=data.withdrawn_on, reason=data.reason)
    return _consent(consent)


# The process-step operations (follow-up, transfer, closure …) register on the same router.
