from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    """Django's login form with one message for every failure (unknown user or wrong password)."""

    error_messages = {
        "invalid_login": _("That username and password do not match an active account."),
        "inactive": _("That username and password do not match an active account."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})
        # Long passphrases are welcome: no maxlength on the password input.
        self.fields["password"].widget.attrs.pop("maxlength", None)
        password = self.fields["password"]
        if isinstance(password, forms.CharField):
            password.max_length = None


class CodeForm(forms.Form):
    """One box for a six-digit code from the authenticator app or a recovery code."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "off",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )

    def __init__(self, *args: Any, help_text: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if help_text:
            self.fields["code"].help_text = help_text


class EnrolmentCodeForm(forms.Form):
    """The one-time code an administrator hands over before two-factor sign-in is set up."""

    enrolment_code = forms.CharField(
        label=_("Enrolment code"),
        max_length=32,
        strip=True,
        help_text=_("Twelve letters and digits, for example 7K2M-Q9XD-4HTB."),
        error_messages={
            "required": _(
                "Enter the enrolment code your administrator gave you. "
                "If you have none, ask your administrator for one."
            )
        },
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )
