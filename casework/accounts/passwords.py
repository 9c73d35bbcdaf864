"""Password rules beyond Django's: a list of phrases people reuse, and a generous maximum.

Long passphrases are welcome (64 characters and far beyond); the maximum only stops a megabyte of
text being hashed on every login attempt.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_LENGTH = 4096

# Phrases that pass Django's 20,000 common passwords by length alone but are still guessed first.
COMMON_PHRASES = {
    "password1234",
    "qwertyuiop123",
    "welcome12345",
    "iloveyou1234",
    "casework1234",
    "casework2026",
    "unicef123456",
    "humanitarian",
    "123456789012",
    "administrator",
    "changeme1234",
    "letmein12345",
    "passwordpassword",
}


class CommonPhraseValidator:
    def validate(self, password: str, user: Any = None) -> None:
        folded = password.casefold().replace(" ", "")
        if folded in COMMON_PHRASES or len(set(folded)) <= 2:
            raise ValidationError(
                _("This password is too easy to guess."), code="password_too_common"
            )

    def get_help_text(self) -> str:
        return _("Your password can't be a commonly used phrase.")


class MaximumLengthValidator:
    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > MAX_LENGTH:
            raise ValidationError(
                _("Your password can be at most %(max)d characters.") % {"max": MAX_LENGTH},
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return _("Long passphrases are welcome.")
