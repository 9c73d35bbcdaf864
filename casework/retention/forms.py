from __future__ import annotations

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
