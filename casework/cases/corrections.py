"""Correcting a record after registration: the case's registration facts, and (through the people
app) the person's details, each change kept as a revision row (NASW standard: records kept
accurate; seed 002: each individual counted once, with the right age and sex).

Moving a case to another team or agency is not a correction: that is a transfer or reassignment.
The summaries the indicators read follow in the same transaction: a corrected registration date or
birth date recomputes the age at registration, so the next report counts the corrected facts.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field, fields
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.access import check_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.cases.models import Case, CaseRevision, IdentificationSource, ServiceType
from casework.cases.services import save_case
from casework.core.errors import CaseworkError, FieldErrors
from casework.people import events as person_events
from casework.people import services as people
from casework.people.models import PersonRevision
from casework.reference.models import LabelledItem, Location, Programme, ProtectionConcern


@dataclass
class RegistrationFacts:
    """What registration recorded about a case, as a correction gives it in full."""

    programme: Programme
    service_type: str
    identification_source: str
    identified_on: datetime.date
    registered_on: datetime.date | None
    primary_concern: ProtectionConcern | None
    secondary_concerns: list[ProtectionConcern] = field(default_factory=list)
    location: Location | None = None


REGISTRATION_FIELDS = tuple(item.name for item in fields(RegistrationFacts))


def facts_of(case: Case) -> RegistrationFacts:
    return RegistrationFacts(
        programme=case.programme,
        service_type=case.service_type,
        identification_source=case.identification_source,
        identified_on=case.identified_on,
        registered_on=case.registered_on,
        primary_concern=case.primary_concern,
        secondary_concerns=sorted(case.secondary_concerns.all(), key=lambda item: item.pk),
        location=case.location,
    )


def _stored(value: Any) -> Any:
    """A fact as the revision row keeps it: reference items by code, dates as ISO text."""
    if isinstance(value, LabelledItem):
        return value.code
    if isinstance(value, list):
        return [_stored(item) for item in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _errors(case: Case, facts: RegistrationFacts, today: datetime.date) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    # An item no longer in use may stay where it already is, but is not chosen anew.
    if facts.programme.pk != case.programme_id and not facts.programme.is_active:
        add("programme", _("This programme is no longer in use."))
    if (
        facts.primary_concern is not None
        and facts.primary_concern.pk != case.primary_concern_id
        and not facts.primary_concern.is_active
    ):
        add("primary_concern", _("This protection concern is no longer in use."))
    if facts.location is not None and facts.location.pk != case.location_id:
        if not facts.location.is_active:
            add("location", _("This location is no longer in use."))
    if facts.service_type not in ServiceType.values:
        add("service_type", _("Choose a value from the list."))
    if facts.identification_source not in IdentificationSource.values:
        add("identification_source", _("Choose a value from the list."))
    if facts.identified_on > today:
        add("identified_on", _("The identification date cannot be in the future."))
    if facts.registered_on is not None:
        if case.registered_on is None:
            add("registered_on", _("This case has not been registered yet."))
        elif facts.registered_on > today:
            add("registered_on", _("The registration date cannot be in the future."))
        elif facts.registered_on < facts.identified_on:
            add("registered_on", _("A case is registered on or after the day it was identified."))
    elif case.registered_on is not None:
        add("registered_on", _("A registered case keeps a registration date."))
    return errors


@transaction.atomic
def correct_registration(
    case: Case,
    *,
    by: User,
    facts: RegistrationFacts,
    reason: str,
    expected_version: int | None = None,
) -> CaseRevision:
    """Correct the case's registration facts, keeping what they said before as a revision row.

    The caller has loaded the case through the gate with the right to write.
    """
    check_perm(by, Perm.WORK_ON_CASES)
    errors = _errors(case, facts, timezone.localdate())
    if not reason.strip():
        errors.setdefault("reason", []).append(_("Say why the details are being corrected."))
    if errors:
        raise FieldErrors(errors)
    before = facts_of(case)
    facts.secondary_concerns = sorted(set(facts.secondary_concerns), key=lambda item: item.pk)
    changed = [
        name
        for name in REGISTRATION_FIELDS
        if _stored(getattr(facts, name)) != _stored(getattr(before, name))
    ]
    if not changed:
        raise CaseworkError(_("Nothing was changed."), code="no_change")
    version = case.version if expected_version is None else expected_version
    columns = [name for name in changed if name != "secondary_concerns"]
    for name in columns:
        setattr(case, name, getattr(facts, name))
    if "registered_on" in changed and case.registered_on is not None:
        case.age_at_registration = case.person.age_on(case.registered_on)
        columns.append("age_at_registration")
    save_case(case, columns, expected_version=version)
    if "secondary_concerns" in changed:
        case.secondary_concerns.set(facts.secondary_concerns)
    revision = CaseRevision.objects.create(
        case=case,
        version=version,
        fields=changed,
        previous=json.dumps({name: _stored(getattr(before, name)) for name in changed}),
        reason=reason.strip(),
        corrected_by=by,
        corrected_at=timezone.now(),
    )
    record(
        "cases.case.corrected",
        by=by,
        target=case,
        data={"fields": changed, "revision": revision.pk},
    )
    return revision


@transaction.atomic
def correct_record(
    case: Case,
    *,
    by: User,
    person: people.PersonDetails,
    facts: RegistrationFacts,
    reason: str,
    case_version: int | None = None,
    person_version: int | None = None,
) -> list[CaseRevision | PersonRevision]:
    """The case page's correction form: the person's details and the case's facts together, each
    corrected where it changed, in one transaction (a refusal of either changes neither)."""
    revisions: list[CaseRevision | PersonRevision] = []
    errors: dict[str, list[str]] = {}
    for correct in (
        lambda: people.correct_person(
            case.person,
            by=by,
            details=person,
            reason=reason,
            expected_version=person_version,
            case_id=case.pk,
        ),
        lambda: correct_registration(
            case, by=by, facts=facts, reason=reason, expected_version=case_version
        ),
    ):
        try:
            revisions.append(correct())
        except FieldErrors as error:
            for name, messages in error.errors.items():
                errors.setdefault(name, messages)
        except CaseworkError as error:
            if error.code != "no_change":
                raise
    if errors:
        raise FieldErrors(errors)
    if not revisions:
        raise CaseworkError(_("Nothing was changed."), code="no_change")
    return revisions


# --- keeping the case's summaries in step with its person (connected in CasesConfig.ready()) ---


def _person_changed(event: person_events.PersonChanged) -> None:
    """A corrected birth date or age changes the age at registration of each of the person's
    registered cases (the indicators count children by it)."""
    if not people.AGE_FIELDS & event.fields:
        return
    for case in Case.objects.filter(person=event.person).exclude(registered_on=None):
        age = event.person.age_on(case.registered_on) if case.registered_on else None
        if age != case.age_at_registration:
            Case.objects.filter(pk=case.pk).update(age_at_registration=age)


def subscribe() -> None:
    person_events.person_changed.connect(_person_changed)
