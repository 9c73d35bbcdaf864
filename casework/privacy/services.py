"""Everything the data-protection officer's desk changes, each in a transaction with its audit
entry: the agency's settings, clients' requests (received, assigned, identity checked, closed),
access packages (compiled, reviewed, released), rectification (the corrections that answered
it), erasure (retention's anonymisation, for one person), and the unusual-reading alerts.

Reading the audit log is audited too (`record_log_read`), as reading a case file is.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from casework.accounts.access import check_perm
from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm, Role
from casework.audit.log import record
from casework.audit.models import AuditEntry
from casework.cases.models import OPEN_STATUSES, Case, CaseRevision, Status
from casework.core.errors import CaseworkError, FieldErrors, NotAllowed
from casework.people.models import Person, PersonRevision, Relationship
from casework.privacy import access
from casework.privacy import package as packaging
from casework.privacy.access import may_review, record_package_read
from casework.privacy.models import AccessPackage, DataRequest, PrivacySettings, ReadAlert
from casework.privacy.selectors import CASE_FILE_READS, LogFilter, subject_ids

# Erasure is retention's anonymisation applied to one person now, under retention's own rules
# (re-checked on locked rows; relatives who are no one else's go along).
from casework.retention.services import anonymise_people, lock_still_due

logger = logging.getLogger(__name__)


def _agency_of(user: User) -> int:
    if user.agency_id is None:
        raise NotAllowed(_("Your role does not allow this."))
    return user.agency_id


# --- reading the log ---------------------------------------------------------------------------


def record_log_read(
    *, by: User, filters: LogFilter, case_id: int | None, exported: int | None = None
) -> AuditEntry:
    """Audit a read (or, with the number of rows, an export) of the audit log, with its filter."""
    data = filters.audit_data(case_id)
    if exported is None:
        return record("privacy.audit_log.viewed", by=by, case_id=case_id, data=data)
    return record(
        "privacy.audit_log.exported", by=by, case_id=case_id, data={**data, "rows": exported}
    )


def record_readers_read(*, by: User, days: int) -> AuditEntry:
    """Audit a read of the per-user counts of case files read."""
    return record("privacy.readers.viewed", by=by, data={"days": days})


# --- settings ----------------------------------------------------------------------------------


@transaction.atomic
def change_settings(
    *, by: User, response_days: int, unusual_reads: int, unusual_reads_hours: int
) -> PrivacySettings:
    """New settings for the agency (a new row: the old ones stay as history)."""
    check_perm(by, Perm.VIEW_AUDIT_LOG)
    errors: dict[str, list[str]] = {}
    if not 1 <= response_days <= 90:
        errors["response_days"] = [_("Between 1 and 90 days.")]
    if unusual_reads < 1:
        errors["unusual_reads"] = [_("At least 1.")]
    if not 1 <= unusual_reads_hours <= 24 * 7:
        errors["unusual_reads_hours"] = [_("Between 1 hour and a week.")]
    if errors:
        raise FieldErrors(errors)
    row = PrivacySettings.objects.create(
        agency_id=_agency_of(by),
        response_days=response_days,
        unusual_reads=unusual_reads,
        unusual_reads_hours=unusual_reads_hours,
        set_by=by,
        set_at=timezone.now(),
    )
    record(
        "privacy.settings.changed",
        by=by,
        target=row,
        data={
            "response_days": response_days,
            "unusual_reads": unusual_reads,
            "unusual_reads_hours": unusual_reads_hours,
        },
    )
    return row


# --- requests ----------------------------------------------------------------------------------


def person_for_identifier(agency_id: int, identifier: str) -> Person | None:
    """The agency's person with this person number, or whose case has this reference."""
    text = identifier.strip()
    if not text:
        return None
    person = Person.objects.filter(agency_id=agency_id, reference=text).first()
    if person is None:
        case = Case.objects.filter(agency_id=agency_id, reference=text).select_related("person")
        person = next((found.person for found in case[:1]), None)
    return packaging.subject_of(person) if person is not None else None


