"""Forms of the spot-check screens: drawing a sample, recording a check."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.core.errors import CaseworkError
from casework.core.forms import ServiceForm, choice_field
from casework.core.periods import Period, current_quarter, parse_period
from casework.plans.models import DocumentationCriterion
from casework.plans.verification import MAX_SEED


class DrawSampleForm(ServiceForm):
    period = forms.CharField(
        label=_("Period"),
        max_length=40,
        help_text=_("2026-Q3, 2026-07, 2026, or two dates: 2026-07-01..2026-09-30."),
    )
    seed = forms.IntegerField(
        label=_("Random seed"),
        required=False,
        min_value=0,
        max_value=MAX_SEED,
        help_text=_("Leave empty for a new random sample; give a sample's seed to draw it again."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].initial = str(current_quarter(timezone.localdate()))

    def clean_period(self) -> Period:
        try:
            return parse_period(self.cleaned_data["period"])
        except CaseworkError as error:
            raise forms.ValidationError(str(error.message)) from None


class SpotCheckForm(ServiceForm):
    individualised = forms.TypedChoiceField(
        label=_("Is the plan individualised?"),
        help_text=_(
            "Written with this person, for this person's needs: not copied from another file, "
            "not a plan for a group."
        ),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    criteria_met = forms.MultipleChoiceField(
        label=_("Documentation: what the file meets"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=4000,
        help_text=_("What you saw and what staff said. No names."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, checklist: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(DocumentationCriterion.choices)
        choice_field(self, "criteria_met").choices = [
            (code, labels.get(code, code)) for code in checklist
        ]
