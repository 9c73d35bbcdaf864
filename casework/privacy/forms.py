"""Forms of the data-protection officer's desk. They check the shape of the input; the rules are
the services' (casework/privacy/services.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from casework.accounts.models import User
from casework.audit.models import AuditEntry
from casework.core.forms import DateInput, ServiceForm, choice_field, model_choice_field
from casework.privacy.models import AccessPackage, DataRequest
from casework.privacy.package import WITHHELD_UNLESS_INCLUDED
from casework.privacy.selectors import LogFilter


class LogFilterForm(forms.Form):
    """The audit log's filter, read from the query string (a case reference and codes: no names)."""

    user = forms.TypedChoiceField(label=_("User"), required=False, coerce=int, empty_value=None)
    case = forms.CharField(label=_("Case reference"), required=False, max_length=64)
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=64,
        validators=[RegexValidator(r"^[a-z0-9_.]+$", _("An action code, e.g. cases.case."))],
        help_text=_("The start of an action code, e.g. cases.case or privacy."),
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("Any")), *AuditEntry.Outcome.choices],
    )
    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("Until"), required=False, widget=DateInput())
    case_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, users: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "user").choices = [("", _("Anyone"))] + [
            (user.pk, f"{user.username} ({user.get_role_display()})") for user in users
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end comes after the start."))
        return self.cleaned_data

    def filters(self) -> LogFilter:
        """The filter asked for (an invalid form filters on its valid fields only)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return LogFilter(
            actor_id=data.get("user") or None,
            case_reference=(data.get("case") or "").strip(),
            case_id=data.get("case_id"),
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            since=data.get("since"),
            until=data.get("until"),
        )


class SettingsForm(ServiceForm):
    response_days = forms.IntegerField(label=_("Days to answer a request"), min_value=1)
    unusual_reads = forms.IntegerField(
        label=_("Alert when one user reads this many different case files …"), min_value=1
    )
    unusual_reads_hours = forms.IntegerField(label=_("… within (hours)"), min_value=1)


class RequestForm(ServiceForm):
    kind = forms.ChoiceField(label=_("Kind of request"), choices=DataRequest.Kind.choices)
    requested_by = forms.ChoiceField(label=_("Made by"), choices=DataRequest.RequestedBy.choices)
    received_on = forms.DateField(label=_("Received on"), widget=DateInput())
    identifier = forms.CharField(
        label=_("Person number or case reference"),
        required=False,
        max_length=64,
        help_text=_(
            "The agency's number for the person, or one of their case references; never a name. "
            "Leave empty if the agency holds nothing on the requester."
        ),
    )
    handler = forms.ModelChoiceField(
        label=_("Handled by"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args: Any, handlers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "handler").queryset = handlers


class HandlerForm(ServiceForm):
    handler = forms.ModelChoiceField(label=_("Handled by"), queryset=User.objects.none())

    def __init__(self, *args: Any, handlers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "handler").queryset = handlers


class CloseForm(ServiceForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=DataRequest.Outcome.choices)


class CorrectionsForm(ServiceForm):
    corrections = forms.MultipleChoiceField(
        label=_("Corrections that answered the request"),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "corrections").choices = choices


class EraseForm(ServiceForm):
    confirm = forms.BooleanField(
        label=_(
            "I confirm: the person's names, contacts, birth date and every note about them are "
            "erased for good."
        )
    )


class ReviewForm(ServiceForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve for release")), ("return", _("Return"))],
        widget=forms.RadioSelect,
    )
    withheld = forms.MultipleChoiceField(
        label=_("Items to withhold"), required=False, widget=forms.CheckboxSelectMultiple
    )
    withheld_reason = forms.ChoiceField(
        label=_("Why items are withheld"),
        required=False,
        choices=[("", "—"), *AccessPackage.WithholdReason.choices],
    )
    include_fields = forms.MultipleChoiceField(
        label=_("Release as well (left out unless chosen)"),
        required=False,
        choices=list(WITHHELD_UNLESS_INCLUDED.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    return_reason = forms.ChoiceField(
        label=_("Why it is returned"),
        required=False,
        choices=[("", "—"), *AccessPackage.ReturnReason.choices],
    )

    def __init__(self, *args: Any, item_keys: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "withheld").choices = [(key, key) for key in item_keys]