def _check_handler(handler: User | None, agency_id: int) -> None:
    if handler is None:
        return
    if (
        handler.agency_id != agency_id
        or not handler.is_active
        or not handler.has_casework_perm(Perm.HANDLE_DATA_REQUESTS)
    ):
        raise FieldErrors({"handler": [_("Choose a data-protection officer of your agency.")]})


@transaction.atomic
def receive_request(
    *,
    by: User,
    kind: str,
    requested_by: str,
    received_on: datetime.date,
    identifier: str = "",
    handler: User | None = None,
) -> DataRequest:
    """Record a client's request; it is due the agency's number of days after it was received."""
    check_perm(by, Perm.HANDLE_DATA_REQUESTS)
    agency_id = _agency_of(by)
    errors: dict[str, list[str]] = {}
    if kind not in DataRequest.Kind.values:
        errors["kind"] = [_("Choose a value from the list.")]
    if requested_by not in DataRequest.RequestedBy.values:
        errors["requested_by"] = [_("Choose a value from the list.")]
    if received_on > timezone.localdate():
        errors["received_on"] = [_("The date cannot be in the future.")]
    person = person_for_identifier(agency_id, identifier)
    if identifier.strip() and person is None:
        errors["identifier"] = [_("No person number or case reference of your agency matches.")]
    elif person is None and kind != DataRequest.Kind.ACCESS:
        errors["identifier"] = [_("Say whose record is to be corrected or erased.")]
    if errors:
        raise FieldErrors(errors)
    _check_handler(handler, agency_id)
    days = PrivacySettings.current(agency_id).response_days
    request = DataRequest.objects.create(
        agency_id=agency_id,
        kind=kind,
        requested_by=requested_by,
        person=person,
        received_on=received_on,
        due_on=received_on + datetime.timedelta(days=days),
        handler=handler or by,
        created_by=by,
    )
    record(
        "privacy.request.received",
        by=by,
        target=request,
        data={"kind": kind, "person": person.pk if person else None, "due": str(request.due_on)},
    )
    return request


def _gate(request: DataRequest, by: User) -> DataRequest:
    """The request as the gate gives it to `by`: a handler of the request's own agency (the same
    404 as for no request otherwise, audited). Each service asks it itself, whoever called it,
    before its transaction opens, so that a refusal's audit entry is kept."""
    check_perm(by, Perm.HANDLE_DATA_REQUESTS)
    return access.get_request_for_user(by, request.pk)


def _locked(request: DataRequest) -> DataRequest:
    """The request re-read under a row lock, refused if it was closed meanwhile."""
    fresh = (
        DataRequest.objects.select_for_update(of=("self",))
        .select_related("person")
        .get(pk=request.pk)
    )
    if not fresh.is_open:
        raise CaseworkError(_("This request is closed."), code="request_closed")
    return fresh


def assign_request(request: DataRequest, *, by: User, handler: User) -> DataRequest:
    found = _gate(request, by)
    with transaction.atomic():
        request = _locked(found)
        _check_handler(handler, request.agency_id)
        request.handler = handler
        request.save(update_fields=["handler", "updated_at"])
        record("privacy.request.assigned", by=by, target=request, data={"handler": handler.pk})
        return request


def confirm_identity(request: DataRequest, *, by: User) -> DataRequest:
    """An officer checked who is asking (and, for a caregiver or representative, their right to
    ask): nothing is compiled, corrected or erased before.

    Two people: the officer who checks the identity is never the one who recorded the request.
    Otherwise one officer alone could record a request in anyone's name, tick the check, then
    compile and read (or erase) any case file of the agency; now a second officer vouches for
    every requester first. `DataRequest.identity_checked` holds the same rule, so a check made
    by the recorder before it existed counts for nothing. A refusal is audited."""
    found = _gate(request, by)
    if found.created_by_id == by.pk:
        record(
            "privacy.request.identity_refused",
            by=by,
            target=found,
            outcome=AuditEntry.Outcome.DENIED,
            data={"reason": "recorded_by_same_user"},
        )
        raise NotAllowed(
            _("Someone other than who recorded the request checks the requester's identity.")
        )
    with transaction.atomic():
        request = _locked(found)
        if request.identity_checked:
            raise CaseworkError(_("The identity was already checked."), code="already_checked")
        request.identity_checked_at = timezone.now()
        request.identity_checked_by = by
        request.save(update_fields=["identity_checked_at", "identity_checked_by", "updated_at"])
        record("privacy.request.identity_checked", by=by, target=request)
        return request


