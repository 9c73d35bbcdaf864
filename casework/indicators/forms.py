"""The report and trends pickers. They check the input's shape; services.py applies the rules."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from casework.core.forms import ServiceForm, choice_field
from casework.indicators.dimensions import (
    ALL_SINGLE,
    CONTRACT_DIMENSIONS,
    DIMENSIONS,
    PAIR_SEPARATOR,
    DisaggregationError,
    dimensions_for_agency,
    parse_by,
)
from casework.indicators.exports import FORMATS
from casework.indicators.periods import Period, PeriodError, last_complete_quarter, parse_period
from casework.indicators.queries import GroupingSet
from casework.indicators.trends import slice_choices

PERIOD_HELP = _("A month (2026-07), a quarter (2026-Q3), a year (2026) or 2026-07-01..2026-09-30.")
PAIRABLE = (*CONTRACT_DIMENSIONS, "adm1", "risk_level")


def _period_field(label: Any, **kwargs: Any) -> forms.CharField:
    return forms.CharField(label=label, max_length=40, help_text=PERIOD_HELP, **kwargs)


class ReportForm(forms.Form):
    period = _period_field(_("Period"))
    by = forms.MultipleChoiceField(
        label=_("Disaggregate by"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(name, DIMENSIONS[name].label) for name in ALL_SINGLE],
    )
    pair = forms.ChoiceField(
        label=_("Cross two of them"),
        required=False,
        choices=[
            ("", "—"),
            *[
                (
                    f"{a}{PAIR_SEPARATOR}{b}",
                    f"{DIMENSIONS[a].label} × {DIMENSIONS[b].label}",
                )
                for a, b in itertools.combinations(PAIRABLE, 2)
            ],
        ],
    )
    min_cell = forms.IntegerField(
        label=_("Smallest count shown"),
        required=False,
        min_value=1,
        max_value=100,
        help_text=_("1 shows every figure: for internal checking only, never for publication."),
    )
    download = forms.ChoiceField(
        required=False, choices=[("", "—"), *[(name, name) for name in FORMATS]]
    )

    def __init__(
        self,
        *args: Any,
        can_unsuppress: bool = False,
        agency_id: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.agency_id = agency_id
        _offer_attributes(self, agency_id)
        self.fields["period"].initial = str(last_complete_quarter(timezone.localdate()))
        self.fields["by"].initial = ["sex", "age_group"]
        if not can_unsuppress:
            del self.fields["min_cell"]

    def clean_period(self) -> Period:
        try:
            return parse_period(self.cleaned_data["period"])
        except PeriodError as error:
            raise forms.ValidationError(str(error.message)) from error

    def disaggregations(self) -> list[GroupingSet]:
        chosen = list(self.cleaned_data.get("by") or [])
        if self.cleaned_data.get("pair"):
            chosen.append(self.cleaned_data["pair"])
        try:
            return parse_by(chosen, self.agency_id)
        except DisaggregationError as error:  # only a forged request gets here
            raise forms.ValidationError(str(error.message)) from error


class TrendsForm(forms.Form):
    start = _period_field(_("From"))
    end = _period_field(_("To"))
    step = forms.ChoiceField(
        label=pgettext_lazy("trends: one point per month or quarter", "By"),
        choices=[("month", _("Month")), ("quarter", _("Quarter"))],
        initial="month",
    )
    slice = forms.ChoiceField(label=_("Also show every trend by"), required=False)

    def __init__(self, *args: Any, agency_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "slice").choices = [("", _("(nothing more)")), *slice_choices(agency_id)]
        today = timezone.localdate()
        last = today.replace(day=1) - datetime.timedelta(days=1)
        first = last.replace(year=last.year - 1, day=1)
        self.fields["start"].initial = f"{first:%Y-%m}"
        self.fields["end"].initial = f"{last:%Y-%m}"

    def clean_start(self) -> Period:
        try:
            return parse_period(self.cleaned_data["start"])
        except PeriodError as error:
            raise forms.ValidationError(str(error.message)) from error

    def clean_end(self) -> Period:
        try:
            return parse_period(self.cleaned_data["end"])
        except PeriodError as error:
            raise forms.ValidationError(str(error.message)) from error

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, Period) and isinstance(end, Period):
            if end.end < start.start:
                raise forms.ValidationError(_("The range ends before it starts."))
            if (end.end - start.start).days > 366 * 5:
                raise forms.ValidationError(_("Show five years at most."))
        return data


def _offer_attributes(form: forms.Form, agency_id: int | None) -> None:
    """The agency's own attributes (`attr:<code>`) among the disaggregations, after the
    built-ins."""
    if agency_id is None:
        return
    choice_field(form, "by").choices = [
        *((name, DIMENSIONS[name].label) for name in ALL_SINGLE),
        *(
            (dimension.code, dimension.label)
            for dimension in dimensions_for_agency(agency_id)
            if dimension.code not in DIMENSIONS
        ),
    ]


class FreezeForm(ServiceForm):
    """Freeze a period's report as it is sent: the report picker's period and disaggregations,
    and to whom (or for what) it goes."""

    period = ReportForm.base_fields["period"]
    by = ReportForm.base_fields["by"]
    pair = ReportForm.base_fields["pair"]
    recipient = forms.CharField(
        label=_("Sent to"),
        max_length=200,
        help_text=_("The donor, cluster or report it goes to, e.g. “UNICEF Q3 donor report”."),
    )
    reason = forms.CharField(
        label=_("Why it is frozen again"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed when this period's report was frozen before: a new version."),
    )

    clean_period = ReportForm.clean_period

    def __init__(self, *args: Any, agency_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agency_id = agency_id
        _offer_attributes(self, agency_id)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = list(data.get("by") or [])
        if data.get("pair"):
            chosen.append(data["pair"])
        try:
            data["disaggregations"] = parse_by(chosen, self.agency_id)
        except DisaggregationError as error:  # only a forged request gets here
            raise forms.ValidationError(str(error.message)) from error
        return data
