from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from casework.attributes.models import Attribute
from casework.attributes.selectors import Shown
from casework.core.forms import ServiceForm

CHOICES_HELP = _(
    "One choice a line: code, then a comma, then its label (e.g. “group_a, Group A”). "
    "Codes: lower-case letters, digits and _."
)


def parse_choice_lines(text: str) -> list[tuple[str, str]]:
    lines = []
    for line in text.splitlines():
        if not line.strip():
            continue
        code, _comma, label = line.partition(",")
        lines.append((code.strip(), label.strip()))
    return lines


class AttributeForm(ServiceForm):
    code = forms.CharField(label=_("Code"), max_length=40)
    label = forms.CharField(label=_("Name"), max_length=100)
    applies_to = forms.ChoiceField(label=_("About"), choices=Attribute.AppliesTo.choices)
    sensitive = forms.BooleanField(
        label=_("Sensitive"),
        required=False,
        help_text=_("Encrypted, and shown only to those who see the case's personal data."),
    )
    choices = forms.CharField(
        label=_("Choices"), widget=forms.Textarea(attrs={"rows": 5}), help_text=CHOICES_HELP
    )


class ChangeAttributeForm(ServiceForm):
    label = forms.CharField(label=_("Name"), max_length=100)
    active = forms.BooleanField(label=_("In use"), required=False)


class ChoiceForm(ServiceForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("A new code adds a choice; an existing one changes it."),
    )
    label = forms.CharField(label=_("Label"), max_length=100)
    order = forms.IntegerField(label=_("Order"), min_value=0, max_value=1000, initial=0)
    active = forms.BooleanField(label=_("In use"), required=False, initial=True)


def was_field(code: str) -> str:
    """The hidden field that carries the choice a field showed when the form was loaded (a "-"
    is in no attribute code, so it names no attribute)."""
    return f"{code}-was"


class CaseValuesForm(ServiceForm):
    """One choice field per attribute the user may see and the case's agency uses, each with the
    choice it showed when loaded (`was_field`): only a field changed from what it showed is
    written, and only if no one changed it meanwhile."""

    def __init__(self, *args: Any, shown: list[Shown], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shown = [item for item in shown if not item.hidden and item.attribute.active]
        for item in self.shown:
            self.fields[item.attribute.code] = forms.ChoiceField(
                label=item.attribute.label,
                required=False,
                initial=item.code,
                choices=[
                    ("", "—"),
                    *(
                        (choice.code, choice.label)
                        for choice in item.choices
                        if choice.active or choice.code == item.code
                    ),
                ],
            )
            self.fields[was_field(item.attribute.code)] = forms.CharField(
                required=False, initial=item.code, widget=forms.HiddenInput
            )

    def changes(self) -> list[tuple[Shown, str, str | None]]:
        """(attribute, new choice, the choice it showed) of each field the user changed. A field
        not posted (added to the agency's attributes after the form was loaded) is left alone;
        one posted without what it showed is compared with the stored value (None)."""
        found = []
        for item in self.shown:
            code = item.attribute.code
            if code not in self.data:
                continue
            new = self.cleaned_data.get(code, "")
            was = self.cleaned_data.get(was_field(code)) if was_field(code) in self.data else None
            if new != (item.code if was is None else was):
                found.append((item, new, was))
        return found
