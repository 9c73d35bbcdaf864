"""HTML forms for the directory and referrals. They parse input; the rules live in services.py."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm
from casework.cases.models import Case
from casework.core.forms import DateInput, ServiceForm
from casework.reference.models import Location
from casework.referrals import services
from casework.referrals.models import (
    AccompanyingAdult,
    NoReferral,
    Organisation,
    Referral,
    ReferralMethod,
    Sector,
    Service,
    UnmetNeed,
    need_choices,
)


def _choices(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def _models(form: forms.Form, name: str) -> forms.ModelChoiceField:
    return cast(forms.ModelChoiceField, form.fields[name])


def _blank(choices: Any, label: Any = "—") -> list[tuple[str, Any]]:
    return [("", label), *choices]


def _locations() -> Any:
    return Location.objects.filter(is_active=True).order_by("adm1_code", "adm2_code", "adm3_code")


class LocationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Location) -> str:
        # Indent by level so the tree reads as a tree in a plain <select>.
        return "\u2003" * (obj.level - 1) + obj.label


class LocationMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Location) -> str:
        return "\u2003" * (obj.level - 1) + obj.label


class DirectorySearchForm(forms.Form):
    sector = forms.ChoiceField(
        label=_("Need or sector"), choices=_blank(Sector.choices, _("Any sector")), required=False
    )
    location = LocationChoiceField(
        label=_("Where"),
        queryset=Location.objects.none(),
        required=False,
        empty_label=_("Anywhere"),
    )
    age = forms.IntegerField(label=_("Client's age"), min_value=0, max_value=120, required=False)
    q = forms.CharField(label=_("Name contains"), max_length=100, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _models(self, "location").queryset = _locations()


class OrganisationForm(ServiceForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("The code consents use to name this organisation, e.g. HOPE."),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    agency = forms.ModelChoiceField(
        label=_("Partner agency in Casework"),
        queryset=Agency.objects.none(),
        required=False,
        help_text=_("Its partner users will receive referrals in their inbox."),
    )
    contact_person = forms.CharField(label=_("Contact person"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    referral_method = forms.ChoiceField(
        label=_("Prefers to receive referrals by"), choices=ReferralMethod.choices
    )
    has_agreement = forms.BooleanField(label=_("MOU or agreement in place"), required=False)
    quality_notes = forms.CharField(
        label=_("Quality notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, instance: Organisation | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "code": instance.code,
                    "name": instance.name,
                    "agency": instance.agency_id,
                    "contact_person": instance.contact_person,
                    "phone": instance.phone,
                    "email": instance.email,
                    "address": instance.address,
                    "referral_method": instance.referral_method,
                    "has_agreement": instance.has_agreement,
                    "quality_notes": instance.quality_notes,
                    "is_active": instance.is_active,
                },
            )
        super().__init__(*args, **kwargs)
        _models(self, "agency").queryset = Agency.objects.filter(
            kind=Agency.Kind.SERVICE_PROVIDER, is_active=True
        )

    def details(self) -> services.OrganisationDetails:
        data = self.cleaned_data
        return services.OrganisationDetails(
            code=data["code"],
            name=data["name"],
            agency=data["agency"],
            contact_person=data["contact_person"],
            phone=data["phone"],
            email=data["email"],
            address=data["address"],
            referral_method=data["referral_method"],
            has_agreement=data["has_agreement"],
            quality_notes=data["quality_notes"],
            is_active=data["is_active"],
        )


class DirectoryServiceForm(ServiceForm):
    name = forms.CharField(label=_("Service"), max_length=200)
    sector = forms.ChoiceField(label=_("Sector"), choices=Sector.choices)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    nationwide = forms.BooleanField(label=_("Serves the whole country"), required=False)
    locations = LocationMultipleChoiceField(
        label=_("Areas served"),
        queryset=Location.objects.none(),
        required=False,
        help_text=_("An area includes every smaller area inside it."),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    eligibility = forms.CharField(
        label=_("Eligibility"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    min_age = forms.IntegerField(label=_("Minimum age"), min_value=0, max_value=120, required=False)
    max_age = forms.IntegerField(label=_("Maximum age"), min_value=0, max_value=120, required=False)
    languages = forms.CharField(
        label=_("Languages"), max_length=200, required=False, help_text=_("Comma-separated.")
    )
    capacity_per_month = forms.IntegerField(
        label=_("New clients per month"), min_value=0, required=False
    )
    staffing = forms.CharField(
        label=_("Staffing"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    answer_within_days = forms.IntegerField(
        label=_("Answers referrals within (days)"), min_value=1, max_value=90, initial=5
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, instance: Service | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "sector": instance.sector,
                    "description": instance.description,
                    "nationwide": instance.nationwide,
                    "locations": [location.pk for location in instance.locations.all()],
                    "eligibility": instance.eligibility,
                    "min_age": instance.min_age,
                    "max_age": instance.max_age,
                    "languages": instance.languages,
                    "capacity_per_month": instance.capacity_per_month,
                    "staffing": instance.staffing,
                    "answer_within_days": instance.answer_within_days,
                    "is_active": instance.is_active,
                },
            )
        super().__init__(*args, **kwargs)
        _models(self, "locations").queryset = _locations()

    def details(self) -> services.ServiceDetails:
        data = self.cleaned_data
        return services.ServiceDetails(
            name=data["name"],
            sector=data["sector"],
            description=data["description"],
            nationwide=data["nationwide"],
            locations=list(data["locations"]),
            eligibility=data["eligibility"],
            min_age=data["min_age"],
            max_age=data["max_age"],
            languages=data["languages"],
            capacity_per_month=data["capacity_per_month"],
            staffing=data["staffing"],
            answer_within_days=data["answer_within_days"],
            is_active=data["is_active"],
        )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Spreadsheet (CSV or XLSX)"),
        help_text=_("One row per service; the first row names the columns."),
    )
    dry_run = forms.BooleanField(
        label=_("Only check the file (dry run)"), required=False, initial=True
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        return upload


class ServiceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Service) -> str:
        return f"{obj.organisation.name} — {obj.name} ({obj.get_sector_display()})"


class ReferralForm(ServiceForm):
    need_code = forms.ChoiceField(label=_("Need"), choices=need_choices)
    service = ServiceChoiceField(label=_("Service"), queryset=Service.objects.none())
    information = forms.MultipleChoiceField(
        label=_("Information to share"),
        choices=[(item.value, item.label) for item in services.INFORMATION_ORDER],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=list(services.DEFAULT_INFORMATION),
        help_text=_(
            "Share only what the service needs. The client's consent must cover each item for "
            "this organisation."
        ),
    )
    summary = forms.CharField(
        label=_("Case summary and what is needed"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shared with “Case summary and needs”."),
    )
    assessment_notes = forms.CharField(
        label=_("Assessment findings to share"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shared with “Assessment”, with the risk level and protection concerns."),
    )
    health_notes = forms.CharField(
        label=_("Health information to share"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shared with “Health information”."),
    )
    urgent = forms.BooleanField(label=_("Urgent"), required=False)
    accompanied_by = forms.ChoiceField(
        label=_("Accompanied by"), choices=_blank(AccompanyingAdult.choices), required=False
    )
    accompanied_by_name = forms.CharField(
        label=_("Name of the accompanying adult"), max_length=200, required=False
    )
    override_reason = forms.CharField(
        label=_("Reason to refer without the client's consent (supervisors only)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only when the client's consent does not cover this release. Audited."),
    )

    def __init__(
        self,
        *args: Any,
        case: Case,
        user: User,
        need_code: str = "",
        service_queryset: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "need_code").choices = need_choices(need_code)
        if need_code:
            self.fields["need_code"].initial = need_code
        _models(self, "service").queryset = (
            service_queryset
            if service_queryset is not None
            else Service.objects.active().select_related("organisation")
        )
        if not services.is_child(case):
            del self.fields["accompanied_by"]
            del self.fields["accompanied_by_name"]
        else:
            self.fields["accompanied_by"].required = True
            self.fields["accompanied_by_name"].required = True
        if not user.has_casework_perm(Perm.OVERRIDE_CONSENT):
            del self.fields["override_reason"]

    def details(self) -> services.ReferralDetails:
        data = self.cleaned_data
        return services.ReferralDetails(
            service=data["service"],
            need_code=data["need_code"],
            information=list(data["information"]),
            summary=data["summary"],
            assessment_notes=data["assessment_notes"],
            health_notes=data["health_notes"],
            urgent=data["urgent"],
            accompanied_by=data.get("accompanied_by") or "",
            accompanied_by_name=data.get("accompanied_by_name") or "",
            override_reason=data.get("override_reason") or "",
        )


class MoveForm(ServiceForm):
    status = forms.ChoiceField(label=_("What happened"), choices=Referral.Status.choices)
    comment = forms.CharField(
        label=_("Comment (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, statuses: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if statuses is not None:
            _choices(self, "status").choices = [(s, Referral.Status(s).label) for s in statuses]


class NoReferralNeededForm(ServiceForm):
    need_code = forms.ChoiceField(label=_("Need"), choices=need_choices)
    reason = forms.ChoiceField(
        label=_("Why no referral is needed"),
        choices=NoReferral.choices,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, need_code: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "need_code").choices = need_choices(need_code)
        if need_code:
            self.fields["need_code"].initial = need_code


class UnmetNeedForm(ServiceForm):
    """Record a service gap: the need, why no service answers it, and at which step."""

    need_code = forms.ChoiceField(label=_("Need"), choices=need_choices)
    reason = forms.ChoiceField(
        label=_("Why no service answers it"),
        choices=UnmetNeed.Reason.choices,
        widget=forms.RadioSelect,
    )
    step = forms.ChoiceField(label=_("Recorded at"), choices=UnmetNeed.Step.choices)
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self, *args: Any, need_code: str = "", step: str = "", reason: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "need_code").choices = need_choices(need_code)
        for name, value, allowed in (
            ("need_code", need_code, dict(need_choices())),
            ("step", step, UnmetNeed.Step.values),
            ("reason", reason, UnmetNeed.Reason.values),
        ):
            if value in allowed:
                self.fields[name].initial = value


class ResolveUnmetNeedForm(ServiceForm):
    resolved_on = forms.DateField(label=_("Service found on"), widget=DateInput())
