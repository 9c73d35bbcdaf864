"""Everything that changes a case: registration, lifecycle moves, consent, notes.

Each service is a keyword-only function in a transaction that writes its audit entry in the same
transaction; it validates before writing and raises a CaseworkError (translated message, machine
code) instead of changing anything. HTML views and the API both call these.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.access import check_perm
from casework.accounts.models import Team, User
from casework.accounts.roles import Perm, Role
from casework.audit.log import record
from casework.cases import events, lifecycle
from casework.cases.models import (
    Case,
    CaseCounter,
    CaseNote,
    ClosureReason,
    Consent,
    ConsentRecipient,
    ContactType,
    IdentificationSource,
    NoteRevision,
    ReleaseInformation,
    ReleasePurpose,
    RiskLevel,
    ServiceType,
    Status,
    Transition,
)
from casework.core.errors import (
    CaseworkError,
    Conflict,
    ConsentRequired,
    FieldErrors,
    InvalidTransition,
    NotAllowed,
)
from casework.people.models import Person, Relationship, Sex, age_on
from casework.people.services import (
    PersonDetails,
    caregivers_of,
    details_of,
    index_names,
    link_persons,
    person_errors,
)
from casework.reference.models import Location, Programme, ProtectionConcern
from casework.vault.fields import agency_of, encrypting_for

ADULT_AGE = 18


# --- inputs -------------------------------------------------------------------------------------


@dataclass
class CaregiverDetails:
    """A caregiver not yet on record: they become a person linked to the child."""

    given_name: str = ""
    family_name: str = ""
    relationship: str = Relationship.Kind.PARENT
    phone: str = ""

    @property
    def named(self) -> bool:
        return bool(self.given_name.strip() or self.family_name.strip())


@dataclass
class RecipientDetails:
    organisation_name: str
    organisation_code: str = ""
    purpose: str = ReleasePurpose.REFERRAL
    information: list[str] = field(default_factory=list)
    valid_until: datetime.date | None = None


@dataclass
class ConsentDetails:
    receive_services: bool
    given_by: str = Consent.GivenBy.CLIENT
    child_assent: bool | None = None
    share_for_referral: bool = False
    anonymised_reporting: bool = True
    method: str = Consent.Method.WRITTEN
    given_on: datetime.date | None = None
    recipients: list[RecipientDetails] = field(default_factory=list)


@dataclass
class CaseDetails:
    programme: Programme
    service_type: str = ServiceType.CASE_MANAGEMENT
    identification_source: str = IdentificationSource.SELF
    identified_on: datetime.date | None = None
    primary_concern: ProtectionConcern | None = None
    secondary_concerns: list[ProtectionConcern] = field(default_factory=list)
    risk_level: str = ""
    location: Location | None = None
    caseworker: User | None = None


# --- small helpers ------------------------------------------------------------------------------


def _today() -> datetime.date:
    return timezone.localdate()


def _next_number(agency_id: int, year: int) -> int:
    """The next free number of an agency's counter, under a row lock (no two cases share one)."""
    for _attempt in range(2):
        updated = CaseCounter.objects.filter(agency_id=agency_id, year=year).update(
            last=F("last") + 1
        )
        if updated:
            return CaseCounter.objects.get(agency_id=agency_id, year=year).last
        try:
            with transaction.atomic():
                CaseCounter.objects.create(agency_id=agency_id, year=year, last=1)
            return 1
        except IntegrityError:
            continue  # created concurrently: the update will now find it
    raise CaseworkError(_("Could not allocate a reference number; please try again."))


def case_reference(agency_code: str, year: int, number: int) -> str:
    return f"{agency_code}-{year}-{number:06d}"


def person_reference(agency_code: str, number: int) -> str:
    return f"{agency_code}-P-{number:07d}"


def _check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != case.version:
        raise Conflict(
            _("This case was changed by someone else since you opened it. Reload and try again.")
        )


def save_case(case: Case, fields: list[str], *, expected_version: int | None = None) -> None:
    """Write `fields` only if nobody else saved the case since it was loaded (optimistic lock)."""
    version = case.version if expected_version is None else expected_version
    values = {name: getattr(case, name) for name in fields}
    values["updated_at"] = timezone.now()
    updated = Case.objects.filter(pk=case.pk, version=version).update(version=version + 1, **values)
    if not updated:
        raise Conflict(
            _("This case was changed by someone else since you opened it. Reload and try again.")
        )
    case.version = version + 1


