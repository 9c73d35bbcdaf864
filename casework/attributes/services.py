"""Defining attributes (the agency administrator) and recording their values (on a case)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from casework.accounts.models import User
from casework.accounts.roles import Perm, Sensitive
from casework.attributes.models import CODE_PATTERN, Attribute, AttributeChoice, AttributeValue
from casework.audit import log as audit
from casework.cases.models import Case
from casework.core.errors import CaseworkError, FieldErrors, NotAllowed, PreconditionFailed
from casework.people import events as person_events
from casework.people.events import PersonsMerged
from casework.vault.blind import digest

_CODE = re.compile(CODE_PATTERN)


def grouping_code(attribute: Attribute, choice_code: str) -> str:
    """The keyed grouping code of a sensitive value: an HMAC of the choice code under the
    agency's index key, distinct per attribute. Reports group by it; it decrypts nothing."""
    return digest(f"attribute:{attribute.pk}", choice_code, agency_id=attribute.agency_id)


def _check_code(code: str, field: str) -> None:
    if not _CODE.match(code):
        raise FieldErrors(
            {field: [_("Lower-case letters, digits and _, starting with a letter (40 at most).")]}
        )


@dataclass(frozen=True)
class ChoiceDetails:
    code: str
    label: str
    order: int = 0
    active: bool = True


def _check_admin(by: User, agency_id: int) -> None:
    if not by.has_casework_perm(Perm.MANAGE_CONFIGURATION) or by.agency_id != agency_id:
        raise NotAllowed(_("Only the agency's administrator defines attributes."))


@transaction.atomic
def define_attribute(
    *,
    by: User,
    code: str,
    label: str,
    applies_to: str,
    sensitive: bool,
    choices: list[ChoiceDetails],
) -> Attribute:
    if by.agency_id is None:
        raise NotAllowed(_("Only the agency's administrator defines attributes."))
    _check_admin(by, by.agency_id)
    _check_code(code, "code")
    if applies_to not in Attribute.AppliesTo.values:
        raise FieldErrors({"applies_to": [_("A person or a case.")]})
    if not label.strip():
        raise FieldErrors({"label": [_("Give the attribute a name.")]})
    if Attribute.objects.filter(agency_id=by.agency_id, code=code).exists():
        raise FieldErrors({"code": [_("The agency already has an attribute with this code.")]})
    attribute = Attribute.objects.create(
        agency_id=by.agency_id,
        code=code,
        label=label.strip(),
        applies_to=applies_to,
        sensitive=sensitive,
        created_by=by,
    )
    for number, choice in enumerate(choices):
        _save_choice(attribute, choice, f"choices[{number}]")
    audit.record(
        "attributes.attribute.defined",
        by=by,
        target=attribute,
        data={"code": code, "applies_to": applies_to, "sensitive": sensitive},
    )
    return attribute


@transaction.atomic
def change_attribute(*, by: User, attribute: Attribute, label: str, active: bool) -> Attribute:
    """The label and whether it is in use; its code, subject and sensitivity stay as defined
    (values were recorded, and grouped, under them)."""
    _check_admin(by, attribute.agency_id)
    if not label.strip():
        raise FieldErrors({"label": [_("Give the attribute a name.")]})
    was_active = attribute.active
    attribute.label = label.strip()
    attribute.active = active
    attribute.save(update_fields=["label", "active"])
    audit.record(
        "attributes.attribute.changed",
        by=by,
        target=attribute,
        # Codes only: the label is typed text (the row shows the new one).
        data={"code": attribute.code, "was_active": was_active, "active": active},
    )
    return attribute


def _save_choice(attribute: Attribute, choice: ChoiceDetails, field: str) -> AttributeChoice:
    _check_code(choice.code, f"{field}.code")
    if not choice.label.strip():
        raise FieldErrors({f"{field}.label": [_("Give the choice a label.")]})
    try:
        with transaction.atomic():
            saved, _created = AttributeChoice.objects.update_or_create(
                attribute=attribute,
                code=choice.code,
                defaults={
                    "label": choice.label.strip(),
                    "order": choice.order,
                    "active": choice.active,
                },
            )
    except IntegrityError:
        raise FieldErrors({f"{field}.code": [_("This code is given twice.")]}) from None
    return saved


