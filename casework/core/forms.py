"""Plumbing every app's HTML forms share: a form that takes a service's refusal, a date widget.

Forms parse and check the shape of input; the rules live in the services. When a service refuses
(a `CaseworkError`), nothing has changed and the reasons land on the form next to the fields they
concern (see casework/core/views.py for the view side).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from django import forms

from casework.core.errors import CaseworkError, Conflict, FieldErrors

T = TypeVar("T")


class DateInput(forms.DateInput):
    """The browser's own date picker; ISO dates on the wire whatever the language."""

    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


# `form.fields` is typed as plain Fields; these name fields the form class declares as choice
# fields (a ModelMultipleChoiceField is a ModelChoiceField too), to set their choices at run time.
def choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def model_choice_field(form: forms.Form, name: str) -> forms.ModelChoiceField:
    return cast(forms.ModelChoiceField, form.fields[name])


class ServiceForm(forms.Form):
    """A form whose valid data goes to a service, and whose refusal comes back onto the form."""

    # Set when the service refused because someone else saved the record meanwhile: the page
    # then offers to reload it (templates/includes/form_errors.html).
    conflict = False

    def add_service_errors(self, error: FieldErrors) -> None:
        """Put a service's FieldErrors next to the fields they concern (at the top otherwise)."""
        for name, messages in error.errors.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)

    def add_refusal(self, error: CaseworkError) -> None:
        """Put a service's refusal on the form: each FieldErrors message next to its field, any
        other CaseworkError next to the field it names, or at the top."""
        self.conflict = self.conflict or isinstance(error, Conflict)
        if isinstance(error, FieldErrors):
            self.add_service_errors(error)
        else:
            self.add_error(error.field if error.field in self.fields else None, str(error.message))

    def call_service(self, call: Callable[[], T]) -> T | None:
        """Run a service for this (valid) form; a refusal changes nothing and lands on the form.
        Callers check `form.errors` afterwards (a service may return None)."""
        try:
            return call()
        except CaseworkError as error:
            self.add_refusal(error)
        return None
