"""Everything that changes the directory or a referral, and the directory search.

Each service is a keyword-only function in a transaction that writes its audit entry in the same
transaction and raises a CaseworkError (translated message, machine code) instead of changing
anything. HTML views, the API and the import command all call these.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.access import check_perm
from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm, Role
from casework.audit.log import record
from casework.cases import access as case_access
from casework.cases import events
from casework.cases.models import Case, ReleaseInformation, ReleasePurpose
from casework.cases.release import Release, authorise_release
from casework.core.errors import (
    CaseworkError,
    Conflict,
    ConsentRequired,
    FieldErrors,
    InvalidTransition,
    NotAllowed,
)
from casework.core.text import too_long
from casework.reference.models import Location
from casework.referrals import access as referral_access
from casework.referrals.models import (
    AccompanyingAdult,
    NoReferral,
    NoReferralNeeded,
    Organisation,
    Referral,
    ReferralEvent,
    ReferralMethod,
    ReferralQuerySet,
    Sector,
    Service,
    ServiceQuerySet,
    UnmetNeed,
    need_choices,
    need_code_validator,
)
from casework.worklist import services as worklist

ADULT_AGE = 18

# The order information items are offered and stored in, least revealing first.
INFORMATION_ORDER = [
    ReleaseInformation.CASE_SUMMARY,
    ReleaseInformation.ASSESSMENT,
    ReleaseInformation.HEALTH,
    ReleaseInformation.CONTACT,
    ReleaseInformation.IDENTITY,
]
# What a new referral shares unless the caseworker chooses otherwise (seed 003: "do not share
# unnecessary information").
DEFAULT_INFORMATION = [ReleaseInformation.CASE_SUMMARY]


# --- inputs -------------------------------------------------------------------------------------


@dataclass
class OrganisationDetails:
    code: str
    name: str
    agency: Agency | None = None
    contact_person: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    referral_method: str = ReferralMethod.FORM
    has_agreement: bool = False
    quality_notes: str = ""
    is_active: bool = True


@dataclass
class ServiceDetails:
    name: str
    sector: str
    description: str = ""
    nationwide: bool = False
    locations: list[Location] = field(default_factory=list)
    eligibility: str = ""
    min_age: int | None = None
    max_age: int | None = None
    languages: str = ""
    capacity_per_month: int | None = None
    staffing: str = ""
    answer_within_days: int = 5
    is_active: bool = True


@dataclass
class ReferralDetails:
    """What the caseworker fills in to refer. The texts are shared only with their item ticked."""

    service: Service
    need_code: str
    information: list[str] = field(default_factory=lambda: list(DEFAULT_INFORMATION))
    summary: str = ""  # shared with "case summary and needs"
    assessment_notes: str = ""  # shared with "assessment"
    health_notes: str = ""  # shared with "health information"
    urgent: bool = False
    accompanied_by: str = ""
    accompanied_by_name: str = ""
    override_reason: str = ""


# --- directory ----------------------------------------------------------------------------------


def search_services(
    *,
    sector: str = "",
    need: str = "",
    location: Location | None = None,
    text: str = "",
    age: int | None = None,
    include_inactive: bool = False,
) -> ServiceQuerySet:
    """Services of a sector, or answering a plan need, in a place (the area or any area
    containing it, or the whole country)."""
    services = Service.objects.all() if include_inactive else Service.objects.active()
    services = services.for_sector(sector).for_need(need).serving(location)
    if text.strip():
        services = services.filter(
            Q(name__icontains=text.strip()) | Q(organisation__name__icontains=text.strip())
        )
    if age is not None:
        services = services.exclude(min_age__gt=age).exclude(max_age__lt=age)
    return services.select_related("organisation").order_by("organisation__name", "name", "id")


def validate_organisation(
    details: OrganisationDetails, *, instance: Organisation | None = None
) -> dict[str, list[str]]:
    """Field errors of an organisation as it would be saved (no writes)."""
    errors: dict[str, list[str]] = {}
    organisation = apply_organisation_details(details, instance or Organisation())
    try:
        organisation.full_clean(validate_unique=False)
    except ValidationError as error:
        errors.update({k: [str(m) for m in v] for k, v in error.message_dict.items()})
    if details.agency is not None and details.agency.kind != Agency.Kind.SERVICE_PROVIDER:
        errors.setdefault("agency", []).append(
            _("Only a partner service provider can receive referrals in Casework.")
        )
    return errors


def apply_organisation_details(
    details: OrganisationDetails, organisation: Organisation
) -> Organisation:
    organisation.code = details.code.strip().upper()
    organisation.name = details.name.strip()
    organisation.agency = details.agency
    organisation.contact_person = details.contact_person.strip()
    organisation.phone = details.phone.strip()
    organisation.email = details.email.strip()
    organisation.address = details.address.strip()
    organisation.referral_method = details.referral_method
    organisation.has_agreement = details.has_agreement
    organisation.quality_notes = details.quality_notes.strip()
    organisation.is_active = details.is_active
    return organisation


@transaction.atomic
def save_organisation(
    *, by: User | None, details: OrganisationDetails, organisation: Organisation | None = None
) -> Organisation:
    """Add an organisation to the directory, or change one."""
    check_perm(by, Perm.MANAGE_CONFIGURATION)
    errors = validate_organisation(details, instance=organisation)
    code = details.code.strip().upper()
    clash = Organisation.objects.filter(code=code)
    if organisation is not None:
        clash = clash.exclude(pk=organisation.pk)
    if clash.exists():
        errors.setdefault("code", []).append(_("Another organisation has this code."))
    if errors:
        raise FieldErrors(errors)
    created = organisation is None
    organisation = apply_organisation_details(details, organisation or Organisation())
    organisation.save()
    record(
        "referrals.organisation.created" if created else "referrals.organisation.changed",
        by=by,
        target=organisation,
        data={"code": organisation.code},
    )
    return organisation


def validate_service(details: ServiceDetails) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not details.name.strip():
        add("name", _("Enter the service's name."))
    elif len(details.name.strip()) > 200:
        add("name", _("Use at most 200 characters."))
    if details.sector not in Sector.values:
        add("sector", _("Choose a sector from the list."))
    if not details.nationwide and not details.locations:
        add("locations", _("List the areas served, or mark the service as nationwide."))
    if not 1 <= details.answer_within_days <= 90:
        add("answer_within_days", _("Enter a number of days between 1 and 90."))
    for name in ("min_age", "max_age"):
        value = getattr(details, name)
        if value is not None and not 0 <= value <= 120:
            add(name, _("Enter an age between 0 and 120."))
    if (
        details.min_age is not None
        and details.max_age is not None
        and details.min_age > details.max_age
    ):
        add("max_age", _("The maximum age is below the minimum age."))
    if details.capacity_per_month is not None and details.capacity_per_month < 0:
        add("capacity_per_month", _("Enter a positive number."))
    if len(details.languages) > 200:
        add("languages", _("Use at most 200 characters."))
    return errors


def apply_service_details(details: ServiceDetails, service: Service) -> Service:
    service.name = details.name.strip()
    service.sector = details.sector
    service.description = details.description.strip()
    service.nationwide = details.nationwide
    service.eligibility = details.eligibility.strip()
    service.min_age = details.min_age
    service.max_age = details.max_age
    service.languages = ", ".join(
        part.strip() for part in details.languages.split(",") if part.strip()
    )
    service.capacity_per_month = details.capacity_per_month
    service.staffing = details.staffing.strip()
    service.answer_within_days = details.answer_within_days
    service.is_active = details.is_active
    return service


@transaction.atomic
def save_service(
    organisation: Organisation,
    *,
    by: User | None,
    details: ServiceDetails,
    service: Service | None = None,
) -> Service:
    """Add a service to an organisation, or change one."""
    check_perm(by, Perm.MANAGE_CONFIGURATION)
    errors = validate_service(details)
    clash = Service.objects.filter(organisation=organisation, name=details.name.strip())
    if service is not None:
        clash = clash.exclude(pk=service.pk)
    if clash.exists():
        errors.setdefault("name", []).append(_("This organisation already lists this service."))
    if errors:
        raise FieldErrors(errors)
    created = service is None
    service = apply_service_details(details, service or Service(organisation=organisation))
    service.save()
    service.locations.set(details.locations)
    record(
        "referrals.service.created" if created else "referrals.service.changed",
        by=by,
        target=service,
        data={"organisation": organisation.code, "sector": service.sector},
    )
    return service


# --- referrals ----------------------------------------------------------------------------------


def is_child(case: Case) -> bool:
    # Age at registration, as the child-protection rules and the indicators use it.
    return case.age_at_registration is not None and case.age_at_registration < ADULT_AGE


def _ordered_information(information: Iterable[str]) -> list[str]:
    chosen = set(information)
    return [item.value for item in INFORMATION_ORDER if item in chosen]


def _validate_referral(case: Case, details: ReferralDetails) -> list[str]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not case.is_open:
        raise CaseworkError(_("This case is not open; it cannot be referred."), code="case_closed")
    try:
        need_code_validator(details.need_code)
    except ValidationError:
        add("need_code", _("Choose the need this referral answers."))
    service = details.service
    if not service.is_active or not service.organisation.is_active:
        add("service", _("This service is no longer in the directory."))
    unknown = set(details.information) - set(ReleaseInformation.values)
    if unknown:
        add("information", _("Choose information items from the list."))
    information = _ordered_information(details.information)
    # Text written for an item that is not ticked would silently not be shared: say so instead.
    for item, text, name in (
        (ReleaseInformation.CASE_SUMMARY, details.summary, "summary"),
        (ReleaseInformation.ASSESSMENT, details.assessment_notes, "assessment_notes"),
        (ReleaseInformation.HEALTH, details.health_notes, "health_notes"),
    ):
        if text.strip() and item not in information:
            add(
                name,
                _("Tick “%(item)s” to share this text, or clear it.")
                % {"item": ReleaseInformation(item).label},
            )
    if details.accompanied_by and details.accompanied_by not in AccompanyingAdult.values:
        add("accompanied_by", _("Choose a value from the list."))
    if is_child(case):
        if not details.accompanied_by:
            add("accompanied_by", _("A child is referred with an accompanying adult: say who."))
        if not details.accompanied_by_name.strip():
            add("accompanied_by_name", _("Enter the accompanying adult's name."))
    if len(details.accompanied_by_name) > 200:
        add("accompanied_by_name", _("Use at most 200 characters."))
    if errors:
        raise FieldErrors(errors)
    already = Referral.objects.filter(
        case=case,
        service=service,
        need_code=details.need_code,
        status__in=[Referral.Status.SENT, Referral.Status.ACCEPTED],
    )
    if already.exists():
        raise CaseworkError(
            _("An open referral for this need to this service already exists."),
            code="duplicate_referral",
        )
    return information


def build_snapshot(case: Case, details: ReferralDetails, information: list[str]) -> dict[str, Any]:
    """Exactly the information chosen, copied from the case as it is now."""
    person = case.person
    sections: dict[str, dict[str, Any]] = {}
    if ReleaseInformation.CASE_SUMMARY in information:
        sections["case_summary"] = {
            "sex": person.sex,
            "age": person.age_on(timezone.localdate()) or case.age_at_registration,
            "languages": person.languages,
            "summary": details.summary.strip(),
        }
    if ReleaseInformation.ASSESSMENT in information:
        concerns = [case.primary_concern] if case.primary_concern else []
        concerns += [c for c in case.secondary_concerns.all() if c not in concerns]
        sections["assessment"] = {
            "risk_level": case.risk_level,
            "protection_concerns": [c.label for c in concerns],
            "notes": details.assessment_notes.strip(),
        }
    if ReleaseInformation.HEALTH in information:
        sections["health"] = {"notes": details.health_notes.strip()}
    if ReleaseInformation.CONTACT in information:
        sections["contact"] = {"phone": person.phone, "address": person.address}
    if ReleaseInformation.IDENTITY in information:
        sections["identity"] = {
            "given_name": person.given_name,
            "family_name": person.family_name,
            "other_names": person.other_names,
            "date_of_birth": str(person.date_of_birth) if person.date_of_birth else None,
        }
    snapshot: dict[str, Any] = {"need": details.need_code, "sections": sections}
    if details.accompanied_by:
        # Who comes with the child; their name only when the client's identity is shared too.
        snapshot["accompanied_by"] = {
            "relationship": details.accompanied_by,
            "name": (
                details.accompanied_by_name.strip()
                if ReleaseInformation.IDENTITY in information
                else ""
            ),
        }
    return snapshot


def send_referral(case: Case, *, by: User, details: ReferralDetails) -> Referral:
    """Refer a case's need to a service, sharing only what the client's consent covers.

    The consent check runs in the same transaction as the write. A refusal commits nothing but its
    own audit entry: the transaction is left normally and the refusal raised after it, so the
    refused attempt stays on record.
    """
    check_perm(by, Perm.WORK_ON_CASES)
    if not case_access.may_write(by, case):
        raise NotAllowed(_("You cannot refer this case."))
    information = _validate_referral(case, details)
    with transaction.atomic():
        try:
            release = authorise_release(
                case,
                by=by,
                purpose=ReleasePurpose.REFERRAL,
                organisation_code=details.service.organisation.code,
                organisation_name=details.service.organisation.name,
                information=information,
                override_reason=details.override_reason,
            )
        except ConsentRequired as error:
            refusal = error
        else:
            return _create_referral(
                case, by=by, details=details, information=information, release=release
            )
    raise refusal


def _create_referral(
    case: Case, *, by: User, details: ReferralDetails, information: list[str], release: Release
) -> Referral:
    service = details.service
    organisation = service.organisation
    now = timezone.now()
    referral = Referral.objects.create(
        case=case,
        service=service,
        organisation=organisation,
        need_code=details.need_code,
        urgent=details.urgent,
        information=information,
        shared=json.dumps(build_snapshot(case, details, information), ensure_ascii=False),
        consent=release.consent,
        consent_overridden=release.overridden,
        override_reason=details.override_reason.strip() if release.overridden else "",
        accompanied_by=details.accompanied_by,
        accompanied_by_name=details.accompanied_by_name.strip(),
        sent_by=by,
        sent_at=now,
        answer_due_at=now + datetime.timedelta(days=service.answer_within_days),
    )
    ReferralEvent.objects.create(referral=referral, status=Referral.Status.SENT, at=now, by=by)
    record(
        "referrals.referral.sent",
        by=by,
        target=referral,
        case_id=case.pk,
        data={
            "organisation": organisation.code,
            "service": service.pk,
            "need": details.need_code,
            "information": information,
            "overridden": release.overridden,
            "consent": release.consent.pk if release.consent else None,
        },
    )
    return referral


def _may_move(referral: Referral, by: User, to: str) -> bool:
    if by.role == Role.PARTNER:
        agency_id = referral.organisation.agency_id
        return (
            to in Referral.ANSWERS
            and by.has_casework_perm(Perm.ANSWER_REFERRALS)
            and agency_id is not None
            and agency_id == by.agency_id
        )
    # The sending side records an answer given by phone or e-mail, and alone may cancel.
    return by.has_casework_perm(Perm.WORK_ON_CASES) and case_access.may_write(by, referral.case)


def move_referral(referral: Referral, *, to: str, by: User, comment: str = "") -> ReferralEvent:
    """Accept, decline, record the service as delivered, or cancel: one new event row each."""
    if to not in Referral.Status.values or to == Referral.Status.SENT:
        raise InvalidTransition(_("Choose what happened to the referral."), field="status")
    if not referral.can_move_to(to):
        raise InvalidTransition(
            _("A referral that is “%(now)s” cannot become “%(to)s”.")
            % {"now": referral.get_status_display(), "to": Referral.Status(to).label},
            field="status",
        )
    if not _may_move(referral, by, to):
        raise NotAllowed(_("Your role cannot record this for the referral."))
    previous = referral.status
    now = timezone.now()
    with transaction.atomic():
        changes: dict[str, Any] = {"status": to, "updated_at": now, "version": F("version") + 1}
        if to in (Referral.Status.ACCEPTED, Referral.Status.DECLINED):
            changes["answered_at"] = now
        # Conditional on the version it was read with: two people answering at once cannot both win.
        if not Referral.objects.filter(pk=referral.pk, version=referral.version).update(**changes):
            raise Conflict(_("Someone else updated this referral. Reload and try again."))
        event = ReferralEvent.objects.create(
            referral=referral, status=to, at=now, by=by, comment=comment.strip()
        )
        if to == Referral.Status.ACCEPTED:
            _resolve_by_referral(referral, by=by, on=timezone.localdate(now))
        if previous == Referral.Status.SENT:
            # Answered or cancelled: a "not answered in time" task, if one was opened, is done.
            worklist.close_tasks(referral.case, kinds=[OVERDUE_TASK], by=by, source=referral)
        record(
            f"referrals.referral.{to}",
            by=by,
            target=referral,
            case_id=referral.case_id,
            data={"from": previous, "to": to, "partner": by.role == Role.PARTNER},
        )
    for name, value in changes.items():
        if name != "version":
            setattr(referral, name, value)
    referral.version += 1
    return event


def cancel_unanswered(case: Case, *, by: User, reason: str) -> int:
    """Cancel the case's referrals that no partner has answered yet (the case was closed or
    handed to another agency): the partner's inbox then shows them as cancelled rather than as
    work to take on. Accepted referrals stay: the service may be under way and its outcome is
    still recorded. One event row and one audit entry per referral; returns how many."""
    waiting = list(Referral.objects.filter(case_id=case.pk, status=Referral.Status.SENT))
    if not waiting:
        return 0
    now = timezone.now()
    with transaction.atomic():
        Referral.objects.filter(pk__in=[r.pk for r in waiting], status=Referral.Status.SENT).update(
            status=Referral.Status.CANCELLED, updated_at=now, version=F("version") + 1
        )
        ReferralEvent.objects.bulk_create(
            [
                ReferralEvent(
                    referral=referral,
                    status=Referral.Status.CANCELLED,
                    at=now,
                    by=by,
                    comment=reason,
                )
                for referral in waiting
            ]
        )
        for referral in waiting:
            worklist.close_tasks(case, kinds=[OVERDUE_TASK], by=by, source=referral)
            record(
                "referrals.referral.cancelled",
                by=by,
                target=referral,
                case_id=case.pk,
                data={
                    "from": Referral.Status.SENT,
                    "to": Referral.Status.CANCELLED,
                    "automatic": True,
                },
            )
    return len(waiting)


@transaction.atomic
def record_no_referral_needed(
    case: Case, *, by: User, need_code: str, reason: str, note: str = ""
) -> NoReferralNeeded | UnmetNeed:
    """A need that calls for no referral, with one of the seed's reasons.

    "Service not available locally" is a service gap: it is recorded as an unmet need (reason
    "no service", at the referral step), so the gap report counts it with the others.
    """
    if reason == NoReferral.NOT_AVAILABLE_LOCALLY:
        return record_unmet_need(
            case,
            by=by,
            need_code=need_code,
            reason=UnmetNeed.Reason.NO_SERVICE,
            step=UnmetNeed.Step.REFERRAL,
            note=note,
        )
    check_perm(by, Perm.WORK_ON_CASES)
    if not case_access.may_write(by, case):
        raise NotAllowed(_("You cannot change this case."))
    errors: dict[str, list[str]] = {}
    try:
        need_code_validator(need_code)
    except ValidationError:
        errors["need_code"] = [_("Choose the need.")]
    if reason not in NoReferralNeeded.Reason.values:
        errors["reason"] = [_("Choose a reason from the list.")]
    if errors:
        raise FieldErrors(errors)
    decision = NoReferralNeeded.objects.create(
        case=case,
        need_code=need_code,
        reason=reason,
        note=note.strip(),
        recorded_by=by,
        recorded_at=timezone.now(),
    )
    record(
        "referrals.not_needed.recorded",
        by=by,
        target=decision,
        case_id=case.pk,
        data={"need": need_code, "reason": reason},
    )
    return decision


# --- unmet needs (service gaps) -----------------------------------------------------------------


@transaction.atomic
def record_unmet_need(
    case: Case,
    *,
    by: User,
    need_code: str,
    reason: str,
    step: str,
    note: str = "",
    referral: Referral | None = None,
) -> UnmetNeed:
    """Record that no available, accessible or accepted service answers a need of the case.

    The case's area is kept on the row as it is today. One open gap per need and case: the same
    gap met again at a later step is the same gap.
    """
    check_perm(by, Perm.WORK_ON_CASES)
    if not case_access.may_write(by, case):
        raise NotAllowed(_("You cannot change this case."))
    if not case.is_open:
        raise CaseworkError(_("This case is not open."), code="case_closed")
    errors: dict[str, list[str]] = {}
    if need_code not in dict(need_choices()):
        errors["need_code"] = [_("Choose the need.")]
    if reason not in UnmetNeed.Reason.values:
        errors["reason"] = [_("Choose a reason from the list.")]
    if step not in UnmetNeed.Step.values:
        errors["step"] = [_("Choose the step from the list.")]
    if referral is not None and referral.case_id != case.pk:
        errors["referral"] = [_("This referral is not one of this case's.")]
    if message := too_long(note, 2000):
        errors["note"] = [message]
    if errors:
        raise FieldErrors(errors)
    already = CaseworkError(
        _("This need is already recorded as unmet and not resolved."),
        code="duplicate_unmet_need",
        field="need_code",
    )
    if UnmetNeed.objects.filter(case=case, need_code=need_code).still_open().exists():
        raise already
    now = timezone.now()
    try:
        with transaction.atomic():  # someone else recorded it since the check above
            unmet = UnmetNeed.objects.create(
                case=case,
                need_code=need_code,
                location_id=case.location_id,
                reason=reason,
                step=step,
                referral=referral,
                note=note.strip(),
                recorded_by=by,
                recorded_on=timezone.localdate(now),
                recorded_at=now,
            )
    except IntegrityError:
        raise already from None
    record(
        "referrals.unmet_need.recorded",
        by=by,
        target=unmet,
        case_id=case.pk,
        data={"need": need_code, "reason": reason, "step": step},
    )
    return unmet


@transaction.atomic
def resolve_unmet_need(unmet: UnmetNeed, *, by: User, on: datetime.date | None = None) -> UnmetNeed:
    """A service was found for a recorded gap after all (on `on`, today by default)."""
    check_perm(by, Perm.WORK_ON_CASES)
    if not case_access.may_write(by, unmet.case):
        raise NotAllowed(_("You cannot change this case."))
    on = on or timezone.localdate()
    if on < unmet.recorded_on or on > timezone.localdate():
        raise FieldErrors(
            {"resolved_on": [_("Enter a date between the day it was recorded and today.")]}
        )
    if not UnmetNeed.objects.filter(pk=unmet.pk, resolved_on__isnull=True).update(
        resolved_on=on, resolved_by=by
    ):
        raise CaseworkError(_("This unmet need is already resolved."), code="already_resolved")
    unmet.resolved_on, unmet.resolved_by = on, by
    record(
        "referrals.unmet_need.resolved",
        by=by,
        target=unmet,
        case_id=unmet.case_id,
        data={"need": unmet.need_code},
    )
    return unmet


def _resolve_by_referral(referral: Referral, *, by: User, on: datetime.date) -> None:
    """A referral for the need was accepted: the case's open gap for that need is filled."""
    gaps = list(
        UnmetNeed.objects.filter(case_id=referral.case_id, need_code=referral.need_code)
        .still_open()
        .filter(recorded_on__lte=on)
    )
    if not gaps:
        return
    UnmetNeed.objects.filter(pk__in=[gap.pk for gap in gaps]).update(
        resolved_on=on, resolved_by=by, resolved_by_referral=referral
    )
    for gap in gaps:
        record(
            "referrals.unmet_need.resolved",
            by=by,
            target=gap,
            case_id=referral.case_id,
            data={"need": gap.need_code, "referral": referral.pk},
        )


# --- overdue referrals --------------------------------------------------------------------------


def overdue_referrals_for(user: User, *, now: datetime.datetime | None = None) -> ReferralQuerySet:
    """Referrals still unanswered after the service's agreed time, for `user`'s task list.

    For a caseworker or supervisor: those of the cases they may change; for a partner user:
    those their organisation has not answered yet.
    """
    return (
        referral_access.visible_referrals(user, write=True)
        .overdue(now)
        .select_related("service", "organisation", "case")
        .order_by("answer_due_at", "id")
    )


OVERDUE_TASK = "referral_overdue"


def flag_overdue_referrals(*, now: datetime.datetime | None = None) -> int:
    """Put each newly overdue referral on its caseworker's task list, once. Returns how many."""
    now = now or timezone.now()
    flagged = 0
    candidates = (
        Referral.objects.overdue(now)
        .filter(overdue_flagged_at=None)
        .select_related("case", "service", "organisation")
    )
    for referral in candidates.iterator():
        with transaction.atomic():
            claimed = Referral.objects.filter(pk=referral.pk, overdue_flagged_at=None).update(
                overdue_flagged_at=now
            )
            if not claimed:
                continue  # another worker got it
            worklist.open_task(
                referral.case,
                kind=OVERDUE_TASK,
                due_at=referral.answer_due_at,
                source=referral,
            )
            record(
                "referrals.referral.overdue",
                by=None,
                target=referral,
                case_id=referral.case_id,
                agency_id=referral.case.agency_id,
                data={"organisation": referral.organisation.code},
            )
            flagged += 1
    return flagged


# --- reacting to the case (connected in ReferralsConfig.ready()) --------------------------------


def _case_closed(event: events.CaseChanged) -> None:
    cancel_unanswered(event.case, by=event.by, reason=_("The case was closed."))


def _case_transferred(event: events.CaseTransferred) -> None:
    cancel_unanswered(
        event.case, by=event.by, reason=_("The case was transferred to another agency.")
    )


def subscribe() -> None:
    events.case_closed.connect(_case_closed)
    events.case_transferred.connect(_case_transferred)