# --- registration -------------------------------------------------------------------------------


def _validate_registration(
    *,
    by: User,
    person: PersonDetails,
    details: CaseDetails,
    consent: ConsentDetails | None,
    caregiver: CaregiverDetails | None,
    today: datetime.date,
    known_caregiver: bool = False,
) -> tuple[int | None, User, Team]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    identified_on = details.identified_on or today
    if identified_on > today:
        add("identified_on", _("The identification date cannot be in the future."))
    errors.update(person_errors(person, today=today, identified_on=identified_on))
    age: int | None = None
    if not {"date_of_birth", "estimated_age"} & errors.keys():
        age = age_on(person.date_of_birth, today) if person.date_of_birth else person.estimated_age
    if details.service_type not in ServiceType.values:
        add("service_type", _("Choose a value from the list."))
    if details.identification_source not in IdentificationSource.values:
        add("identification_source", _("Choose a value from the list."))
    if details.risk_level and details.risk_level not in RiskLevel.values:
        add("risk_level", _("Choose a value from the list."))
    if not details.programme.is_active:
        add("programme", _("This programme is no longer in use."))
    if details.primary_concern is not None and not details.primary_concern.is_active:
        add("primary_concern", _("This protection concern is no longer in use."))

    # Who will hold the case: a caseworker registers for themselves; a supervisor may assign it
    # to anyone in their team.
    caseworker = details.caseworker or by
    if by.role == Role.CASEWORKER and caseworker.pk != by.pk:
        add("caseworker", _("Caseworkers register cases for themselves."))
    elif caseworker.agency_id != by.agency_id or caseworker.role not in (
        Role.CASEWORKER,
        Role.SUPERVISOR,
    ):
        add("caseworker", _("Choose a caseworker of your agency."))
    elif by.role == Role.SUPERVISOR and caseworker.team_id != by.team_id:
        add("caseworker", _("Choose a caseworker of your team."))
    team = caseworker.team
    if team is None:
        add("caseworker", _("This caseworker is not in a team yet."))

    if consent is not None:
        given_on = consent.given_on or today
        if given_on > today:
            add("consent_given_on", _("Consent cannot be dated in the future."))
        if age is not None and age < ADULT_AGE:
            if consent.given_by != Consent.GivenBy.CAREGIVER:
                add(
                    "consent_given_by",
                    _(
                        "For a child under 18, consent is given by a caregiver, with the child's assent."
                    ),
                )
            if consent.child_assent is None:
                add("consent_child_assent", _("Record whether the child assents."))
        if consent.given_by == Consent.GivenBy.CAREGIVER and not (
            known_caregiver
            or (caregiver and (caregiver.given_name.strip() or caregiver.family_name.strip()))
        ):
            add("caregiver_given_name", _("Enter the name of the caregiver who gives consent."))
        if consent.share_for_referral and not consent.recipients:
            add(
                "consent_recipients",
                _("Name at least one organisation the client agrees to share with."),
            )
        for recipient in consent.recipients:
            if not recipient.organisation_name.strip():
                add("consent_recipients", _("Each recipient needs an organisation name."))
            if recipient.purpose not in ReleasePurpose.values:
                add("consent_recipients", _("Choose a purpose from the list."))
            if any(item not in ReleaseInformation.values for item in recipient.information):
                add("consent_recipients", _("Choose the information to share from the list."))
    if errors or team is None:
        raise FieldErrors(errors)
    return age, caseworker, team


