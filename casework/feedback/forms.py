"""Survey forms. The branching of the participation survey (seed 000) is checked by the service
(`services.branching_errors`, which the API applies through the same service); the form only
collects the answers."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.core.forms import DateInput, ServiceForm
from casework.feedback.models import ParticipationWay, Rating

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
YES_NO_SKIPPED = [("", _("— not asked")), ("yes", _("Yes")), ("no", _("No"))]


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class ParticipationSurveyForm(ServiceForm):
    surveyed_on = forms.DateField(label=_("Date"), widget=DateInput())
    q1_aware = forms.ChoiceField(
        label=_("Q1. Do you know that the project developed a case management plan for you?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
        help_text=_("If no, stop here."),
    )
    q2_involved = forms.ChoiceField(
        label=_(
            "Q2. Do you feel you were involved in the decision making in the case management process?"
        ),
        choices=YES_NO_SKIPPED,
        required=False,
        widget=forms.RadioSelect,
        help_text=_("Only if Q1 is yes. If no, stop here."),
    )
    q3_ways = forms.MultipleChoiceField(
        label=_("Q3. How were you involved in the decision making?"),
        choices=ParticipationWay.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only if Q2 is yes."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["surveyed_on"].initial = timezone.localdate()

    def answers(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "surveyed_on": data["surveyed_on"],
            "q1_aware": data["q1_aware"] == "yes",
            "q2_involved": _yes_no(data["q2_involved"]),
            "q3_ways": data["q3_ways"],
        }


class ExitInterviewForm(ServiceForm):
    interviewed_on = forms.DateField(label=_("Date"), widget=DateInput())
    overall = forms.TypedChoiceField(
        label=_("Overall, how satisfied are you with the support you received?"),
        choices=Rating.choices,
        coerce=int,
        widget=forms.RadioSelect,
    )
    needs_met = forms.ChoiceField(
        label=_("Were your needs met?"),
        choices=[("yes", _("Yes")), ("partly", _("Partly")), ("no", _("No"))],
        widget=forms.RadioSelect,
    )
    felt_respected = forms.ChoiceField(
        label=_("Did you feel listened to and respected?"), choices=YES_NO_SKIPPED, required=False
    )
    felt_safe = forms.ChoiceField(
        label=_("Did you feel safe when receiving services?"),
        choices=YES_NO_SKIPPED,
        required=False,
    )
    confidentiality_kept = forms.ChoiceField(
        label=_("Was your information kept confidential?"), choices=YES_NO_SKIPPED, required=False
    )
    would_recommend = forms.ChoiceField(
        label=_("Would you recommend these services to someone in your situation?"),
        choices=YES_NO_SKIPPED,
        required=False,
    )
    comments = forms.CharField(
        label=_("What could we do better?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["interviewed_on"].initial = timezone.localdate()

    def answers(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("felt_respected", "felt_safe", "confidentiality_kept", "would_recommend"):
            data[name] = _yes_no(data[name])
        return data


class SurveyTasksForm(ServiceForm):
    """The "open survey tasks" button of the still-to-survey list: the period and scope shown."""

    period = forms.CharField(required=False, widget=forms.HiddenInput)
    scope = forms.CharField(required=False, widget=forms.HiddenInput)