def _answered(request: DataRequest) -> bool:
    if request.kind == DataRequest.Kind.ACCESS:
        return request.packages.filter(released_at__isnull=False).exists()
    if request.kind == DataRequest.Kind.RECTIFICATION:
        return request.person_revisions.exists() or request.case_revisions.exists()
    return request.erased_at is not None


def close_request(request: DataRequest, *, by: User, outcome: str) -> DataRequest:
    """Close the request with its outcome. "Answered" needs the answer on record: a released
    package, a linked correction, or the erasure done."""
    return _close(_gate(request, by), by=by, outcome=outcome)


@transaction.atomic
def _close(request: DataRequest, *, by: User, outcome: str) -> DataRequest:
    request = _locked(request)
    if outcome not in DataRequest.Outcome.values:
        raise FieldErrors({"outcome": [_("Choose a value from the list.")]})
    if outcome == DataRequest.Outcome.COMPLETED and not _answered(request):
        raise FieldErrors(
            {
                "outcome": [
                    {
                        DataRequest.Kind.ACCESS: _("No approved package was released yet."),
                        DataRequest.Kind.RECTIFICATION: _("No correction is linked yet."),
                        DataRequest.Kind.ERASURE: _("The person's data was not erased yet."),
                    }[DataRequest.Kind(request.kind)]
                ]
            }
        )
    if outcome == DataRequest.Outcome.NOTHING_HELD and request.person is not None:
        raise FieldErrors({"outcome": [_("The agency holds a record of this person.")]})
    request.status = DataRequest.Status.CLOSED
    request.outcome = outcome
    request.closed_on = timezone.localdate()
    request.closed_by = by
    request.save(update_fields=["status", "outcome", "closed_on", "closed_by", "updated_at"])
    # Packages not released die with the request: no one reads them any more.
    request.packages.filter(status=AccessPackage.Status.TO_REVIEW).update(
        status=AccessPackage.Status.SUPERSEDED
    )
    record(
        "privacy.request.closed",
        by=by,
        target=request,
        data={"outcome": outcome, "overdue": request.closed_on > request.due_on},
    )
    return request


def _subject(request: DataRequest, kind: str) -> Person:
    """The person a request of `kind` is answered for, once the requester's identity is checked."""
    if request.kind != kind:
        raise CaseworkError(_("Not possible for this kind of request."), code="wrong_kind")
    if not request.identity_checked:
        raise CaseworkError(_("Check the requester's identity first."), code="identity_not_checked")
    if request.person is None:
        raise CaseworkError(_("The agency holds no record of this person."), code="no_person")
    return request.person


# --- access --------------------------------------------------------------------------------------


def compile_package(request: DataRequest, *, by: User) -> AccessPackage:
    """Compile everything held on the person, redacted, for review. An earlier package not yet
    released is replaced. Only once a second officer checked the requester's identity
    (`confirm_identity`)."""
    return _compile(_gate(request, by), by=by)


@transaction.atomic
def _compile(request: DataRequest, *, by: User) -> AccessPackage:
    request = _locked(request)
    person = _subject(request, DataRequest.Kind.ACCESS)
    agency = Agency.objects.get(pk=request.agency_id)
    compiled = packaging.compile_for(
        person, agency_id=agency.pk, agency_code=agency.code, request_id=request.pk
    )
    request.packages.filter(
        status__in=[AccessPackage.Status.TO_REVIEW, AccessPackage.Status.RETURNED]
    ).update(status=AccessPackage.Status.SUPERSEDED)
    made = AccessPackage.objects.create(
        request=request,
        compiled_by=by,
        compiled_at=timezone.now(),
        content=compiled.text,
        digest=compiled.digest,
        case_ids=compiled.case_ids,
    )
    made.request = request
    record_package_read(
        made,
        by=by,
        action="privacy.package.compiled",
        digest=compiled.digest[:16],
    )
    return made