@transaction.atomic
def register_case(
    *,
    by: User,
    person: PersonDetails,
    details: CaseDetails,
    consent: ConsentDetails | None,
    caregiver: CaregiverDetails | None = None,
    register: bool = True,
) -> Case:
    """Create the person, the case (identified, then registered) and the consent in one step."""
    check_perm(by, Perm.REGISTER_CASES)
    today = _today()
    age, caseworker, team = _validate_registration(
        by=by, person=person, details=details, consent=consent, caregiver=caregiver, today=today
    )
    agency = by.agency
    if agency is None:
        raise NotAllowed(_("Your account is not in an agency."))
    subject = Person.objects.create(
        agency=agency,
        reference=person_reference(agency.code, _next_number(agency.pk, 0)),
        given_name=person.given_name.strip(),
        family_name=person.family_name.strip(),
        other_names=person.other_names.strip(),
        sex=person.sex,
        date_of_birth=person.date_of_birth,
        estimated_age=None if person.date_of_birth else person.estimated_age,
        age_estimated_on=None if person.date_of_birth or person.estimated_age is None else today,
        nationality=person.nationality.strip(),
        disability=person.disability,
        mobility_status=person.mobility_status,
        languages=person.languages.strip(),
        phone=person.phone.strip(),
        address=person.address.strip(),
    )
    index_names(subject)
    return _open(
        subject,
        by=by,
        details=details,
        consent=consent,
        caregiver=caregiver,
        register=register,
        age=age,
        caseworker=caseworker,
        team=team,
    )


@transaction.atomic
def open_case(
    person: Person,
    *,
    by: User,
    details: CaseDetails,
    consent: ConsentDetails | None,
    caregiver: CaregiverDetails | None = None,
) -> Case:
    """Another case for someone already registered (MHPSS beside case management, or a new
    episode): the same person, so every report counts them once. The caller has loaded the
    person through the gate (casework/cases/access.get_person_for_user)."""
    check_perm(by, Perm.REGISTER_CASES)
    if person.anonymised_at is not None:
        raise CaseworkError(
            _("This person's record was anonymised: register the client again."),
            code="anonymised",
        )
    if person.agency_id != by.agency_id:
        raise NotAllowed(_("This person is another agency's client."))
    today = _today()
    age, caseworker, team = _validate_registration(
        by=by,
        person=details_of(person),
        details=details,
        consent=consent,
        caregiver=caregiver,
        today=today,
        known_caregiver=caregivers_of(person).exists(),
    )
    case = _open(
        person,
        by=by,
        details=details,
        consent=consent,
        caregiver=caregiver,
        register=True,
        age=age,
        caseworker=caseworker,
        team=team,
    )
    record("cases.case.opened_for_person", by=by, target=case, data={"person": person.pk})
    return case


def _open(
    subject: Person,
    *,
    by: User,
    details: CaseDetails,
    consent: ConsentDetails | None,
    caregiver: CaregiverDetails | None,
    register: bool,
    age: int | None,
    caseworker: User,
    team: Team,
) -> Case:
    """The case of `subject`: identified, then (usually) registered, with its consent."""
    agency = subject.agency
    today = _today()
    now = timezone.now()
    caregiver_row = _caregiver(subject, caregiver, by=by)

    identified_on = details.identified_on or today
    year = (today if register else identified_on).year
    case = Case.objects.create(
        agency=agency,
        reference=case_reference(agency.code, year, _next_number(agency.pk, year)),
        person=subject,
        programme=details.programme,
        service_type=details.service_type,
        identification_source=details.identification_source,
        identified_on=identified_on,
        primary_concern=details.primary_concern,
        risk_level=details.risk_level,
        status=Status.IDENTIFIED,
        caseworker=caseworker,
        team=team,
        location=details.location,
        # No due time of its own: `next_due_at` is the earliest open task's, kept by the
        # worklist (registration opens "assessment due"); a guess here would count as overdue
        # with nothing on anyone's list.
        next_due_at=None,
    )
    if details.secondary_concerns:
        case.secondary_concerns.set(details.secondary_concerns)
    transitions = [
        Transition(
            case=case,
            from_status="",
            to_status=Status.IDENTIFIED,
            occurred_at=_start_of(identified_on, now),
            by=by,
        )
    ]
    if register:
        case.status = Status.REGISTERED
        case.registered_on = today
        case.age_at_registration = age
        transitions.append(
            Transition(
                case=case,
                from_status=Status.IDENTIFIED,
                to_status=Status.REGISTERED,
                occurred_at=now,
                by=by,
            )
        )
        Case.objects.filter(pk=case.pk).update(
            status=case.status,
            registered_on=case.registered_on,
            age_at_registration=age,
        )
    Transition.objects.bulk_create(transitions)
    if consent is not None:
        _create_consent(case, by=by, details=consent, caregiver=caregiver_row)
    record(
        "cases.case.registered",
        by=by,
        target=case,
        data={"programme": details.programme.code, "status": case.status},
    )
    if register:
        events.case_registered.send(events.CaseChanged(case, by))
    return case


def _start_of(day: datetime.date, now: datetime.datetime) -> datetime.datetime:
    if day == timezone.localdate(now):
        return now
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))


# --- consent ------------------------------------------------------------------------------------


def new_relative(
    subject: Person,
    *,
    by: User,
    given_name: str,
    family_name: str = "",
    sex: str = Sex.UNKNOWN,
    estimated_age: int | None = None,
    phone: str = "",
) -> Person:
    """A person of the subject's agency who is not (yet) a client: a caregiver, a relative.
    Numbered like every person, and found by name like every person."""
    agency = subject.agency
    relative = Person.objects.create(
        agency=agency,
        reference=person_reference(agency.code, _next_number(agency.pk, 0)),
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        sex=sex,
        estimated_age=estimated_age,
        age_estimated_on=_today() if estimated_age is not None else None,
        phone=phone.strip(),
    )
    index_names(relative)
    return relative


def _caregiver(subject: Person, caregiver: CaregiverDetails | None, *, by: User) -> Person | None:
    """The caregiver a consent is given by: a new one typed in (recorded as a person linked to the
    subject), or else the subject's caregiver already on record, if any."""
    if caregiver is not None and caregiver.named:
        relative = new_relative(
            subject,
            by=by,
            given_name=caregiver.given_name,
            family_name=caregiver.family_name,
            phone=caregiver.phone,
        )
        link_persons(subject, relative, kind=caregiver.relationship, is_caregiver=True, by=by)
        return relative
    known = caregivers_of(subject).first()
    return known.relative if known else None


def _create_consent(
    case: Case, *, by: User, details: ConsentDetails, caregiver: Person | None
) -> Consent:
    consent = Consent.objects.create(
        case=case,
        given_by=details.given_by,
        caregiver=caregiver if details.given_by == Consent.GivenBy.CAREGIVER else None,
        child_assent=details.child_assent,
        receive_services=details.receive_services,
        share_for_referral=details.share_for_referral,
        anonymised_reporting=details.anonymised_reporting,
        method=details.method,
        given_on=details.given_on or _today(),
        recorded_by=by,
    )
    ConsentRecipient.objects.bulk_create(
        ConsentRecipient(
            consent=consent,
            organisation_name=recipient.organisation_name.strip(),
            organisation_code=recipient.organisation_code.strip(),
            purpose=recipient.purpose,
            information=list(recipient.information),
            valid_until=recipient.valid_until,
        )
        for recipient in details.recipients
    )
    record(
        "cases.consent.recorded",
        by=by,
        target=consent,
        case_id=case.pk,
        data={
            "services": details.receive_services,
            "referral": details.share_for_referral,
            "reporting": details.anonymised_reporting,
        },
    )
    return consent


@transaction.atomic
def record_consent(
    case: Case,
    *,
    by: User,
    details: ConsentDetails,
    caregiver: CaregiverDetails | None = None,
) -> Consent:
    """A new consent for an existing case (e.g. renewed, widened, or given later)."""
    check_perm(by, Perm.WORK_ON_CASES)
    errors: dict[str, list[str]] = {}
    today = _today()
    if (details.given_on or today) > today:
        errors["consent_given_on"] = [_("Consent cannot be dated in the future.")]
    age = case.age_at_registration
    if age is None:
        age = case.person.age_on(today)
    if age is not None and age < ADULT_AGE:
        if details.given_by != Consent.GivenBy.CAREGIVER:
            errors["consent_given_by"] = [
                _("For a child under 18, consent is given by a caregiver, with the child's assent.")
            ]
        if details.child_assent is None:
            errors["consent_child_assent"] = [_("Record whether the child assents.")]
    if (
        details.given_by == Consent.GivenBy.CAREGIVER
        and not (caregiver is not None and caregiver.named)
        and not caregivers_of(case.person).exists()
    ):
        errors["caregiver_given_name"] = [_("Enter the name of the caregiver who gives consent.")]
    if details.share_for_referral and not details.recipients:
        errors["consent_recipients"] = [
            _("Name at least one organisation the client agrees to share with.")
        ]
    if errors:
        raise FieldErrors(errors)
    return _create_consent(
        case, by=by, details=details, caregiver=_caregiver(case.person, caregiver, by=by)
    )