@transaction.atomic
def save_choice(*, by: User, attribute: Attribute, choice: ChoiceDetails) -> AttributeChoice:
    """Add a choice, or change one's label, order or use (retired, never deleted)."""
    _check_admin(by, attribute.agency_id)
    saved = _save_choice(attribute, choice, "choice")
    audit.record(
        "attributes.choice.saved",
        by=by,
        target=attribute,
        data={"code": attribute.code, "choice": choice.code, "active": choice.active},
    )
    return saved


@transaction.atomic
def set_value(
    *,
    by: User,
    case: Case,
    attribute: Attribute,
    choice_code: str,
    expected: str | None = None,
) -> AttributeValue | None:
    """Record the case's (or its person's) value; an empty code clears it. `case` was loaded
    through the case gate for writing.

    `expected` is the choice code the writer read ("" for none): when the stored value is no
    longer that one, someone changed it meanwhile and nothing is written (PreconditionFailed,
    naming the attribute). None writes whatever is stored."""
    if attribute.agency_id != case.agency_id or not attribute.active:
        raise FieldErrors({"attribute": [_("No such attribute in use.")]})
    if attribute.sensitive and not by.sees(Sensitive.ATTRIBUTES):
        raise NotAllowed(_("Your role does not record sensitive attributes."))
    if choice_code and not attribute.choices.filter(code=choice_code, active=True).exists():
        raise FieldErrors({"choice": [_("Not one of the attribute's choices.")]})
    owner = (
        {"person_id": case.person_id}
        if attribute.applies_to == Attribute.AppliesTo.PERSON
        else {"case_id": case.pk}
    )
    existing = AttributeValue.objects.select_for_update().filter(attribute=attribute, **owner)
    if expected is not None:
        stored = existing.first()
        now = "" if stored is None else (stored.sealed_code if attribute.sensitive else stored.code)
        if now != expected:
            raise PreconditionFailed(
                _("Someone changed this value since you read it. Read it again and retry."),
                field=attribute.code,
            )
    data: dict[str, object] = {"attribute": attribute.code, "cleared": not choice_code}
    if not attribute.sensitive:
        # A sensitive value never enters the audit trail; a plain one is a code like sex.
        data["choice"] = choice_code
    if not choice_code:
        existing.delete()
        audit.record("attributes.value.set", by=by, case_id=case.pk, data=data)
        return None
    value = existing.first() or AttributeValue(attribute=attribute, **owner)
    if attribute.sensitive:
        value.code = ""
        value.sealed_code = choice_code
        value.grouping = grouping_code(attribute, choice_code)
    else:
        value.code = choice_code
        value.sealed_code = ""
        value.grouping = ""
    value.set_by = by
    try:
        value.save()
    except IntegrityError:  # the same value set at the same moment by someone else
        raise CaseworkError(_("Someone else just set this value: try again.")) from None
    audit.record("attributes.value.set", by=by, case_id=case.pk, data=data)
    return value


def _persons_merged(event: PersonsMerged) -> None:
    """The merged record's values join the survivor's where the survivor has none for the
    attribute (the survivor's own value wins, as for its other fields); dated by the merge."""
    held = AttributeValue.objects.filter(person_id=event.survivor.pk).values("attribute_id")
    AttributeValue.objects.filter(person_id=event.merged.pk).exclude(attribute_id__in=held).update(
        person_id=event.survivor.pk, merged_from_id=event.merged.pk
    )


def _persons_unmerged(event: PersonsMerged) -> None:
    AttributeValue.objects.filter(
        person_id=event.survivor.pk, merged_from_id=event.merged.pk
    ).update(person_id=event.merged.pk, merged_from_id=None)


def subscribe() -> None:
    """Connected in AttributesConfig.ready()."""
    person_events.persons_merged.connect(_persons_merged)
    person_events.persons_unmerged.connect(_persons_unmerged)
