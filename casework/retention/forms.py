from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from casework.core.forms import ServiceForm


class AgencyCodeForm(ServiceForm):
    """The agency's code typed again: a purge is never one click away."""

    agency_code = forms.CharField(
        label=_("Type your agency's code to confirm"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    second_factor = forms.CharField(
        label=_("Code from your authenticator app (or a recovery code)"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, second_factor: bool = False, **kwargs: Any) -> None:
        """`second_factor`: whether the person must use two-factor sign-in, so give a code."""
        super().__init__(*args, **kwargs)
        if second_factor:
            self.fields["second_factor"].required = True
        else:
            del self.fields["second_factor"]