@transaction.atomic
def withdraw_consent(
    consent: Consent, *, by: User, on: datetime.date | None = None, reason: str = ""
) -> Consent:
    """Record a withdrawal. The consent row stays; from now on it permits nothing."""
    check_perm(by, Perm.WORK_ON_CASES)
    if consent.withdrawn_on is not None:
        raise CaseworkError(_("This consent was already withdrawn."), code="already_withdrawn")
    day = on or _today()
    if day > _today():
        raise CaseworkError(_("A withdrawal cannot be dated in the future."), field="withdrawn_on")
    if day < consent.given_on:
        raise CaseworkError(
            _("A withdrawal cannot be dated before the consent was given."), field="withdrawn_on"
        )
    # An update has no instance to take the agency from: name it for the reason's encryption.
    with encrypting_for(agency_of(consent)):
        updated = Consent.objects.filter(pk=consent.pk, withdrawn_on=None).update(
            withdrawn_on=day,
            withdrawn_recorded_by=by,
            withdrawal_reason=reason.strip(),
            updated_at=timezone.now(),
        )
    if not updated:
        raise Conflict(_("This consent was already withdrawn."))
    consent.withdrawn_on = day
    consent.withdrawn_recorded_by = by
    consent.withdrawal_reason = reason.strip()
    record("cases.consent.withdrawn", by=by, target=consent, case_id=consent.case_id)
    return consent


def has_service_consent(case: Case) -> bool:
    return any(c.is_valid_for_services for c in case.consents.filter(withdrawn_on=None))


# --- lifecycle ----------------------------------------------------------------------------------


def resume_target(case: Case) -> str | None:
    """The working step a paused or transferred case left, from its history."""
    if case.status not in lifecycle.RESUMABLE:
        return None
    last_in = (
        Transition.objects.filter(case=case, to_status=case.status)
        .order_by("-occurred_at", "-id")
        .values_list("from_status", flat=True)
        .first()
    )
    return last_in or None


def available_moves(case: Case) -> list[str]:
    return sorted(
        lifecycle.allowed_targets(case.status, resume_to=resume_target(case)),
        key=Status.values.index,
    )


@transaction.atomic
def transition_case(
    case: Case,
    *,
    to: str,
    by: User,
    reason: str = "",
    closure_reason: str = "",
    occurred_at: datetime.datetime | None = None,
    expected_version: int | None = None,
) -> Transition:
    """Move a case to another step of its lifecycle, or refuse and change nothing."""
    check_perm(by, Perm.WORK_ON_CASES)
    _check_version(case, expected_version)
    if to not in Status.values:
        raise InvalidTransition(_("“%(status)s” is not a case status.") % {"status": to})
    current = case.status
    targets = lifecycle.allowed_targets(current, resume_to=resume_target(case))
    if to not in targets:
        raise InvalidTransition(
            _("A case that is “%(current)s” cannot be moved to “%(target)s”.")
            % {"current": Status(current).label, "target": Status(to).label}
        )
    if to in lifecycle.NEEDS_SERVICE_CONSENT and not has_service_consent(case):
        raise ConsentRequired(
            _(
                "This case cannot leave registration without the client's consent to services "
                "(or a caregiver's consent with the child's assent)."
            )
        )
    if to in lifecycle.NEEDS_REASON and not reason.strip():
        raise CaseworkError(_("Say why the case is being moved."), field="reason")
    if to == Status.CLOSED and closure_reason not in ClosureReason.values:
        raise CaseworkError(_("Choose a reason for closing the case."), field="closure_reason")
    now = timezone.now()
    when = occurred_at or now
    if when > now:
        raise CaseworkError(_("A step cannot be recorded in the future."), field="occurred_at")
    day = timezone.localdate(when)
    fields = ["status"]
    case.status = to
    if to == Status.REGISTERED and case.registered_on is None:
        case.registered_on = day
        case.age_at_registration = case.person.age_on(day)
        fields += ["registered_on", "age_at_registration"]
    elif to == Status.ASSESSED and case.assessed_on is None:
        case.assessed_on = day
        fields.append("assessed_on")
    elif to == Status.PLANNED and case.planned_on is None:
        case.planned_on = day
        fields.append("planned_on")
    elif to == Status.CLOSED:
        case.closed_on = day
        case.closure_reason = closure_reason
        case.next_due_at = None
        fields += ["closed_on", "closure_reason", "next_due_at"]
    elif to == Status.REOPENED:
        case.closed_on = None
        case.closure_reason = ""
        # The worklist sets the due time again from the task reopening opens.
        case.next_due_at = None
        fields += ["closed_on", "closure_reason", "next_due_at"]
    save_case(case, fields)
    transition = Transition.objects.create(
        case=case,
        from_status=current,
        to_status=to,
        occurred_at=when,
        by=by,
        reason=reason.strip(),
        closure_reason=closure_reason if to == Status.CLOSED else "",
    )
    record(
        "cases.case.transitioned",
        by=by,
        target=case,
        data={"from": current, "to": to, "closure_reason": closure_reason or None},
    )
    announce = {
        Status.REGISTERED: events.case_registered,
        Status.REOPENED: events.case_reopened,
        Status.CLOSED: events.case_closed,
    }.get(Status(to))
    if announce is not None:
        announce.send(events.CaseChanged(case, by))
    return transition


# --- notes --------------------------------------------------------------------------------------


def _validate_note(text: str, contact_type: str, contact_on: datetime.date) -> None:
    errors: dict[str, list[str]] = {}
    if not text.strip():
        errors["text"] = [_("The note is empty.")]
    if contact_type not in ContactType.values:
        errors["contact_type"] = [_("Choose a value from the list.")]
    if contact_on > _today():
        errors["contact_on"] = [_("A note cannot be dated in the future.")]
    if errors:
        raise FieldErrors(errors)


def _touch_last_contact(case: Case, contact_type: str, contact_on: datetime.date) -> None:
    if contact_type != ContactType.NO_CONTACT and (
        case.last_contact_on is None or contact_on > case.last_contact_on
    ):
        Case.objects.filter(pk=case.pk).update(last_contact_on=contact_on)
        case.last_contact_on = contact_on


@transaction.atomic
def add_note(
    case: Case,
    *,
    by: User,
    text: str,
    contact_type: str,
    contact_on: datetime.date | None = None,
) -> CaseNote:
    check_perm(by, Perm.WORK_ON_CASES)
    day = contact_on or _today()
    _validate_note(text, contact_type, day)
    note = CaseNote.objects.create(
        case=case, author=by, contact_on=day, contact_type=contact_type, text=text.strip()
    )
    _touch_last_contact(case, contact_type, day)
    record("cases.note.added", by=by, target=note, case_id=case.pk, data={"type": contact_type})
    return note


def can_edit_note(note: CaseNote, user: User) -> bool:
    return note.author_id == user.pk or (
        user.role == Role.SUPERVISOR and note.case.team_id == user.team_id
    )


@transaction.atomic
def edit_note(
    note: CaseNote,
    *,
    by: User,
    text: str,
    contact_type: str,
    contact_on: datetime.date,
    expected_version: int,
) -> CaseNote:
    """Change a note, keeping what it said before as a revision."""
    check_perm(by, Perm.WORK_ON_CASES)
    if not can_edit_note(note, by):
        raise NotAllowed(_("Only the author or the team's supervisor can edit this note."))
    _validate_note(text, contact_type, contact_on)
    previous = CaseNote.objects.select_for_update().get(pk=note.pk)
    if previous.version != expected_version:
        raise Conflict(_("This note was changed by someone else. Reload and try again."))
    NoteRevision.objects.create(
        note=previous,
        version=previous.version,
        contact_on=previous.contact_on,
        contact_type=previous.contact_type,
        text=previous.text,
        edited_by=by,
        edited_at=timezone.now(),
    )
    note.text = text.strip()
    note.contact_type = contact_type
    note.contact_on = contact_on
    note.version = previous.version + 1
    note.save(update_fields=["text", "contact_type", "contact_on", "version", "updated_at"])
    _touch_last_contact(note.case, contact_type, contact_on)
    record("cases.note.edited", by=by, target=note, case_id=note.case_id)
    return note
