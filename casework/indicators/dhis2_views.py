"""The DHIS2 mapping screen: which data element and category option combo each published figure
(indicator × disaggregation × key × figure) goes to, and what a period's report leaves unmapped.
M&E officers and programme managers (Perm.FREEZE_REPORTS); anyone else gets a 404."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from casework.accounts.access import agency_of, require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.core.forms import ServiceForm
from casework.core.views import run_service_form
from casework.indicators import dhis2, services
from casework.indicators.dimensions import parse_by
from casework.indicators.models import Dhis2Mapping
from casework.indicators.periods import last_complete_quarter
from casework.indicators.selectors import load_specs


class MappingForm(ServiceForm):
    indicator_code = forms.ChoiceField(label=gettext_lazy("Indicator"))
    disaggregation = forms.CharField(
        label=gettext_lazy("Disaggregation"),
        required=False,
        max_length=80,
        help_text=gettext_lazy("Empty for the total; e.g. sex, or sex+age_group."),
    )
    key = forms.CharField(
        label=gettext_lazy("Key"),
        required=False,
        max_length=120,
        help_text=gettext_lazy("Empty for the total; e.g. female, or female+0-17."),
    )
    figure = forms.ChoiceField(label=gettext_lazy("Figure"), choices=Dhis2Mapping.Figure.choices)
    data_element = forms.CharField(label=gettext_lazy("Data element"), max_length=11)
    category_option_combo = forms.CharField(
        label=gettext_lazy("Category option combo"), max_length=11, required=False
    )
    attribute_option_combo = forms.CharField(
        label=gettext_lazy("Attribute option combo"), max_length=11, required=False
    )
    org_unit = forms.CharField(label=gettext_lazy("Organisation unit"), max_length=11)

    def __init__(self, *args: Any, codes: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["indicator_code"])
        field.choices = [(code, code) for code in codes]


def _mapped_user(request: AuthenticatedHttpRequest) -> Any:
    user = require_perm(request.user, Perm.FREEZE_REPORTS)
    agency_of(user)
    return user


@login_required
@require_http_methods(["GET", "POST"])
def mappings(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = _mapped_user(request)
    agency_id = agency_of(user)
    specs = load_specs(agency_id)
    form = MappingForm(request.POST or None, codes=[spec.code for spec in specs])
    period = last_complete_quarter(timezone.localdate())
    rows = list(Dhis2Mapping.objects.filter(agency_id=agency_id))
    # What the last quarter's report (by sex and age group) publishes that nothing maps.
    report = services.report_for(user, period=period, by=parse_by(["sex", "age_group"]))
    unmapped, sent = dhis2.missing(report, rows)
    return run_service_form(
        request,
        form,
        lambda data: dhis2.add_mapping(by=user, **data),
        success=_("The figure is mapped."),
        redirect_to=lambda _mapping: redirect("indicators:dhis2_mappings"),
        template="indicators/dhis2_mappings.html",
        context={"mappings": rows, "unmapped": unmapped, "sent": sent, "period": period},
    )


@login_required
@require_POST
def delete_mapping(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = _mapped_user(request)
    mapping = Dhis2Mapping.objects.filter(agency_id=agency_of(user), pk=pk).first()
    if mapping is None:
        raise Http404(_("Not found."))
    dhis2.remove_mapping(mapping, by=user)
    messages.success(request, _("The mapping is removed."))
    return redirect("indicators:dhis2_mappings")
