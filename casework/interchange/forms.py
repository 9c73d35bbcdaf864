"""Forms of the import and export screens. They check the input's shape; the rules live in
importer.py, exporter.py and the models."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from casework.core.errors import CaseworkError
from casework.core.forms import ServiceForm
from casework.core.uploads import UploadTooLarge, check_size
from casework.interchange.exporter import FORMATS
from casework.interchange.models import ColumnMapping
from casework.interchange.periods import Period, parse_period
from casework.interchange.readers import FileError


class UploadForm(ServiceForm):
    cases = forms.FileField(
        label=_("Cases file"),
        help_text=_("CSV, or an XLSX workbook with a “cases” sheet (and a “surveys” sheet)."),
    )
    surveys = forms.FileField(
        label=_("Surveys file (CSV, optional)"),
        required=False,
    )
    mapping = forms.ModelChoiceField(
        label=_("Column mapping"),
        queryset=ColumnMapping.objects.none(),
        required=False,
        empty_label=_("None: the file is in the interchange format"),
    )

    def __init__(self, *args: Any, agency_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["mapping"]
        field.queryset = ColumnMapping.objects.filter(agency_id=agency_id)

    def add_refusal(self, error: CaseworkError) -> None:
        """A refusal naming a file goes next to it; a file that cannot be read is the cases
        file's problem; anything else the form's."""
        if error.field in ("cases", "surveys"):
            self.add_error(error.field, str(error.message))
        elif isinstance(error, FileError):
            self.add_error("cases", str(error.message))
        else:
            self.add_error(None, str(error.message))

    def clean_cases(self) -> Any:
        return _within_upload_limit(self.cleaned_data["cases"], _("The cases file"))

    def clean_surveys(self) -> Any:
        return _within_upload_limit(self.cleaned_data.get("surveys"), _("The surveys file"))


def _within_upload_limit(upload: Any, what: Any) -> Any:
    if upload is not None:
        try:
            check_size(upload.size, what=str(what))
        except UploadTooLarge as error:
            raise ValidationError(
                [str(error.message), _("Larger files are imported with `casework import`.")]
            ) from error
    return upload


class ConfirmForm(forms.Form):
    valid_only = forms.BooleanField(required=False)


class MappingForm(forms.ModelForm):
    """A mapping written as plain text: one `source column = contract column` per line, and one
    `contract column: source value = contract value` per line for the value maps."""

    columns_text = forms.CharField(
        label=_("Columns"),
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        help_text=_("One per line: column in your file = column of the format, e.g. Sexe = sex"),
    )
    values_text = forms.CharField(
        label=_("Values"),
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        help_text=_("One per line: column: your value = value of the format, e.g. sex: F = female"),
    )

    class Meta:
        model = ColumnMapping
        fields = ["name", "date_format", "encoding", "delimiter"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["columns_text"].initial = "\n".join(
                f"{source} = {target}" for source, target in self.instance.columns.items()
            )
            self.fields["values_text"].initial = "\n".join(
                f"{column}: {source} = {target}"
                for column, table in self.instance.values.items()
                for source, target in table.items()
            )

    def clean_columns_text(self) -> dict[str, str]:
        columns: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["columns_text"].splitlines(), start=1):
            if not line.strip():
                continue
            source, separator, target = line.rpartition("=")
            if not separator or not source.strip() or not target.strip():
                raise ValidationError(
                    _("Line %(line)d: write “column in your file = column of the format”.")
                    % {"line": number}
                )
            columns[source.strip()] = target.strip().lower()
        return columns

    def clean_values_text(self) -> dict[str, dict[str, str]]:
        values: dict[str, dict[str, str]] = {}
        for number, line in enumerate(self.cleaned_data["values_text"].splitlines(), start=1):
            if not line.strip():
                continue
            column, colon, rest = line.partition(":")
            source, separator, target = rest.rpartition("=")
            if not colon or not separator or not column.strip():
                raise ValidationError(
                    _("Line %(line)d: write “column: your value = value of the format”.")
                    % {"line": number}
                )
            values.setdefault(column.strip().lower(), {})[source.strip()] = target.strip()
        return values

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.instance.columns = cleaned.get("columns_text", {})
        self.instance.values = cleaned.get("values_text", {})
        return cleaned


class ExportForm(ServiceForm):
    period = forms.CharField(
        label=_("Period"),
        required=False,
        help_text=_(
            "Cases open during it: 2026-07, 2026-Q3, 2026 or 2026-07-01..2026-09-30. Empty: all."
        ),
    )
    file_format = forms.ChoiceField(
        label=_("Format"), choices=[(f, f.upper()) for f in FORMATS], initial="xlsx"
    )
    with_names = forms.BooleanField(
        label=_("Include names and dates of birth (encrypted file, consent checked per case)"),
        required=False,
    )
    recipient_name = forms.CharField(label=_("For which organisation"), required=False)
    password = forms.CharField(
        label=_("Password of the encrypted file"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("At least 12 characters. Give it to the recipient by another channel."),
    )
    override_reason = forms.CharField(
        label=_("Reason to release cases without consent (roles allowed to override only)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    leave_out_refused = forms.BooleanField(
        label=_("Leave out the cases whose consent does not cover this export"),
        required=False,
    )

    def clean_period(self) -> Period | None:
        text = self.cleaned_data.get("period", "").strip()
        if not text:
            return None
        try:
            return parse_period(text)
        except CaseworkError as error:
            raise ValidationError(str(error.message)) from error
