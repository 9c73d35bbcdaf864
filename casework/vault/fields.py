"""Model fields whose values are encrypted before they reach the database.

They refuse every lookup except `isnull`: a ciphertext is never equal to another encryption of
the same value, so searching must go through the blind index (casework/vault/blind.py).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldError
from django.db import models

from casework.vault.crypto import Unreadable, decrypt_text, encrypt_text


class EncryptedMixin:
    """Shared by every encrypted field; `encrypted_fields()` finds columns by this type."""

    model: Any
    attname: str

    @property
    def crypto_context(self) -> str:
        return f"{self.model._meta.label_lower}.{self.attname}"

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.crypto_context} is encrypted: filter through the blind index instead."
            )
        # The field this is mixed into answers the one lookup left (the mixin has no base).
        field: Any = super()
        return field.get_lookup(lookup_name)

    def get_transform(self, name: str) -> Any:
        return None

    def to_plain(self, value: Any) -> str:
        return str(value)

    def from_plain(self, text: str) -> Any:
        return text

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        if isinstance(value, Unreadable):
            raise ValueError(f"Refusing to save an unreadable value into {self.crypto_context}.")
        return encrypt_text(self.to_plain(value), context=self.crypto_context)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value if value is None else self.empty_value()
        text = decrypt_text(value, context=self.crypto_context)
        if isinstance(text, Unreadable):
            return self.unreadable_value()
        return self.from_plain(text)

    def empty_value(self) -> Any:
        return ""

    def unreadable_value(self) -> Any:
        return Unreadable()


class EncryptedTextField(EncryptedMixin, models.TextField):
    """Free text and names. Stored as TEXT holding ciphertext."""


class EncryptedCharField(EncryptedMixin, models.TextField):
    """A short value (a name, a phone number); max_length is enforced on the plaintext by forms."""

    def __init__(self, *args: Any, max_length: int | None = None, **kwargs: Any) -> None:
        self.plain_max_length = max_length
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs: Any) -> Any:  # a one-line input, not a textarea
        from django import forms

        return forms.CharField(
            max_length=self.plain_max_length, required=not self.blank, label=self.verbose_name
        )

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.plain_max_length is not None:
            kwargs["max_length"] = self.plain_max_length
        return name, path, args, kwargs


if TYPE_CHECKING:
    # What django-stubs types the model attribute as: it takes a date or ISO text (`to_plain`)
    # and reads back as a date, or None when empty or unreadable. A TextField would say str.
    _DateAsText = models.TextField[datetime.date | str | None, datetime.date | None]
else:
    _DateAsText = models.TextField


class EncryptedDateField(EncryptedMixin, _DateAsText):
    """A date (date of birth) held as encrypted ISO text; reads back as datetime.date."""

    def to_plain(self, value: Any) -> str:
        if isinstance(value, datetime.date):
            return value.isoformat()
        return datetime.date.fromisoformat(str(value)).isoformat()

    def from_plain(self, text: str) -> Any:
        return datetime.date.fromisoformat(text)

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, datetime.date) or value == "":
            return value or None
        return datetime.date.fromisoformat(str(value))

    def empty_value(self) -> Any:
        return None

    def unreadable_value(self) -> Any:
        return None

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        return forms.DateField(required=not self.blank, label=self.verbose_name)


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedMixin]]:
    """Every encrypted column in the project (for key rotation, retention and the purge)."""
    from django.apps import apps

    found: list[tuple[type[models.Model], EncryptedMixin]] = []
    for model in apps.get_models():
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, EncryptedMixin):
                found.append((model, model_field))
    return found
