"""/api/v1/attributes: the agency administrator defines attributes and their choices; a case's
values are read and set through the case gate (as on the screens, through the same services)."""

from __future__ import annotations

from typing import Annotated, Any

from django.db import transaction
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from casework.accounts.http import AuthenticatedHttpRequest
from casework.attributes import selectors, services
from casework.attributes.models import Attribute
from casework.cases.access import get_case_for_user
from casework.core.api import READ_LATER, DocumentedAs, RawBody, answers, parse
from casework.core.errors import FieldErrors

router = Router(tags=["attributes"])


class ChoiceIn(Schema):
    code: str
    label: str
    order: int = 0
    active: bool = True


class ChoiceOut(Schema):
    code: str
    label: str
    order: int
    active: bool


class AttributeIn(Schema):
    code: str
    label: str
    applies_to: str
    sensitive: bool = False
    choices: list[ChoiceIn] = []


class AttributeChangeIn(Schema):
    label: str
    active: bool = True


class AttributeOut(Schema):
    id: int
    code: str
    dimension: str
    label: str
    applies_to: str
    sensitive: bool
    active: bool
    choices: list[ChoiceOut]


class ValueIn(Schema):
    attribute: str
    # "" clears the value.
    choice: str = ""
    # The choice the client read ("" for none): when the stored value is no longer that one,
    # 412 and nothing written. Left out, the value is written whatever is stored.
    was: str | None = None


class ValueOut(Schema):
    attribute: str
    label: str
    applies_to: str
    sensitive: bool
    # None: none recorded, or hidden from the caller's role (then `hidden` is true).
    choice: str | None
    choice_label: str | None
    hidden: bool


def _attribute(attribute: Attribute) -> dict[str, Any]:
    return {
        "id": attribute.pk,
        "code": attribute.code,
        "dimension": attribute.dimension_code,
        "label": attribute.label,
        "applies_to": attribute.applies_to,
        "sensitive": attribute.sensitive,
        "active": attribute.active,
        "choices": [
            {"code": c.code, "label": c.label, "order": c.order, "active": c.active}
            for c in sorted(attribute.choices.all(), key=lambda c: (c.order, c.code))
        ],
    }


@router.get("", response=answers(list[AttributeOut], 404), summary="The agency's attributes")
def list_attributes(request: AuthenticatedHttpRequest) -> Any:
    _admin, attributes = selectors.administered_attributes(request.user)
    return [_attribute(attribute) for attribute in attributes]


@router.post(
    "",
    response=answers(AttributeOut, 400, 404, status=201),
    summary="Define an attribute of persons or cases, with its choices (the administrator)",
)
def define_attribute(
    request: AuthenticatedHttpRequest,
    payload: Annotated[RawBody, DocumentedAs(AttributeIn)] = READ_LATER,
) -> Any:
    admin, _attributes = selectors.administered_attributes(request.user)
    data = parse(AttributeIn, payload)
    attribute = services.define_attribute(
        by=admin,
        code=data.code,
        label=data.label,
        applies_to=data.applies_to,
        sensitive=data.sensitive,
        choices=[services.ChoiceDetails(**choice.dict()) for choice in data.choices],
    )
    return Status(201, _attribute(attribute))


@router.get("/{attribute_id}", response=answers(AttributeOut, 404), summary="One attribute")
def get_attribute(request: AuthenticatedHttpRequest, attribute_id: int) -> Any:
    _admin, attribute = selectors.get_attribute_for_admin(request.user, attribute_id)
    return _attribute(attribute)


@router.put(
    "/{attribute_id}",
    response=answers(AttributeOut, 400, 404),
    summary="Rename an attribute, or take it out of use",
)
def change_attribute(
    request: AuthenticatedHttpRequest,
    attribute_id: int,
    payload: Annotated[RawBody, DocumentedAs(AttributeChangeIn)] = READ_LATER,
) -> Any:
    admin, attribute = selectors.get_attribute_for_admin(request.user, attribute_id)
    data = parse(AttributeChangeIn, payload)
    services.change_attribute(by=admin, attribute=attribute, label=data.label, active=data.active)
    return _attribute(selectors.get_attribute_for_admin(admin, attribute_id)[1])


@router.post(
    "/{attribute_id}/choices",
    response=answers(AttributeOut, 400, 404),
    summary="Add a choice, or change one (retire it with active false; never deleted)",
)
def save_choice(
    request: AuthenticatedHttpRequest,
    attribute_id: int,
    payload: Annotated[RawBody, DocumentedAs(ChoiceIn)] = READ_LATER,
) -> Any:
    admin, attribute = selectors.get_attribute_for_admin(request.user, attribute_id)
    data = parse(ChoiceIn, payload)
    services.save_choice(
        by=admin, attribute=attribute, choice=services.ChoiceDetails(**data.dict())
    )
    return _attribute(selectors.get_attribute_for_admin(admin, attribute_id)[1])


def _values(case: Any, user: Any) -> list[dict[str, Any]]:
    return [
        {
            "attribute": item.attribute.code,
            "label": item.attribute.label,
            "applies_to": item.attribute.applies_to,
            "sensitive": item.attribute.sensitive,
            "choice": None if item.hidden or not item.code else item.code,
            "choice_label": None if item.hidden or not item.code else item.label,
            "hidden": item.hidden,
        }
        for item in selectors.case_values(case, user)
    ]


@router.get(
    "/cases/{case_id}",
    response=answers(list[ValueOut], 404),
    summary="A case's attributes (its own and its person's); sensitive ones by role",
)
def case_values(request: AuthenticatedHttpRequest, case_id: int) -> Any:
    case = get_case_for_user(request.user, case_id)
    return _values(case, request.user)


@router.put(
    "/cases/{case_id}",
    response=answers(list[ValueOut], 400, 403, 404, 412),
    summary="Set (or clear, with an empty choice) one attribute of a case or its person; with "
    "`was`, only if it still holds that choice (412 otherwise)",
)
def set_case_value(
    request: AuthenticatedHttpRequest,
    case_id: int,
    payload: Annotated[RawBody, DocumentedAs(ValueIn)] = READ_LATER,
) -> Any:
    user = request.user
    case = get_case_for_user(user, case_id, write=True)
    data = parse(ValueIn, payload)
    attribute = Attribute.objects.filter(agency_id=case.agency_id, code=data.attribute).first()
    if attribute is None:
        raise FieldErrors({"attribute": [_("No such attribute in use.")]})
    with transaction.atomic():
        services.set_value(
            by=user, case=case, attribute=attribute, choice_code=data.choice, expected=data.was
        )
    return _values(case, user)
