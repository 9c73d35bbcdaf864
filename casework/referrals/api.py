"""/api/v1/referrals: the directory, referrals of a case, and a partner's inbox.

The same services as the screens. Staff reach a case's referrals through the case gate and a
referral through the referral gate; a partner reaches only /inbox and /received/{id}. Anything
outside the caller's scope is a 404, exactly as if it did not exist.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status, UploadedFile

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm, Role, Sensitive
from casework.audit.log import record
from casework.cases import access as case_access
from casework.cases.models import ReleaseInformation
from casework.core.api import (
    READ_LATER,
    DocumentedAs,
    ErrorOut,
    RawBody,
    answers,
    checked_body,
    if_match,
    paginate,
    send_version,
)
from casework.core.errors import FieldErrors
from casework.reference.models import Location
from casework.referrals import access as referral_access
from casework.referrals import imports, selectors, services
from casework.referrals.models import (
    AccompanyingAdult,
    NoReferral,
    NoReferralNeeded,
    Organisation,
    Referral,
    ReferralEvent,
    ReferralMethod,
    Sector,
    Service,
    UnmetNeed,
)

router = Router(tags=["referrals"])


# --- schemas ------------------------------------------------------------------------------------


class ServiceOut(Schema):
    id: int
    organisation: str
    organisation_name: str
    name: str
    sector: str
    description: str
    nationwide: bool
    locations: list[str]
    eligibility: str
    min_age: int | None
    max_age: int | None
    languages: list[str]
    capacity_per_month: int | None
    staffing: str
    answer_within_days: int
    referral_method: str
    has_agreement: bool
    is_active: bool


class ServicePageOut(Schema):
    items: list[ServiceOut]
    count: int
    page: int
    pages: int


class OrganisationIn(Schema):
    code: str
    name: str
    partner_agency: str | None = None
    contact_person: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    referral_method: ReferralMethod = ReferralMethod.FORM
    has_agreement: bool = False
    quality_notes: str = ""
    is_active: bool = True


class OrganisationOut(Schema):
    id: int
    code: str
    name: str
    receives_in_casework: bool
    contact_person: str
    phone: str
    email: str
    address: str
    referral_method: str
    has_agreement: bool
    quality_notes: str
    is_active: bool
    services: list[ServiceOut]


class ServiceIn(Schema):
    name: str
    sector: Sector
    description: str = ""
    nationwide: bool = False
    locations: list[str] = []
    eligibility: str = ""
    min_age: int | None = None
    max_age: int | None = None
    languages: str = ""
    capacity_per_month: int | None = None
    staffing: str = ""
    answer_within_days: int = 5
    is_active: bool = True


class ProblemOut(Schema):
    line: int
    column: str
    message: str


class ImportReportOut(Schema):
    dry_run: bool
    applied: bool
    rows: int
    organisations_created: int
    organisations_updated: int
    services_created: int
    services_updated: int
    problems: list[ProblemOut]


class ReferralIn(Schema):
    service: int
    need_code: str
    information: list[ReleaseInformation] = [ReleaseInformation.CASE_SUMMARY]
    summary: str = ""
    assessment_notes: str = ""
    health_notes: str = ""
    urgent: bool = False
    accompanied_by: AccompanyingAdult | None = None
    accompanied_by_name: str = ""
    override_reason: str = ""


class StatusIn(Schema):
    status: Referral.Status
    comment: str = ""


class NoReferralNeededIn(Schema):
    need_code: str
    reason: NoReferral
    note: str = ""


class UnmetNeedIn(Schema):
    need_code: str
    reason: UnmetNeed.Reason
    step: UnmetNeed.Step
    note: str = ""
    referral: int | None = None


class ResolveIn(Schema):
    resolved_on: datetime.date | None = None


class UnmetNeedOut(Schema):
    id: int
    need_code: str
    location: str | None
    reason: str
    step: str
    referral: int | None
    note: str | None
    recorded_on: datetime.date
    recorded_by: str
    resolved_on: datetime.date | None
    resolved_by_referral: int | None


class EventOut(Schema):
    status: str
    at: datetime.datetime
    by: str | None
    comment: str | None


class ReferralSummaryOut(Schema):
    id: int
    case_id: int
    need_code: str
    service: int
    service_name: str
    organisation: str
    organisation_name: str
    status: str
    urgent: bool
    sent_at: datetime.datetime
    answer_due_at: datetime.datetime
    overdue: bool


class ReferralOut(ReferralSummaryOut):
    information: list[str]
    answered_at: datetime.datetime | None
    sent_by: str
    consent_id: int | None
    consent_overridden: bool
    override_reason: str | None
    accompanied_by: str
    shared: dict[str, Any] | None
    events: list[EventOut]
    next_statuses: list[str]


class NoReferralNeededOut(Schema):
    # "unmet_need" when the reason was "not available locally": then `id` is the UnmetNeed's.
    kind: str = "no_referral_needed"
    id: int
    need_code: str
    reason: str
    note: str | None
    recorded_at: datetime.datetime
    recorded_by: str


class CaseReferralsOut(Schema):
    referrals: list[ReferralSummaryOut]
    not_needed: list[NoReferralNeededOut]
    unmet_needs: list[UnmetNeedOut]


class ReceivedOut(Schema):
    id: int
    need_code: str
    service: int
    service_name: str
    status: str
    urgent: bool
    sent_at: datetime.datetime
    answer_due_at: datetime.datetime
    overdue: bool
    referred_by: str | None = None
    referred_by_agency: str | None = None
    shared: dict[str, Any] | None = None
    events: list[EventOut] | None = None
    next_statuses: list[str] | None = None


class ReceivedPageOut(Schema):
    items: list[ReceivedOut]
    count: int
    page: int
    pages: int


# --- shaping ------------------------------------------------------------------------------------


def _service(service: Service) -> dict[str, Any]:
    organisation = service.organisation
    return {
        "id": service.pk,
        "organisation": organisation.code,
        "organisation_name": organisation.name,
        "name": service.name,
        "sector": service.sector,
        "description": service.description,
        "nationwide": service.nationwide,
        "locations": [location.code for location in service.locations.all()],
        "eligibility": service.eligibility,
        "min_age": service.min_age,
        "max_age": service.max_age,
        "languages": service.language_list,
        "capacity_per_month": service.capacity_per_month,
        "staffing": service.staffing,
        "answer_within_days": service.answer_within_days,
        "referral_method": organisation.referral_method,
        "has_agreement": organisation.has_agreement,
        "is_active": service.is_active,
    }


def _organisation(organisation: Organisation) -> dict[str, Any]:
    listed = organisation.services.order_by("name").prefetch_related("locations")
    for service in listed:
        service.organisation = organisation
    return {
        "id": organisation.pk,
        "code": organisation.code,
        "name": organisation.name,
        "receives_in_casework": organisation.agency_id is not None,
        "contact_person": organisation.contact_person,
        "phone": organisation.phone,
        "email": organisation.email,
        "address": organisation.address,
        "referral_method": organisation.referral_method,
        "has_agreement": organisation.has_agreement,
        "quality_notes": organisation.quality_notes,
        "is_active": organisation.is_active,
        "services": [_service(service) for service in listed],
    }


def _summary(referral: Referral) -> dict[str, Any]:
    return {
        "id": referral.pk,
        "case_id": referral.case_id,
        "need_code": referral.need_code,
        "service": referral.service_id,
        "service_name": referral.service.name,
        "organisation": referral.organisation.code,
        "organisation_name": referral.organisation.name,
        "status": referral.status,
        "urgent": referral.urgent,
        "sent_at": referral.sent_at,
        "answer_due_at": referral.answer_due_at,
        "overdue": referral.is_overdue(),
    }


def _event(event: ReferralEvent, *, comment: bool) -> dict[str, Any]:
    return {
        "status": event.status,
        "at": event.at,
        "by": event.by.username,
        "comment": event.comment if comment else None,
    }


def _detail(referral: Referral, user: User) -> dict[str, Any]:
    can_write = case_access.writable_cases(user).filter(pk=referral.case_id).exists()
    events = referral.events.select_related("by")
    return _summary(referral) | {
        "information": referral.information,
        "answered_at": referral.answered_at,
        "sent_by": referral.sent_by.username,
        "consent_id": referral.consent_id,
        "consent_overridden": referral.consent_overridden,
        "override_reason": referral.override_reason if user.sees(Sensitive.NOTES) else None,
        "accompanied_by": referral.accompanied_by,
        "shared": referral.shared_information if user.sees(Sensitive.NAMES) else None,
        "events": [_event(e, comment=user.sees(Sensitive.NOTES)) for e in events],
        "next_statuses": referral.next_statuses if can_write else [],
    }


def _received(referral: Referral, user: User, *, full: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": referral.pk,
        "need_code": referral.need_code,
        "service": referral.service_id,
        "service_name": referral.service.name,
        "status": referral.status,
        "urgent": referral.urgent,
        "sent_at": referral.sent_at,
        "answer_due_at": referral.answer_due_at,
        "overdue": referral.is_overdue(),
    }
    if full:
        events = referral.events.select_related("by")
        row |= {
            "referred_by": referral.sent_by.get_full_name() or referral.sent_by.username,
            "referred_by_agency": referral.sent_by.agency.name if referral.sent_by.agency else None,
            "shared": referral.shared_information if referral.partner_may_read_shared else None,
            # Comments from the partner's own side only; statuses and dates from both.
            "events": [
                _event(e, comment=e.by.agency_id == user.agency_id) | {"by": None} for e in events
            ],
            "next_statuses": [s for s in referral.next_statuses if s in Referral.ANSWERS],
        }
    return row


def _location(code: str | None, field: str = "location") -> Location | None:
    if not code:
        return None
    location = Location.objects.filter(code=code, is_active=True).first()
    if location is None:
        raise FieldErrors({field: [_("Unknown code “%(code)s”.") % {"code": code}]})
    return location


def _organisation_by_code(code: str) -> Organisation:
    organisation = Organisation.objects.filter(code=code.upper()).first()
    if organisation is None:
        raise Http404
    return organisation


def _organisation_details(payload: OrganisationIn) -> services.OrganisationDetails:
    agency = None
    if payload.partner_agency:
        agency = Agency.objects.filter(code=payload.partner_agency.upper()).first()
        if agency is None:
            raise FieldErrors({"partner_agency": [_("No agency has this code.")]})
    data = payload.dict(exclude={"partner_agency"})
    return services.OrganisationDetails(agency=agency, **data)


def _service_details(payload: ServiceIn) -> services.ServiceDetails:
    data = payload.dict(exclude={"locations"})
    locations = [_location(code, "locations") for code in payload.locations]
    return services.ServiceDetails(locations=[loc for loc in locations if loc], **data)


# --- the directory ------------------------------------------------------------------------------


@router.get("/services", response=ServicePageOut, summary="Search the service directory")
def search_services(
    request: AuthenticatedHttpRequest,
    sector: str = "",
    location: str = "",
    age: int | None = None,
    q: str = "",
    page: int = 1,
) -> Any:
    """Services for a need (sector) in an area: those serving it, any area containing it, or the
    whole country."""
    user = request.user
    referral_access.require_directory(user)
    found = services.search_services(
        sector=sector, location=_location(location), text=q, age=age
    ).prefetch_related("locations")
    listed = paginate(found, page, selectors.PAGE_SIZE)
    return {
        "items": [_service(s) for s in listed.items],
        "count": listed.count,
        "page": listed.page,
        "pages": listed.pages,
    }


@router.get(
    "/organisations/{code}",
    response=answers(OrganisationOut, 404),
    summary="An organisation and its services",
)
def get_organisation(request: AuthenticatedHttpRequest, code: str) -> Any:
    referral_access.require_directory(request.user)
    return _organisation(_organisation_by_code(code))


@router.post(
    "/organisations",
    response=answers(OrganisationOut, 400, 404, status=201),
    summary="Add an organisation to the directory",
)
def add_organisation(request: AuthenticatedHttpRequest, payload: OrganisationIn) -> Any:
    user = request.user
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    organisation = services.save_organisation(by=user, details=_organisation_details(payload))
    return Status(201, _organisation(organisation))


@router.put(
    "/organisations/{code}",
    response=answers(OrganisationOut, 400, 404),
    summary="Change an organisation",
)
def change_organisation(
    request: AuthenticatedHttpRequest, code: str, payload: OrganisationIn
) -> Any:
    user = request.user
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    organisation = services.save_organisation(
        by=user, details=_organisation_details(payload), organisation=_organisation_by_code(code)
    )
    return _organisation(organisation)


@router.post(
    "/organisations/{code}/services",
    response=answers(ServiceOut, 400, 404, status=201),
    summary="Add a service to an organisation",
)
def add_service(request: AuthenticatedHttpRequest, code: str, payload: ServiceIn) -> Any:
    user = request.user
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    organisation = _organisation_by_code(code)
    service = services.save_service(organisation, by=user, details=_service_details(payload))
    return Status(201, _service(service))


@router.put(
    "/organisations/{code}/services/{int:service_id}",
    response=answers(ServiceOut, 400, 404),
    summary="Change a service",
)
def change_service(
    request: AuthenticatedHttpRequest, code: str, service_id: int, payload: ServiceIn
) -> Any:
    user = request.user
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    organisation = _organisation_by_code(code)
    service = Service.objects.filter(organisation=organisation, pk=service_id).first()
    if service is None:
        raise Http404
    service = services.save_service(
        organisation, by=user, details=_service_details(payload), service=service
    )
    return _service(service)


@router.post(
    "/services/import",
    response={200: ImportReportOut, 400: ImportReportOut | ErrorOut, 404: ErrorOut, 413: ErrorOut},
    summary="Import the directory from a spreadsheet (CSV or XLSX; all or nothing)",
)
def import_directory(
    request: AuthenticatedHttpRequest, file: File[UploadedFile], dry_run: Form[bool] = True
) -> Any:
    """Every problem comes back with its line and column; nothing is written unless all rows are
    correct, and nothing at all on a dry run. A file over the upload limits is refused (413)."""
    user = request.user
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    report = imports.import_directory(
        file.read(), filename=file.name or "", by=user, dry_run=dry_run
    )
    payload = {
        "dry_run": report.dry_run,
        "applied": report.applied,
        "rows": report.rows,
        "organisations_created": report.organisations_created,
        "organisations_updated": report.organisations_updated,
        "services_created": report.services_created,
        "services_updated": report.services_updated,
        "problems": [vars(problem) for problem in report.problems],
    }
    return Status(400 if report.problems else 200, payload)


# --- referrals of a case (staff) ----------------------------------------------------------------


@router.get(
    "/cases/{int:case_id}",
    response=answers(CaseReferralsOut, 404),
    summary="A case's referrals and its needs that need none",
)
def case_referrals(request: AuthenticatedHttpRequest, case_id: int) -> Any:
    user = request.user
    case = case_access.get_case_for_user(user, case_id)
    referrals = Referral.objects.filter(case=case).select_related("service", "organisation")
    decisions = NoReferralNeeded.objects.filter(case=case).select_related("recorded_by")
    gaps = _unmet_needs(case)
    return {
        "referrals": [_summary(r) for r in referrals],
        "unmet_needs": [_unmet_need(gap, user) for gap in gaps],
        "not_needed": [
            {
                "id": d.pk,
                "need_code": d.need_code,
                "reason": d.reason,
                "note": d.note if user.sees(Sensitive.NOTES) else None,
                "recorded_at": d.recorded_at,
                "recorded_by": d.recorded_by.username,
            }
            for d in decisions
        ],
    }


@router.post(
    "/cases/{int:case_id}",
    response=answers(ReferralOut, 400, 403, 404, 412, status=201),
    summary="Refer a need of the case to a service (consent checked on the server)",
    openapi_extra=if_match(required=False),
)
def send_referral(
    request: AuthenticatedHttpRequest,
    case_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(ReferralIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = case_access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, ReferralIn, payload, version=case.version, required=False)
    service = (
        Service.objects.active().select_related("organisation").filter(pk=data.service).first()
    )
    if service is None:
        raise FieldErrors({"service": [_("No such service in the directory.")]})
    fields = data.dict(exclude={"service", "accompanied_by"})
    referral = services.send_referral(
        case,
        by=user,
        details=services.ReferralDetails(
            service=service, accompanied_by=data.accompanied_by or "", **fields
        ),
    )
    sent = referral_access.get_referral_for_user(user, referral.pk)
    send_version(response, sent.version)
    return Status(201, _detail(sent, user))


@router.post(
    "/cases/{int:case_id}/not-needed",
    response=answers(NoReferralNeededOut, 400, 404, 412, status=201),
    summary="Record that a need calls for no referral, and why",
    openapi_extra=if_match(required=False),
)
def no_referral_needed(
    request: AuthenticatedHttpRequest,
    case_id: int,
    payload: Annotated[RawBody, DocumentedAs(NoReferralNeededIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = case_access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, NoReferralNeededIn, payload, version=case.version, required=False)
    decision = services.record_no_referral_needed(
        case, by=user, need_code=data.need_code, reason=data.reason, note=data.note
    )
    return Status(
        201,
        {
            "kind": "unmet_need" if isinstance(decision, UnmetNeed) else "no_referral_needed",
            "id": decision.pk,
            "need_code": decision.need_code,
            "reason": decision.reason,
            "note": decision.note,
            "recorded_at": decision.recorded_at,
            "recorded_by": user.username,
        },
    )


# --- unmet needs (service gaps) of a case -------------------------------------------------------


def _unmet_needs(case: Any) -> list[UnmetNeed]:
    return list(UnmetNeed.objects.filter(case=case).select_related("recorded_by", "location"))


def _unmet_need(gap: UnmetNeed, user: User) -> dict[str, Any]:
    return {
        "id": gap.pk,
        "need_code": gap.need_code,
        "location": gap.location.code if gap.location else None,
        "reason": gap.reason,
        "step": gap.step,
        "referral": gap.referral_id,
        "note": gap.note if user.sees(Sensitive.NOTES) else None,
        "recorded_on": gap.recorded_on,
        "recorded_by": gap.recorded_by.username,
        "resolved_on": gap.resolved_on,
        "resolved_by_referral": gap.resolved_by_referral_id,
    }


@router.get(
    "/cases/{int:case_id}/unmet-needs",
    response=answers(list[UnmetNeedOut], 404),
    summary="A case's unmet needs: needs no available, accessible or accepted service answers",
)
def case_unmet_needs(request: AuthenticatedHttpRequest, case_id: int) -> Any:
    user = request.user
    case = case_access.get_case_for_user(user, case_id)
    return [_unmet_need(gap, user) for gap in _unmet_needs(case)]


@router.post(
    "/cases/{int:case_id}/unmet-needs",
    response=answers(UnmetNeedOut, 400, 403, 404, 412, status=201),
    summary="Record an unmet need at assessment, plan or referral (a service gap)",
    openapi_extra=if_match(required=False),
)
def record_unmet_need(
    request: AuthenticatedHttpRequest,
    case_id: int,
    payload: Annotated[RawBody, DocumentedAs(UnmetNeedIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = case_access.get_case_for_user(user, case_id, write=True)
    data = checked_body(request, UnmetNeedIn, payload, version=case.version, required=False)
    referral = None
    if data.referral is not None:
        referral = Referral.objects.filter(case=case, pk=data.referral).first()
        if referral is None:
            raise FieldErrors({"referral": [_("This referral is not one of this case's.")]})
    gap = services.record_unmet_need(
        case,
        by=user,
        need_code=data.need_code,
        reason=data.reason,
        step=data.step,
        note=data.note,
        referral=referral,
    )
    gap.recorded_by = user
    return Status(201, _unmet_need(gap, user))


@router.post(
    "/cases/{int:case_id}/unmet-needs/{int:unmet_need_id}/resolve",
    response=answers(UnmetNeedOut, 400, 403, 404, 412),
    summary="A service was found for an unmet need",
    openapi_extra=if_match(required=False),
)
def resolve_unmet_need(
    request: AuthenticatedHttpRequest,
    case_id: int,
    unmet_need_id: int,
    payload: Annotated[RawBody, DocumentedAs(ResolveIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = case_access.get_case_for_user(user, case_id, write=True)
    gap = (
        UnmetNeed.objects.filter(case=case, pk=unmet_need_id)
        .select_related("recorded_by", "location")
        .first()
    )
    if gap is None:
        raise Http404(_("No such unmet need."))
    gap.case = case
    data = checked_body(request, ResolveIn, payload, version=case.version, required=False)
    services.resolve_unmet_need(gap, by=user, on=data.resolved_on)
    return _unmet_need(gap, user)


@router.get(
    "/overdue",
    response=list[ReferralSummaryOut],
    summary="Referrals unanswered past the agreed time (the caller's task list)",
)
def overdue(request: AuthenticatedHttpRequest) -> Any:
    # The caller's task list: a caseworker's or supervisor's (a partner answers from the inbox).
    user = require_perm(request.user, Perm.WORK_ON_CASES)
    return [_summary(r) for r in services.overdue_referrals_for(user)[:200]]


@router.get(
    "/{int:referral_id}",
    response=answers(ReferralOut, 404),
    summary="A referral (ETag: its version)",
)
def get_referral(
    request: AuthenticatedHttpRequest, referral_id: int, response: HttpResponse
) -> Any:
    user = request.user
    if user.role == Role.PARTNER:  # partners read what was shared, at /received/{id}
        raise Http404
    referral = referral_access.get_referral_for_user(user, referral_id)
    send_version(response, referral.version)
    return _detail(referral, user)


@router.post(
    "/{int:referral_id}/status",
    response=answers(ReferralOut | ReceivedOut, 400, 403, 404, 409, precondition=True),
    summary="Accept, decline, record the service as delivered, or cancel",
    openapi_extra=if_match(),
)
def change_status(
    request: AuthenticatedHttpRequest,
    referral_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(StatusIn)] = READ_LATER,
) -> Any:
    """Partners answer (accepted, declined, delivered); the sending side may also record an answer
    given by phone or e-mail, and alone may cancel."""
    user = request.user
    referral = referral_access.get_referral_for_user(user, referral_id, write=True)
    data = checked_body(request, StatusIn, payload, version=referral.version)
    services.move_referral(referral, to=data.status, by=user, comment=data.comment)
    send_version(response, referral.version)
    if user.role == Role.PARTNER:
        return _received(referral, user, full=True)
    return _detail(referral, user)


# --- the partner's inbox ------------------------------------------------------------------------


@router.get("/inbox", response=answers(ReceivedPageOut, 404), summary="Referrals received")
def inbox(request: AuthenticatedHttpRequest, status: str = "", page: int = 1) -> Any:
    """For partner users: referrals sent to their organisation, newest first."""
    user = request.user
    require_perm(user, Perm.ANSWER_REFERRALS)
    listed = paginate(selectors.received_by(user, status=status), page, selectors.PAGE_SIZE)
    items, count, page, pages = listed.items, listed.count, listed.page, listed.pages
    record("referrals.inbox.viewed", by=user, data={"referrals": [r.pk for r in items]})
    return {
        "items": [_received(r, user, full=False) for r in items],
        "count": count,
        "page": page,
        "pages": pages,
    }


@router.get(
    "/received/{int:referral_id}",
    response=answers(ReceivedOut, 404),
    summary="A referral received, with what was shared (ETag: its version)",
)
def get_received(
    request: AuthenticatedHttpRequest, referral_id: int, response: HttpResponse
) -> Any:
    user = request.user
    require_perm(user, Perm.ANSWER_REFERRALS)
    referral = referral_access.get_referral_for_user(user, referral_id)
    send_version(response, referral.version)
    return _received(referral, user, full=True)