@transaction.atomic
def review_package(
    package: AccessPackage,
    *,
    by: User,
    approve: bool,
    withheld: list[str] | None = None,
    withheld_reason: str = "",
    return_reason: str = "",
    include_fields: list[str] | None = None,
) -> AccessPackage:
    """Approve the package for release (withholding the items chosen, for the reason given, and
    including the fields withheld unless included that the reviewer chose), or return it. The
    reviewer is never its compiler (`access.may_review`)."""
    fresh = (
        AccessPackage.objects.select_for_update(of=("self",))
        .select_related("request")
        .get(pk=package.pk)
    )
    if fresh.status != AccessPackage.Status.TO_REVIEW or not fresh.request.is_open:
        raise CaseworkError(_("This package is no longer waiting for review."), code="not_pending")
    if by.pk == fresh.compiled_by_id:
        raise NotAllowed(_("Someone other than who compiled the package reviews it."))
    if not may_review(by, fresh):
        raise NotAllowed(_("Your role does not allow this."))
    held = sorted(set(withheld or []))
    included = sorted(set(include_fields or []))
    if approve:
        known = set(packaging.item_keys(json.loads(fresh.content)))
        errors: dict[str, list[str]] = {}
        if not set(held) <= known:
            errors["withheld"] = [_("Choose items of this package.")]
        if held and withheld_reason not in AccessPackage.WithholdReason.values:
            errors["withheld_reason"] = [_("Say why the items are withheld.")]
        if not set(included) <= set(packaging.WITHHELD_UNLESS_INCLUDED):
            errors["include_fields"] = [_("Choose a value from the list.")]
        if errors:
            raise FieldErrors(errors)
        fresh.status = AccessPackage.Status.APPROVED
        fresh.withheld = held
        fresh.withheld_reason = withheld_reason if held else ""
        fresh.included_fields = included
    else:
        if return_reason not in AccessPackage.ReturnReason.values:
            raise FieldErrors({"return_reason": [_("Say why the package is returned.")]})
        fresh.status = AccessPackage.Status.RETURNED
        fresh.return_reason = return_reason
    fresh.reviewed_by = by
    fresh.reviewed_at = timezone.now()
    fresh.save(
        update_fields=[
            "status",
            "withheld",
            "withheld_reason",
            "included_fields",
            "return_reason",
            "reviewed_by",
            "reviewed_at",
        ]
    )
    record_package_read(
        fresh,
        by=by,
        action="privacy.package.approved" if approve else "privacy.package.returned",
        reason=(fresh.withheld_reason if approve else fresh.return_reason) or "none",
        withheld=str(len(held)),
        included=str(len(fresh.included_fields)),
    )
    return fresh


RELEASE_FORMATS = ("json", "pdf")


def release_package(package: AccessPackage, *, by: User, file_format: str) -> dict[str, Any]:
    """The approved package as released (withheld items taken out), for the requester; each
    download is audited under each case it holds. Only by a handler who may read the package
    (`access.may_read_package`: its request's agency, the request open); 404 otherwise."""
    check_perm(by, Perm.HANDLE_DATA_REQUESTS)
    found = access.get_package_for_user(by, package.pk)
    return _release(found, by=by, file_format=file_format)


@transaction.atomic
def _release(package: AccessPackage, *, by: User, file_format: str) -> dict[str, Any]:
    if file_format not in RELEASE_FORMATS:
        raise CaseworkError(_("Unknown format."), code="invalid_format")
    fresh = (
        AccessPackage.objects.select_for_update(of=("self",))
        .select_related("request")
        .get(pk=package.pk)
    )
    if not fresh.request.is_open:
        raise CaseworkError(_("This request is closed."), code="request_closed")
    if fresh.status != AccessPackage.Status.APPROVED:
        raise NotAllowed(_("Only a package approved by its reviewer can be released."))
    if fresh.released_at is None:
        fresh.released_at = timezone.now()
        fresh.released_by = by
        fresh.save(update_fields=["released_at", "released_by"])
    reason = AccessPackage.WithholdReason(fresh.withheld_reason).label if fresh.withheld else ""
    content = packaging.released(
        json.loads(fresh.content),
        withheld=fresh.withheld,
        reason=str(reason),
        included=fresh.included_fields,
    )
    record_package_read(fresh, by=by, action="privacy.package.released", format=file_format)
    return content


