from __future__ import annotations

from typing import Any

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
        self.fields["password"].max_length = None
