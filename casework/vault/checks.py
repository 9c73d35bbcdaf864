"""A system check: every model with encrypted fields says whose data its rows are.

Without it a new model's values would have no agency to be encrypted for, and an agency's purge
would leave them readable; `manage.py check` (and so every test run) fails instead.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models

from casework.vault.fields import agency_path, encrypted_fields

AGENCY_MODEL = "accounts.agency"


def _path_error(model: type[models.Model], path: str) -> str | None:
    current: type[models.Model] = model
    for hop in path.split("__"):
        try:
            relation = current._meta.get_field(hop)
        except FieldDoesNotExist:
            return f"{current._meta.label} has no field {hop!r}"
        target = relation.related_model
        if not (relation.many_to_one or relation.one_to_one) or not isinstance(target, type):
            return f"{current._meta.label}.{hop} is not a foreign key"
        current = target
    if current._meta.label_lower != AGENCY_MODEL:
        return f"it leads to {current._meta.label}, not to the agency"
    return None


@checks.register(checks.Tags.models)
def check_vault_agency(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for model in dict.fromkeys(model for model, _field in encrypted_fields()):
        try:
            path = agency_path(model)
        except ImproperlyConfigured as missing:
            errors.append(checks.Error(str(missing), obj=model, id="vault.E001"))
            continue
        problem = path and _path_error(model, path)
        if problem:
            errors.append(
                checks.Error(
                    f"{model._meta.label}.vault_agency = {path!r}: {problem}.",
                    obj=model,
                    id="vault.E002",
                )
            )
    return errors
