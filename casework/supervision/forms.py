"""The supervision forms: they parse input; the rules are the services'."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.accounts.models import User
from casework.accounts.roles import Role
from casework.cases import access as case_access
from casework.cases.models import OPEN_STATUSES, Case
from casework.core.forms import DateInput, ServiceForm, model_choice_field
from casework.supervision.models import SupervisionSession


class SessionForm(ServiceForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=SupervisionSession.Kind.choices)
    held_on = forms.DateField(label=_("Held on"), widget=DateInput())
    caseworkers = forms.ModelMultipleChoiceField(
        label=_("Caseworkers"), queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, supervisor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["held_on"].initial = timezone.localdate()
        model_choice_field(self, "caseworkers").queryset = (
            User.objects.filter(
                agency_id=supervisor.agency_id or 0,
                team_id=supervisor.team_id or 0,
                is_active=True,
                role__in=[Role.CASEWORKER, Role.SUPERVISOR],
            )
            .exclude(pk=supervisor.pk)
            .order_by("last_name", "first_name", "username")
        )


class DiscussedCaseForm(ServiceForm):
    case = forms.ModelChoiceField(label=_("Case"), queryset=Case.objects.none())
    decisions = forms.CharField(label=_("Decisions"), widget=forms.Textarea, required=False)

    def __init__(
        self, *args: Any, supervisor: User, session: SupervisionSession, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "case").queryset = (
            case_access.visible_cases(supervisor)
            .filter(status__in=OPEN_STATUSES, caseworker__in=session.caseworkers.all())
            .exclude(supervisions__session=session)
            .order_by("reference")
        )


class ActionForm(ServiceForm):
    case = forms.ModelChoiceField(label=_("Case"), queryset=Case.objects.none())
    text = forms.CharField(label=_("Action agreed"), widget=forms.Textarea)
    assignee = forms.ModelChoiceField(label=_("To be done by"), queryset=User.objects.none())
    due_on = forms.DateField(label=_("Due on"), widget=DateInput())

    def __init__(
        self, *args: Any, supervisor: User, session: SupervisionSession, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "case").queryset = (
            case_access.visible_cases(supervisor)
            .filter(supervisions__session=session)
            .order_by("reference")
        )
        people = list(session.caseworkers.values_list("pk", flat=True)) + [session.supervisor_id]
        model_choice_field(self, "assignee").queryset = User.objects.filter(pk__in=people).order_by(
            "last_name", "first_name", "username"
        )
