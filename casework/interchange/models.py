"""Imports and exports of the interchange format: saved column mappings, the record of each
import and export, and the extra columns a file brought that the format does not know."""

from __future__ import annotations

import datetime
import json
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.core.models import TimeStampedModel
from casework.interchange.columns import KNOWN_CASE_COLUMNS, KNOWN_SURVEY_COLUMNS
from casework.vault.fields import EncryptedTextField


class ColumnMapping(TimeStampedModel):
    """How to read an organisation's own spreadsheet as the interchange format.

    `columns` maps a source column (as written in the file's header, compared case-insensitively)
    to a contract column; `values` maps, per contract column, a source value to a contract value
    (e.g. {"sex": {"F": "female", "M": "male"}}). Source columns not mapped and not in the
    contract are kept as extra columns, like any other unknown column.
    """

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.CASCADE, related_name="column_mappings"
    )
    name = models.CharField(_("name"), max_length=100)
    columns = models.JSONField(_("columns"), default=dict, blank=True)
    values = models.JSONField(_("value maps"), default=dict, blank=True)
    date_format = models.CharField(
        _("date format"),
        max_length=20,
        default="%Y-%m-%d",
        help_text=_("As in strftime, e.g. %d/%m/%Y for 31/12/2026."),
    )
    encoding = models.CharField(_("text encoding of CSV files"), max_length=20, default="utf-8")
    delimiter = models.CharField(_("CSV delimiter"), max_length=1, default=",")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("column mapping")
        ordering = ["agency", "name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "name"], name="mapping_name_unique_in_agency")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        known = KNOWN_CASE_COLUMNS | KNOWN_SURVEY_COLUMNS
        errors: dict[str, list[Any]] = {}
        if not isinstance(self.columns, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.columns.items()
        ):
            errors.setdefault("columns", []).append(_("Map column names to column names."))
        else:
            unknown = sorted({v for v in self.columns.values() if v not in known})
            if unknown:
                errors.setdefault("columns", []).append(
                    _("Not columns of the interchange format: %(names)s")
                    % {"names": ", ".join(unknown)}
                )
        if not isinstance(self.values, dict) or not all(
            isinstance(v, dict) for v in self.values.values()
        ):
            errors.setdefault("values", []).append(_("Map each column to a table of values."))
        else:
            unknown = sorted(k for k in self.values if k not in known)
            if unknown:
                errors.setdefault("values", []).append(
                    _("Not columns of the interchange format: %(names)s")
                    % {"names": ", ".join(unknown)}
                )
        if "%" not in self.date_format:
            errors.setdefault("date_format", []).append(_("Use strftime codes such as %d."))
        try:
            "".encode(self.encoding)
        except LookupError:
            errors.setdefault("encoding", []).append(_("Unknown text encoding."))
        if errors:
            raise ValidationError(errors)

    def target_for(self, source: str) -> str | None:
        wanted = source.strip().lower()
        for key, target in self.columns.items():
            if key.strip().lower() == wanted:
                return target
        return None


class ImportRun(TimeStampedModel):
    """One import, from its dry run to its outcome. Holds counts, codes and line numbers only.

    Between the dry run on the upload screen and the confirmation, the uploaded files wait here
    encrypted (`payload`), so they never sit on disk in clear; the payload is erased as soon as
    the import is done or discarded.
    """

    vault_agency: ClassVar[str | None] = "agency"

    class Status(models.TextChoices):
        CHECKED = "checked", _("Checked, waiting for confirmation")
        IMPORTED = "imported", _("Imported")
        REJECTED = "rejected", _("Rejected (errors)")
        DISCARDED = "discarded", _("Discarded")

    agency = models.ForeignKey(
        "accounts.Agency", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CHECKED)
    valid_only = models.BooleanField(_("import the valid rows only"), default=False)
    mapping = models.ForeignKey(
        ColumnMapping, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Counts, created codes, extra column names: see ImportResult.summary().
    summary = models.JSONField(default=dict, blank=True)
    # [{"file", "line", "column", "code", "message"}]: never a value from the file.
    errors = models.JSONField(default=list, blank=True)
    payload = EncryptedTextField(blank=True)

    class Meta:
        verbose_name = _("import")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk}"


class ExportRun(models.Model):
    """One export: who took which cases out, de-identified or with names, and for whom."""

    vault_agency: ClassVar[str | None] = "agency"

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    file_format = models.CharField(max_length=8)
    with_names = models.BooleanField(default=False)
    recipient_name = models.CharField(_("recipient organisation"), max_length=200, blank=True)
    override_reason = EncryptedTextField(_("reason for overriding consent"), blank=True)
    cases = models.PositiveIntegerField(default=0)
    surveys = models.PositiveIntegerField(default=0)
    # Cases left out because the client's consent did not cover the export (ids only).
    refused_case_ids = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("export")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.pk}"


class ExportFile(models.Model):
    """An export with names, kept for its maker to download until it expires.

    The content is the password-sealed .cwx container, encrypted once more with the agency's
    vault key (so a copy of the database, or the agency's purge, leaves nothing readable). At
    expiry the worker erases the content (`services.purge_expired_exports`); the row stays as
    history: who exported what for whom, when, how often it was downloaded and when it was erased.
    """

    vault_agency: ClassVar[str | None] = "agency"

    run = models.OneToOneField(ExportRun, on_delete=models.PROTECT, related_name="file")
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    name = models.CharField(_("file name"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"), default=0)
    # Base64 of the .cwx container, under the agency's key; blank once purged.
    content = EncryptedTextField(blank=True)
    downloads = models.PositiveIntegerField(_("downloads"), default=0)
    last_downloaded_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(_("erased"), null=True, blank=True)

    class Meta:
        verbose_name = _("export file")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="exportfile_maker_newest"),
            models.Index(
                fields=["expires_at"], condition=Q(purged_at=None), name="exportfile_to_purge"
            ),
        ]

    def __str__(self) -> str:
        return f"export file {self.pk}"

    def is_available(self, now: datetime.datetime | None = None) -> bool:
        """Whether it can still be downloaded: not past its expiry, not erased."""
        return self.purged_at is None and (now or timezone.now()) < self.expires_at


class ExtraValues(models.Model):
    """The values of a file's extra columns for one case (or one survey of it), kept encrypted:
    an organisation's own columns may hold anything, including names."""

    vault_agency: ClassVar[str | None] = "case__agency"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    survey = models.OneToOneField(
        "feedback.ParticipationSurvey",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    values_json = EncryptedTextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("extra imported values")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(survey=None), name="one_extra_row_per_case"
            )
        ]

    def __str__(self) -> str:
        return f"extra values of case {self.case_id}"

    @property
    def values(self) -> dict[str, str]:
        if not self.values_json:
            return {}
        try:
            loaded = json.loads(self.values_json)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}

    @values.setter
    def values(self, data: dict[str, str]) -> None:
        self.values_json = self.dump(data)

    @staticmethod
    def dump(data: dict[str, str]) -> str:
        return json.dumps(data, ensure_ascii=False, sort_keys=True) if data else ""
