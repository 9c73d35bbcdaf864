"""HTML forms for cases. They parse and check input shape; the rules live in services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.accounts.models import Agency, User
from casework.accounts.roles import Role
from casework.cases import services
from casework.cases.corrections import RegistrationFacts
from casework.cases.models import (
    Case,
    ClosureReason,
    ContactType,
    IdentificationSource,
    ReleaseInformation,
    ReleasePurpose,
    RiskLevel,
    Screening,
    ServiceType,
    Status,
    YesNoPartly,
)
from casework.cases.models import Consent as ConsentModel
from casework.core.forms import DateInput, ServiceForm, choice_field, model_choice_field
from casework.people import services as people
from casework.people.matching import Query
from casework.people.models import MobilityStatus, Relationship, Sex, YesNoUnknown
from casework.reference.models import LabelledItem, Location, Programme, ProtectionConcern


def _blank(choices: Any, label: Any = "—") -> list[tuple[str, Any]]:
    return [("", label), *choices]


YES_NO = [("yes", _("Yes")), ("no", _("No"))]
# What a caregiver can be to a child (not the child's child or partner).
CAREGIVER_KINDS = [
    (kind.value, kind.label)
    for kind in (
        Relationship.Kind.PARENT,
        Relationship.Kind.OTHER_RELATIVE,
        Relationship.Kind.SIBLING,
        Relationship.Kind.CAREGIVER,
    )
]


PERSON_FIELDS = list(people.PERSON_FIELDS)
CASE_FACT_FIELDS = [
    "programme",
    "service_type",
    "identification_source",
    "identified_on",
    "primary_concern",
    "secondary_concerns",
    "location",
]


class PersonForm(ServiceForm):
    """A person's details, as registration asks them and a correction changes them."""

    given_name = forms.CharField(label=_("Given name"), max_length=100, required=False)
    family_name = forms.CharField(label=_("Family name"), max_length=100, required=False)
    other_names = forms.CharField(label=_("Other names"), max_length=200, required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices, initial=Sex.UNKNOWN)
    date_of_birth = forms.DateField(label=_("Date of birth"), required=False, widget=DateInput())
    estimated_age = forms.IntegerField(
        label=_("Estimated age (if the date of birth is not known)"),
        required=False,
        min_value=0,
        max_value=120,
    )
    nationality = forms.CharField(label=_("Nationality"), max_length=64, required=False)
    disability = forms.ChoiceField(
        label=_("Disability"), choices=YesNoUnknown.choices, initial=YesNoUnknown.UNKNOWN
    )
    mobility_status = forms.ChoiceField(
        label=_("Mobility status"), choices=MobilityStatus.choices, initial=MobilityStatus.UNKNOWN
    )
    languages = forms.CharField(label=_("Languages"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    address = forms.CharField(
        label=_("Address or whereabouts"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def person_details(self) -> people.PersonDetails:
        return people.PersonDetails(**{name: self.cleaned_data[name] for name in PERSON_FIELDS})


class CaseFactsForm(ServiceForm):
    """What registration records about the case."""

    programme = forms.ModelChoiceField(label=_("Programme"), queryset=Programme.objects.none())
    service_type = forms.ChoiceField(
        label=_("Service"), choices=ServiceType.choices, initial=ServiceType.CASE_MANAGEMENT
    )
    identification_source = forms.ChoiceField(
        label=_("Identified through"), choices=IdentificationSource.choices
    )
    identified_on = forms.DateField(label=_("Identified on"), widget=DateInput())
    primary_concern = forms.ModelChoiceField(
        label=_("Primary protection concern"),
        queryset=ProtectionConcern.objects.none(),
        required=False,
    )
    secondary_concerns = forms.ModelMultipleChoiceField(
        label=_("Other protection concerns"),
        queryset=ProtectionConcern.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    location = forms.ModelChoiceField(
        label=_("Location"), queryset=Location.objects.none(), required=False
    )

    def limit_choices(self, case: Case | None = None) -> None:
        """Items in use, and whatever the case already has (kept even if no longer in use)."""

        def in_use(model: type[LabelledItem], *current: int | None) -> Any:
            kept = [pk for pk in current if pk]
            return model._default_manager.filter(Q(is_active=True) | Q(pk__in=kept))

        concerns: list[int | None] = []
        if case is not None:
            concerns = [case.primary_concern_id, *(c.pk for c in case.secondary_concerns.all())]
        model_choice_field(self, "programme").queryset = in_use(
            Programme, case.programme_id if case else None
        )
        model_choice_field(self, "primary_concern").queryset = in_use(ProtectionConcern, *concerns)
        model_choice_field(self, "secondary_concerns").queryset = in_use(
            ProtectionConcern, *concerns
        )
        model_choice_field(self, "location").queryset = in_use(
            Location, case.location_id if case else None
        )


class OpeningForm(CaseFactsForm):
    """A new case for a person: its facts, who holds it, and the informed consent."""

    # The screening (and duplicate search) this registration follows, if it went through one.
    screening = forms.IntegerField(widget=forms.HiddenInput, required=False)

    risk_level = forms.ChoiceField(
        label=_("Initial risk level"),
        choices=_blank(RiskLevel.choices, _("Not assessed yet")),
        required=False,
    )
    caseworker = forms.ModelChoiceField(
        label=_("Caseworker"), queryset=User.objects.none(), required=False
    )
    # Consent
    consent_given_by = forms.ChoiceField(
        label=_("Consent given by"), choices=ConsentModel.GivenBy.choices
    )
    caregiver_given_name = forms.CharField(
        label=_("Caregiver's given name"), max_length=100, required=False
    )
    caregiver_family_name = forms.CharField(
        label=_("Caregiver's family name"), max_length=100, required=False
    )
    caregiver_relationship = forms.ChoiceField(
        label=_("Caregiver's relationship to the child"),
        choices=CAREGIVER_KINDS,
        required=False,
    )
    consent_child_assent = forms.ChoiceField(
        label=_("The child assents"), choices=_blank(YES_NO, _("Not applicable")), required=False
    )
    consent_receive_services = forms.BooleanField(
        label=_("Consents to receive case management services"), required=False
    )
    consent_share_for_referral = forms.BooleanField(
        label=_("Consents to information being shared for referral"), required=False
    )
    consent_recipients = forms.CharField(
        label=_("Organisations the client agrees to share with (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    consent_information = forms.MultipleChoiceField(
        label=_("Information that may be shared"),
        choices=ReleaseInformation.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=[ReleaseInformation.CASE_SUMMARY],
    )
    consent_anonymised_reporting = forms.BooleanField(
        label=_("Consents to be counted in anonymised reports"), required=False, initial=True
    )
    consent_method = forms.ChoiceField(
        label=_("How consent was recorded"), choices=ConsentModel.Method.choices
    )
    consent_given_on = forms.DateField(label=_("Consent given on"), widget=DateInput())

    sections = [
        (
            _("The case"),
            [*CASE_FACT_FIELDS[:-1], "risk_level", "location", "caseworker"],
        ),
        (
            _("Informed consent"),
            [
                "consent_given_by",
                "caregiver_given_name",
                "caregiver_family_name",
                "caregiver_relationship",
                "consent_child_assent",
                "consent_receive_services",
                "consent_share_for_referral",
                "consent_recipients",
                "consent_information",
                "consent_anonymised_reporting",
                "consent_method",
                "consent_given_on",
            ],
        ),
    ]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["identified_on"].initial = today
        self.fields["consent_given_on"].initial = today
        self.limit_choices()
        if user.role == Role.SUPERVISOR:
            model_choice_field(self, "caseworker").queryset = User.objects.filter(
                # By relation, not `_id`: the same SQL, and django-stubs lets only the relation
                # take None (IS NULL, what a user without a team or agency gets here).
                agency=user.agency_id,
                team=user.team_id,
                is_active=True,
                role__in=[Role.CASEWORKER, Role.SUPERVISOR],
            ).order_by("username")
        else:
            del self.fields["caseworker"]
        self.user = user

    def opening(
        self,
    ) -> tuple[services.CaseDetails, services.ConsentDetails, services.CaregiverDetails | None]:
        data = self.cleaned_data
        case = services.CaseDetails(
            programme=data["programme"],
            service_type=data["service_type"],
            identification_source=data["identification_source"],
            identified_on=data["identified_on"],
            primary_concern=data["primary_concern"],
            secondary_concerns=list(data["secondary_concerns"]),
            risk_level=data["risk_level"],
            location=data["location"],
            caseworker=data.get("caseworker"),
        )
        consent = consent_details_from(data)
        caregiver = None
        if data["caregiver_given_name"] or data["caregiver_family_name"]:
            caregiver = services.CaregiverDetails(
                given_name=data["caregiver_given_name"],
                family_name=data["caregiver_family_name"],
                relationship=data["caregiver_relationship"] or Relationship.Kind.CAREGIVER,
            )
        return case, consent, caregiver


class RegistrationForm(PersonForm, OpeningForm):
    """Registration of someone new: the person, then the case and the consent."""

    sections = [(_("The person"), PERSON_FIELDS), *OpeningForm.sections]

    def details(
        self,
    ) -> tuple[
        services.PersonDetails,
        services.CaseDetails,
        services.ConsentDetails,
        services.CaregiverDetails | None,
    ]:
        return (self.person_details(), *self.opening())


def consent_details_from(data: dict[str, Any]) -> services.ConsentDetails:
    assent = {"yes": True, "no": False}.get(data.get("consent_child_assent") or "")
    names = [line.strip() for line in (data.get("consent_recipients") or "").splitlines()]
    information = list(data.get("consent_information") or [])
    return services.ConsentDetails(
        receive_services=bool(data.get("consent_receive_services")),
        given_by=data["consent_given_by"],
        child_assent=assent,
        share_for_referral=bool(data.get("consent_share_for_referral")),
        anonymised_reporting=bool(data.get("consent_anonymised_reporting")),
        method=data["consent_method"],
        given_on=data["consent_given_on"],
        recipients=[
            services.RecipientDetails(
                organisation_name=name, purpose=ReleasePurpose.REFERRAL, information=information
            )
            for name in names
            if name
        ],
    )


class ConsentForm(ServiceForm):
    consent_given_by = OpeningForm.base_fields["consent_given_by"]
    caregiver_given_name = OpeningForm.base_fields["caregiver_given_name"]
    caregiver_family_name = OpeningForm.base_fields["caregiver_family_name"]
    caregiver_relationship = OpeningForm.base_fields["caregiver_relationship"]
    consent_child_assent = OpeningForm.base_fields["consent_child_assent"]
    consent_receive_services = OpeningForm.base_fields["consent_receive_services"]
    consent_share_for_referral = OpeningForm.base_fields["consent_share_for_referral"]
    consent_recipients = OpeningForm.base_fields["consent_recipients"]
    consent_information = OpeningForm.base_fields["consent_information"]
    consent_anonymised_reporting = OpeningForm.base_fields["consent_anonymised_reporting"]
    consent_method = OpeningForm.base_fields["consent_method"]
    consent_given_on = OpeningForm.base_fields["consent_given_on"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["consent_given_on"].initial = timezone.localdate()

    def caregiver(self) -> services.CaregiverDetails | None:
        data = self.cleaned_data
        if not (data["caregiver_given_name"] or data["caregiver_family_name"]):
            return None
        return services.CaregiverDetails(
            given_name=data["caregiver_given_name"],
            family_name=data["caregiver_family_name"],
            relationship=data["caregiver_relationship"] or Relationship.Kind.CAREGIVER,
        )


SEARCH_FIELDS = [
    "given_name",
    "family_name",
    "other_names",
    "sex",
    "date_of_birth",
    "estimated_age",
]


class ScreeningForm(ServiceForm):
    """Identification's first step: is the person eligible, and are they registered already?
    Only the fields the search needs; nothing typed here is kept unless a case follows."""

    outcome = forms.ChoiceField(
        label=_("Screening outcome"),
        choices=Screening.Outcome.choices,
        initial=Screening.Outcome.ELIGIBLE,
    )
    reason = forms.ChoiceField(
        label=_("Why not eligible"),
        choices=_blank(Screening.Reason.choices),
        required=False,
    )
    referred_to = forms.CharField(
        label=_("Referred to (organisation)"), max_length=200, required=False
    )
    given_name = PersonForm.base_fields["given_name"]
    family_name = PersonForm.base_fields["family_name"]
    other_names = PersonForm.base_fields["other_names"]
    sex = PersonForm.base_fields["sex"]
    date_of_birth = PersonForm.base_fields["date_of_birth"]
    estimated_age = PersonForm.base_fields["estimated_age"]

    sections = [
        (_("Screening"), ["outcome", "reason", "referred_to"]),
        (_("Look for the person first"), SEARCH_FIELDS),
    ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("outcome") == Screening.Outcome.ELIGIBLE and not (
            (data.get("given_name") or "").strip() or (data.get("family_name") or "").strip()
        ):
            self.add_error("given_name", _("Enter at least a given name or a family name."))
        return data

    def query(self) -> Query:
        data = self.cleaned_data
        return Query(
            given_name=data["given_name"],
            family_name=data["family_name"],
            other_names=data["other_names"],
            sex=data["sex"],
            date_of_birth=data["date_of_birth"],
            estimated_age=data["estimated_age"],
        )


class CorrectionForm(PersonForm, CaseFactsForm):
    """The case page's correction: the person's details and the case's registration facts, as
    they are now, to be changed where they were wrong, with the reason."""

    registered_on = forms.DateField(label=_("Registered on"), required=False, widget=DateInput())
    reason = forms.CharField(
        label=_("Why these details are corrected"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept with the history of the record, with what the details said before."),
    )
    case_version = forms.IntegerField(widget=forms.HiddenInput)
    person_version = forms.IntegerField(widget=forms.HiddenInput)

    sections = [
        (_("The person"), PERSON_FIELDS),
        (_("The case"), [*CASE_FACT_FIELDS[:4], "registered_on", *CASE_FACT_FIELDS[4:]]),
        ("", ["reason"]),
    ]

    def __init__(self, data: Any = None, *, case: Case) -> None:
        person = case.person
        initial = {name: getattr(person, name) for name in PERSON_FIELDS}
        initial |= {
            name: getattr(case, name)
            for name in ("programme", "service_type", "identification_source", "identified_on")
        }
        initial |= {
            "registered_on": case.registered_on,
            "primary_concern": case.primary_concern,
            "secondary_concerns": list(case.secondary_concerns.all()),
            "location": case.location,
            "case_version": case.version,
            "person_version": person.version,
        }
        super().__init__(data, initial=initial)
        self.limit_choices(case)
        if case.registered_on is None:
            del self.fields["registered_on"]

    def facts(self) -> RegistrationFacts:
        data = self.cleaned_data
        return RegistrationFacts(
            programme=data["programme"],
            service_type=data["service_type"],
            identification_source=data["identification_source"],
            identified_on=data["identified_on"],
            registered_on=data.get("registered_on"),
            primary_concern=data["primary_concern"],
            secondary_concerns=list(data["secondary_concerns"]),
            location=data["location"],
        )


class RelativeForm(ServiceForm):
    """Someone of the client's family or household, recorded as a person linked to the client."""

    kind = forms.ChoiceField(
        label=_("Relationship to the client"), choices=Relationship.Kind.choices
    )
    is_caregiver = forms.BooleanField(label=_("Cares for the client"), required=False)
    given_name = PersonForm.base_fields["given_name"]
    family_name = PersonForm.base_fields["family_name"]
    sex = PersonForm.base_fields["sex"]
    estimated_age = forms.IntegerField(
        label=_("Age (estimated)"), required=False, min_value=0, max_value=120
    )
    phone = PersonForm.base_fields["phone"]


class LinkForm(ServiceForm):
    """A link to someone already registered, by their person number (not their name)."""

    reference = forms.CharField(label=_("Their person number"), max_length=64)
    kind = RelativeForm.base_fields["kind"]
    is_caregiver = RelativeForm.base_fields["is_caregiver"]


class WithdrawConsentForm(ServiceForm):
    withdrawn_on = forms.DateField(label=_("Withdrawn on"), widget=DateInput())
    reason = forms.CharField(
        label=_("Reason (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["withdrawn_on"].initial = timezone.localdate()


class NoteForm(ServiceForm):
    contact_on = forms.DateField(label=_("Date"), widget=DateInput())
    contact_type = forms.ChoiceField(label=_("Contact"), choices=ContactType.choices)
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 5}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact_on"].initial = timezone.localdate()


class TransitionForm(ServiceForm):
    to = forms.ChoiceField(label=_("Move the case to"), choices=Status.choices)
    closure_reason = forms.ChoiceField(
        label=_("Reason for closure"), choices=_blank(ClosureReason.choices), required=False
    )
    reason = forms.CharField(
        label=_("Reason or comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, moves: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if moves is not None:
            choice_field(self, "to").choices = [(m, Status(m).label) for m in moves]


class CaseloadFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=_blank(Status.choices, _("All open")), required=False
    )
    risk = forms.ChoiceField(
        label=_("Risk"), choices=_blank(RiskLevel.choices, _("Any risk")), required=False
    )
    q = forms.CharField(label=_("Name or reference"), required=False, max_length=100)


# --- follow-up, reassignment, transfer, closure ---------------------------------------------------


class FollowUpForm(ServiceForm):
    occurred_on = forms.DateField(label=_("Date"), widget=DateInput())
    contact_type = forms.ChoiceField(label=_("Contact"), choices=ContactType.choices)
    service_received = forms.ChoiceField(
        label=_("Did the client receive the services planned or referred?"),
        choices=YesNoPartly.choices,
        initial=YesNoPartly.NOT_APPLICABLE,
    )
    satisfied = forms.ChoiceField(
        label=_("Is the client satisfied with the services?"),
        choices=YesNoPartly.choices,
        initial=YesNoPartly.NOT_APPLICABLE,
    )
    new_needs = forms.BooleanField(label=_("New needs"), required=False)
    risk_changed = forms.BooleanField(label=_("New or changed risks"), required=False)
    new_risk_level = forms.ChoiceField(
        label=_("Risk level now"), choices=_blank(RiskLevel.choices), required=False
    )
    reassessment_needed = forms.BooleanField(label=_("Open a reassessment"), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["occurred_on"].initial = timezone.localdate()


class ReassignForm(ServiceForm):
    caseworker = forms.ModelChoiceField(label=_("New caseworker"), queryset=User.objects.none())
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, team_id: int, agency_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "caseworker").queryset = User.objects.filter(
            agency_id=agency_id,
            team_id=team_id,
            is_active=True,
            role__in=[Role.CASEWORKER, Role.SUPERVISOR],
        ).order_by("username")


class TransferForm(ServiceForm):
    to_agency = forms.ModelChoiceField(label=_("Receiving agency"), queryset=Agency.objects.none())
    reason = forms.CharField(
        label=_("Reason for the transfer"), widget=forms.Textarea(attrs={"rows": 2})
    )
    summary = forms.CharField(
        label=_("Summary shared with the receiving agency"),
        help_text=_("Share the minimum the receiving agency needs to decide."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    override_reason = forms.CharField(
        label=_("Override the consent check (supervisors only): why"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, agency_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "to_agency").queryset = Agency.objects.filter(
            is_active=True, kind=Agency.Kind.CASE_MANAGEMENT
        ).exclude(pk=agency_id)


class TransferDecisionForm(ServiceForm):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("accept", _("Accept")), ("refuse", _("Refuse"))]
    )
    caseworker = forms.ModelChoiceField(
        label=_("Caseworker who takes the case"), queryset=User.objects.none(), required=False
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model_choice_field(self, "caseworker").queryset = User.objects.filter(
            # By relation, not `_id`, as in RegistrationForm.
            agency=user.agency_id,
            team=user.team_id,
            is_active=True,
            role__in=[Role.CASEWORKER, Role.SUPERVISOR],
        ).order_by("username")


class ClosureForm(ServiceForm):
    reason = forms.ChoiceField(label=_("Reason for closure"), choices=_blank(ClosureReason.choices))
    goals_reviewed = forms.BooleanField(
        label=_("Final review of the plan's goals done with the client"), required=False
    )
    closure_explained = forms.BooleanField(
        label=_("Closure explained to the client, including that they can come back"),
        required=False,
    )
    follow_up_arranged = forms.BooleanField(
        label=_("Follow-up arrangements made (or recorded as not needed)"), required=False
    )
    follow_up_arrangements = forms.CharField(
        label=_("Follow-up arrangements"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    best_interests = forms.CharField(
        label=_("Best-interests consideration (a child's closure on request)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    summary = forms.CharField(
        label=_("Closing summary"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class DecisionForm(ServiceForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve")), ("return", _("Return with comments"))],
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
