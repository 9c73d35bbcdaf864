"""Screens: the administrator's attributes (/administration/attributes/), a case's values
(/cases/<pk>/attributes/)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.http import AuthenticatedHttpRequest
from casework.attributes import selectors, services
from casework.attributes.forms import (
    AttributeForm,
    CaseValuesForm,
    ChangeAttributeForm,
    ChoiceForm,
    parse_choice_lines,
)
from casework.attributes.models import Attribute
from casework.cases.access import get_case_for_user
from casework.core.errors import FieldErrors, PreconditionFailed
from casework.core.views import run_service_form


def _to_attribute(attribute: Attribute) -> HttpResponse:
    return HttpResponseRedirect(reverse("attributes:detail", kwargs={"attribute_pk": attribute.pk}))


@login_required
@require_http_methods(["GET", "POST"])
def attribute_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    user, attributes = selectors.administered_attributes(request.user)
    form = AttributeForm(request.POST or None)

    def define(data: dict[str, Any]) -> Attribute:
        return services.define_attribute(
            by=user,
            code=data["code"],
            label=data["label"],
            applies_to=data["applies_to"],
            sensitive=data["sensitive"],
            choices=[
                services.ChoiceDetails(code=code, label=label, order=number)
                for number, (code, label) in enumerate(parse_choice_lines(data["choices"]))
            ],
        )

    return run_service_form(
        request,
        form,
        define,
        success=_("Attribute added."),
        redirect_to=_to_attribute,
        template="attributes/list.html",
        context={"attributes": attributes},
    )


@login_required
@require_http_methods(["GET", "POST"])
def attribute_detail(request: AuthenticatedHttpRequest, attribute_pk: int) -> HttpResponse:
    """The attribute's name and use, and its choices (the POST adds or changes one: the form
    that names a choice by its code)."""
    user, attribute = selectors.get_attribute_for_admin(request.user, attribute_pk)
    posted = request.POST if request.method == "POST" else None
    if posted is not None and "change" in posted:
        change = ChangeAttributeForm(posted)
        return run_service_form(
            request,
            change,
            lambda data: services.change_attribute(
                by=user, attribute=attribute, label=data["label"], active=data["active"]
            ),
            success=_("Attribute changed."),
            redirect_to=_to_attribute,
            template="attributes/detail.html",
            context={"attribute": attribute, "change": change, "choice_form": ChoiceForm()},
        )
    change = ChangeAttributeForm(initial={"label": attribute.label, "active": attribute.active})
    return run_service_form(
        request,
        ChoiceForm(posted),
        lambda data: (
            services.save_choice(
                by=user,
                attribute=attribute,
                choice=services.ChoiceDetails(
                    code=data["code"],
                    label=data["label"],
                    order=data["order"],
                    active=data["active"],
                ),
            ).attribute
        ),
        success=_("Choice saved."),
        redirect_to=_to_attribute,
        template="attributes/detail.html",
        context={"attribute": attribute, "change": change},
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_values(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    case = get_case_for_user(user, pk, write=True)
    form = CaseValuesForm(request.POST or None, shown=selectors.case_values(case, user))

    @transaction.atomic
    def save(_data: dict[str, Any]) -> None:
        # Only what the user changed, each checked against what the form showed: a value someone
        # else set meanwhile is neither cleared by an untouched field nor overwritten unseen.
        stale: dict[str, list[Any]] = {}
        for item, choice_code, was in form.changes():
            try:
                services.set_value(
                    by=user,
                    case=case,
                    attribute=item.attribute,
                    choice_code=choice_code,
                    expected=was,
                )
            except PreconditionFailed as error:
                stale[item.attribute.code] = [error.message]
        if stale:
            form.conflict = True  # the page offers to load the values again
            raise FieldErrors(stale)  # rolls back what was written: nothing changes

    return run_service_form(
        request,
        form,
        save,
        success=_("Attributes saved."),
        redirect_to=lambda _result: HttpResponseRedirect(
            reverse("cases:detail", kwargs={"pk": case.pk})
        ),
        template="attributes/case_values.html",
        context={"case": case},
    )
