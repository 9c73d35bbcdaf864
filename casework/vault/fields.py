"""Model fields whose values are encrypted before they reach the database.

They refuse every lookup except `isnull`: a ciphertext is never equal to another encryption of
the same value, so searching must go through the blind index (casework/vault/blind.py).

Every model with encrypted fields says whose data its rows are, as a path of foreign keys to the
agency (`vault_agency = "case__agency"`), or None for the instance's own data (the service
directory). A value is encrypted with that agency's key when its row is saved (`pre_save`, which
`save()` and `bulk_create()` call), so that destroying the agency's keys destroys it. Paths that
write without a model instance (`QuerySet.update()`, `bulk_update()`, core.bulk.insert_rows) must
say the agency themselves, with `encrypting_for(agency_id)`; without it they are refused rather
than encrypted with the wrong key.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models

from casework.vault.crypto import Unreadable, decrypt_text, encrypt_text

_NOT_DECLARED = object()
# The agency values written without a model instance belong to (a one-element tuple, so that
# "the instance" (None) differs from "not said").
_writing_for: ContextVar[tuple[int | None] | None] = ContextVar("vault_writing_for", default=None)


@contextlib.contextmanager
def encrypting_for(agency_id: int | None) -> Iterator[None]:
    """Encrypt values written without a model instance (`QuerySet.update()`, `bulk_update()`,
    core.bulk.insert_rows) with the keys of `agency_id`. Rows saved as instances still use
    their own agency."""
    token = _writing_for.set((agency_id,))
    try:
        yield
    finally:
        _writing_for.reset(token)


class Sealed(str):
    """A value `pre_save` already encrypted with its row's agency key: stored as it is."""

    __slots__ = ()


def _historical(model: type[models.Model]) -> bool:
    """A model as a migration sees it: fields only, no class attributes such as vault_agency."""
    return model.__module__ == "__fake__"


def agency_path(model: type[models.Model]) -> str | None:
    """The model's `vault_agency`: its foreign-key path to the agency, None for instance data."""
    path = getattr(model, "vault_agency", _NOT_DECLARED)
    if path is _NOT_DECLARED and _historical(model):
        # A data migration writes with the instance key; `casework reencrypt --to-agency-keys`
        # moves those values to their agency's key afterwards.
        return None
    if path is _NOT_DECLARED:
        raise ImproperlyConfigured(
            f"{model._meta.label} has encrypted fields: declare `vault_agency` (the path of "
            "foreign keys to its agency, or None if its rows belong to no agency)."
        )
    if path is not None and not isinstance(path, str):
        raise ImproperlyConfigured(f"{model._meta.label}.vault_agency must be a str or None.")
    return path


def agency_of(instance: models.Model) -> int | None:
    """The id of the agency `instance` belongs to, followed along its `vault_agency` path
    (related objects already loaded are not read again)."""
    path = agency_path(type(instance))
    if path is None:
        return None
    current: Any = instance
    *hops, last = path.split("__")
    for hop in hops:
        current = getattr(current, hop)
        if current is None:
            return None
    agency_id = getattr(current, current._meta.get_field(last).attname)
    return None if agency_id is None else int(agency_id)


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

    def _refuse_unreadable(self, value: Any) -> None:
        if isinstance(value, Unreadable):
            raise ValueError(f"Refusing to save an unreadable value into {self.crypto_context}.")

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None or value == "" or isinstance(value, Sealed):
            return value
        self._refuse_unreadable(value)
        return Sealed(
            encrypt_text(
                self.to_plain(value),
                context=self.crypto_context,
                agency_id=agency_of(model_instance),
            )
        )

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "" or isinstance(value, Sealed):
            return value
        self._refuse_unreadable(value)
        said = _writing_for.get()
        if said is None:
            if agency_path(self.model) is not None:
                raise ImproperlyConfigured(
                    f"{self.crypto_context} belongs to an agency: save it through its model, or "
                    "write it inside vault.fields.encrypting_for(agency_id)."
                )
            said = (None,)
        return encrypt_text(self.to_plain(value), context=self.crypto_context, agency_id=said[0])

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
