"""Reads the screens and the API share: the agency's attributes, a case's values."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from casework.accounts.access import Requester, agency_of, require_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm, Sensitive
from casework.attributes.models import Attribute, AttributeChoice, AttributeValue
from casework.cases.models import Case


def attributes_of(agency_id: int) -> QuerySet[Attribute]:
    return Attribute.objects.filter(agency_id=agency_id).prefetch_related("choices")


def administered_attributes(user: Requester) -> tuple[User, QuerySet[Attribute]]:
    """The administrator's own agency's attributes (404 for anyone else)."""
    admin = require_perm(user, Perm.MANAGE_CONFIGURATION)
    return admin, attributes_of(agency_of(admin))


def get_attribute_for_admin(user: Requester, attribute_id: int) -> tuple[User, Attribute]:
    admin, attributes = administered_attributes(user)
    found = attributes.filter(pk=attribute_id).first()
    if found is None:
        raise Http404(_("Not found."))
    return admin, found


@dataclass(frozen=True)
class Shown:
    """One attribute of a case as its reader may see it."""

    attribute: Attribute
    choices: list[AttributeChoice]
    code: str  # "" when none recorded or hidden
    label: str
    hidden: bool


def case_values(case: Case, user: User) -> list[Shown]:
    """The agency's attributes in use (and any other with a value) for a case loaded through the
    gate. A sensitive value is read (decrypted) only for a role that sees personal data."""
    sees = user.sees(Sensitive.ATTRIBUTES)
    values = AttributeValue.objects.filter(
        Q(case_id=case.pk, attribute__applies_to=Attribute.AppliesTo.CASE)
        | Q(person_id=case.person_id, attribute__applies_to=Attribute.AppliesTo.PERSON),
        attribute__agency_id=case.agency_id,
    )
    if not sees:
        # Not even loaded: the ciphertext never leaves the database for a role that may not read it.
        values = values.filter(attribute__sensitive=False)
    by_attribute = {value.attribute_id: value for value in values}
    attributes = Attribute.objects.filter(agency_id=case.agency_id).prefetch_related(
        Prefetch("choices", queryset=AttributeChoice.objects.order_by("order", "code"))
    )
    shown = []
    for attribute in attributes:
        value = by_attribute.get(attribute.pk)
        if not attribute.active and value is None:
            continue
        hidden = attribute.sensitive and not sees
        code = ""
        if value is not None:
            code = value.sealed_code if attribute.sensitive else value.code
        choices = list(attribute.choices.all())
        label = next((c.label for c in choices if c.code == code), code)
        shown.append(Shown(attribute, choices, code, label, hidden))
    return shown