# --- rectification -------------------------------------------------------------------------------


def link_corrections(
    request: DataRequest,
    *,
    by: User,
    person_revisions: list[int],
    case_revisions: list[int],
) -> DataRequest:
    """Record which corrections (made by the case's caseworker through the correction form)
    answered a rectification request."""
    return _link(
        _gate(request, by), by=by, person_revisions=person_revisions, case_revisions=case_revisions
    )


@transaction.atomic
def _link(
    request: DataRequest, *, by: User, person_revisions: list[int], case_revisions: list[int]
) -> DataRequest:
    request = _locked(request)
    people = subject_ids(_subject(request, DataRequest.Kind.RECTIFICATION))
    found_people = list(
        PersonRevision.objects.filter(pk__in=person_revisions, person_id__in=people).values_list(
            "pk", flat=True
        )
    )
    found_cases = list(
        CaseRevision.objects.filter(
            pk__in=case_revisions, case__person_id__in=people, case__agency_id=request.agency_id
        ).values_list("pk", flat=True)
    )
    if len(found_people) != len(set(person_revisions)) or len(found_cases) != len(
        set(case_revisions)
    ):
        raise FieldErrors({"corrections": [_("Choose corrections of this person's records.")]})
    if not found_people and not found_cases:
        raise FieldErrors({"corrections": [_("Choose at least one correction.")]})
    request.person_revisions.add(*found_people)
    request.case_revisions.add(*found_cases)
    record(
        "privacy.rectification.linked",
        by=by,
        target=request,
        data={"person_revisions": sorted(found_people), "case_revisions": sorted(found_cases)},
    )
    return request


# --- erasure -------------------------------------------------------------------------------------


def erasure_blockers(person: Person) -> list[str]:
    """Why the person's data cannot be erased now (empty: it can)."""
    people = subject_ids(person)
    reasons = []
    if Case.objects.filter(person_id__in=people).exclude(status=Status.CLOSED).exists():
        reasons.append(_("A case of theirs is not closed: it must be closed first."))
    if Relationship.objects.filter(
        relative_id__in=people, person__cases__status__in=OPEN_STATUSES
    ).exists():
        reasons.append(_("They are the relative of someone whose case is open."))
    return reasons


def erase_person(request: DataRequest, *, by: User) -> int:
    """Anonymise the person now, as retention does at the end of the retention period: names,
    contacts, birth date and every free text about them blanked, their name index deleted; the
    categorical facts indicators count stay. Returns how many people were anonymised (their
    relatives who are no one else's go with them)."""
    return _erase(_gate(request, by), by=by)


@transaction.atomic
def _erase(request: DataRequest, *, by: User) -> int:
    request = _locked(request)
    person = _subject(request, DataRequest.Kind.ERASURE)
    if request.erased_at is not None:
        raise CaseworkError(_("The person's data was already erased."), code="already_erased")
    people = sorted(subject_ids(person))
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    # The people and their cases are locked first, then the blockers looked at: a case reopened,
    # or a relative's case opened, a moment before cannot slip between the check and the erasure.
    due = lock_still_due(people, tomorrow)
    list(
        Case.objects.select_for_update()
        .filter(person_id__in=Relationship.objects.filter(relative_id__in=people).values("person"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    blockers = erasure_blockers(person)
    if blockers:
        raise CaseworkError(blockers[0], code="erasure_blocked")
    if set(due) != set(people):
        raise CaseworkError(
            _("A case of theirs changed meanwhile: look again."), code="erasure_blocked"
        )
    now = timezone.now()
    anonymise_people(due, now=now)
    erased = Person.objects.filter(agency_id=request.agency_id, anonymised_at=now).count()
    request.erased_at = now
    request.save(update_fields=["erased_at", "updated_at"])
    record(
        "privacy.erasure.done",
        by=by,
        target=request,
        data={"person": person.pk, "people": erased},
    )
    return erased


# --- unusual reading ------------------------------------------------------------------------------


def _officers(agency_id: int) -> list[User]:
    """Who is told: the agency's data-protection officers, else its administrators."""
    users = list(
        User.objects.filter(agency_id=agency_id, is_active=True).filter(
            Q(role=Role.DATA_PROTECTION_OFFICER) | Q(is_administrator=True)
        )
    )
    officers = [user for user in users if user.role == Role.DATA_PROTECTION_OFFICER]
    return officers or users


def _email(alert_ids: list[int]) -> int:
    """E-mail each new alert to the officers (after the transaction that raised it committed).
    It says how many files, not whose: the officer signs in to see."""
    sent = 0
    for alert in ReadAlert.objects.filter(pk__in=alert_ids, emailed_at=None):
        recipients = [user.email for user in _officers(alert.agency_id) if user.email]
        if not recipients:
            continue
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Casework: unusually many case files read")
            body = _(
                "A user of your agency read %(count)d case files within %(hours)d hours. "
                "Sign in to Casework to see the audit log."
            ) % {
                "count": alert.cases_read,
                "hours": round((alert.raised_at - alert.window_start).total_seconds() / 3600),
            }
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:  # one unreachable mailbox must not stop the others
            logger.exception("Could not e-mail read alert %s", alert.pk)
            continue
        ReadAlert.objects.filter(pk=alert.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


def raise_read_alerts(now: datetime.datetime | None = None) -> int:
    """Alert each agency's officers to every user who read at least the agency's number of
    different case files within its window; one alert per user per window. Returns how many."""
    now = now or timezone.now()
    raised = 0
    for agency_id in Agency.objects.order_by("pk").values_list("pk", flat=True):
        rules = PrivacySettings.current(agency_id)
        since = now - datetime.timedelta(hours=rules.unusual_reads_hours)
        heavy = (
            AuditEntry.objects.filter(
                agency_id=agency_id,
                action__in=CASE_FILE_READS,
                outcome=AuditEntry.Outcome.OK,
                at__gte=since,
                at__lte=now,
                actor__isnull=False,
            )
            .values("actor_id")
            .annotate(cases=Count("case_id", distinct=True))
            .filter(cases__gte=rules.unusual_reads)
            .order_by("actor_id")
        )
        for row in heavy:
            if _alert(agency_id, row["actor_id"], row["cases"], rules, since=since, now=now):
                raised += 1
    return raised


@transaction.atomic
def _alert(
    agency_id: int,
    reader_id: int,
    cases: int,
    rules: PrivacySettings,
    *,
    since: datetime.datetime,
    now: datetime.datetime,
) -> ReadAlert | None:
    # The reader's row is locked so that two checks running at once raise one alert.
    User.objects.select_for_update().filter(pk=reader_id).first()
    if ReadAlert.objects.filter(reader_id=reader_id, raised_at__gt=since).exists():
        return None
    alert = ReadAlert.objects.create(
        agency_id=agency_id,
        reader_id=reader_id,
        raised_at=now,
        window_start=since,
        cases_read=cases,
        threshold=rules.unusual_reads,
    )
    record(
        "privacy.alert.raised",
        by=None,
        target=alert,
        agency_id=agency_id,
        data={"reader": reader_id, "cases": cases, "threshold": rules.unusual_reads},
    )
    if settings.EMAIL_HOST:
        transaction.on_commit(lambda: _email([alert.pk]))
    return alert


@transaction.atomic
def acknowledge_alert(alert: ReadAlert, *, by: User) -> ReadAlert:
    """The officer looked into it."""
    check_perm(by, Perm.VIEW_AUDIT_LOG)
    updated = ReadAlert.objects.filter(pk=alert.pk, acknowledged_at=None).update(
        acknowledged_by=by, acknowledged_at=timezone.now()
    )
    if not updated:
        raise CaseworkError(_("This alert was already acknowledged."), code="already_done")
    alert.refresh_from_db()
    record("privacy.alert.acknowledged", by=by, target=alert, data={"reader": alert.reader_id})
    return alert
