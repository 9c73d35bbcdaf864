"""The service directory and referrals (seed 003 steps 3–4; seed 004 "coordination").

The directory (`Organisation`, `Service`) is the service mapping a caseworker needs to plan:
what exists, where, for whom, of what quality, and how each organisation wants to be referred
to. A `Referral` links one need of a case to one service; its status changes are `ReferralEvent`
rows, and it carries an encrypted snapshot of exactly what was shared, which is all a partner
organisation ever sees of the case. `NoReferralNeeded` records the seed's situations that need no
referral; `UnmetNeed` records a need no available, accessible or accepted service answers (a
service not available locally is one of these).
"""

from __future__ import annotations

import datetime
import json
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from casework.cases.models import ReleaseInformation, RiskLevel
from casework.core.models import TimeStampedModel
from casework.people.models import Sex
from casework.vault.crypto import Unreadable
from casework.vault.fields import EncryptedCharField, EncryptedTextField


class Sector(models.TextChoices):
    """What a service does. Plan needs use the same codes where they can ("health", "legal" …)."""

    HEALTH = "health", _("Health")
    MENTAL_HEALTH = "mental_health", _("Mental health and psychosocial support")
    LEGAL = "legal", _("Legal aid")
    SHELTER = "shelter", _("Shelter and safe accommodation")
    EDUCATION = "education", _("Education")
    LIVELIHOODS = "livelihoods", _("Livelihoods")
    CASH = "cash", _("Cash assistance")
    DOCUMENTATION = "documentation", _("Civil documentation")
    FOOD = "food", _("Food and nutrition")
    WASH = "wash", _("Water, sanitation and hygiene")
    PROTECTION = "protection", _("Safety and protection")
    GBV = "gbv", _("GBV response")
    CHILD_PROTECTION = "child_protection", _("Child protection")
    FAMILY_TRACING = "family_tracing", _("Family tracing and reunification")
    OTHER = "other", _("Other")


need_code_validator = RegexValidator(
    r"^[a-z0-9_]{1,40}$", _("A need code is lower-case letters, digits and underscores.")
)


# Plan needs use the assessment domains (casework.plans NeedDomain: plain codes, shared without an
# import). Those that are not a sector code are answered by several sectors.
NEED_SECTORS: dict[str, list[str]] = {
    "health": [Sector.HEALTH, Sector.MENTAL_HEALTH],
    "safety_legal": [Sector.PROTECTION, Sector.LEGAL, Sector.DOCUMENTATION],
    "livelihoods": [Sector.LIVELIHOODS, Sector.CASH],
    "education": [Sector.EDUCATION],
    "gbv": [Sector.GBV],
}
OTHER_NEEDS = {"safety_legal": _("Safety, protection & legal status")}


def sectors_for_need(need_code: str) -> list[str]:
    """The directory sectors whose services answer a plan need ([] for an unknown need)."""
    if need_code in NEED_SECTORS:
        return [str(sector) for sector in NEED_SECTORS[need_code]]
    return [need_code] if need_code in Sector.values else []


def need_label(need_code: str) -> str:
    if need_code in Sector.values:
        return str(Sector(need_code).label)
    return str(OTHER_NEEDS.get(need_code, need_code))


def need_choices(extra: str = "") -> list[tuple[str, str]]:
    """Needs a referral can answer: every sector and the plan domains that are not one."""
    choices = [(str(code), str(label)) for code, label in Sector.choices]
    choices += [(code, str(label)) for code, label in OTHER_NEEDS.items()]
    if extra and extra not in dict(choices):
        choices.append((extra, extra))
    return choices


class ReferralMethod(models.TextChoices):
    """How an organisation prefers to receive referrals (seed 003: "agree on referral method")."""

    FORM = "form", _("Referral form")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    IN_PERSON = "in_person", _("In person")


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def active(self) -> OrganisationQuerySet:
        return self.filter(is_active=True)


class Organisation(TimeStampedModel):
    """A service provider in the directory. Its code is what consents name (ConsentRecipient)."""

    # The service directory belongs to the instance, not to an agency: instance keys.
    vault_agency: ClassVar[str | None] = None

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Z0-9][A-Z0-9_-]{1,39}$",
                _("2–40 capital letters, digits, hyphens or underscores."),
            )
        ],
        help_text=_("The code consents use to name this organisation."),
    )
    name = models.CharField(_("name"), max_length=200)
    # Set when the organisation's own staff use Casework: its partner users answer referrals in
    # their inbox. Without it, the caseworker records the answer given by phone or e-mail.
    agency = models.ForeignKey(
        "accounts.Agency",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="directory_organisations",
        verbose_name=_("partner agency in Casework"),
    )
    contact_person = models.CharField(_("contact person"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    referral_method = models.CharField(
        _("prefers to receive referrals by"),
        max_length=10,
        choices=ReferralMethod.choices,
        default=ReferralMethod.FORM,
    )
    has_agreement = models.BooleanField(_("MOU or agreement in place"), default=False)
    # Staff judgements about a partner (seed 003: know "their quality"): encrypted like notes.
    quality_notes = EncryptedTextField(_("quality notes"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        ordering = ["name", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ServiceQuerySet(models.QuerySet["Service"]):
    def active(self) -> ServiceQuerySet:
        return self.filter(is_active=True, organisation__is_active=True)

    def for_sector(self, sector: str) -> ServiceQuerySet:
        return self.filter(sector=sector) if sector else self

    def for_need(self, need_code: str) -> ServiceQuerySet:
        return self.filter(sector__in=sectors_for_need(need_code)) if need_code else self

    def serving(self, location: Any) -> ServiceQuerySet:
        """Services available in `location`: nationwide, or serving it or any area containing it.

        The area's own code and its ancestors' are denormalised on Location (adm1/2/3 codes), so
        this is one join, not a walk up the tree.
        """
        if location is None:
            return self
        codes = [code for code in location.ancestor_codes().values() if code]
        codes.append(location.code)
        return self.filter(
            models.Q(nationwide=True)
            | models.Q(
                pk__in=Service.locations.through.objects.filter(location__code__in=codes).values(
                    "service_id"
                )
            )
        )


class Service(TimeStampedModel):
    # The service directory belongs to the instance, not to an agency: instance keys.
    vault_agency: ClassVar[str | None] = None

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="services"
    )
    name = models.CharField(_("service"), max_length=200)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices)
    description = EncryptedTextField(_("description"), blank=True)
    nationwide = models.BooleanField(
        _("serves the whole country"), default=False, help_text=_("Otherwise list the areas.")
    )
    locations = models.ManyToManyField(
        "reference.Location",
        blank=True,
        related_name="+",
        verbose_name=_("areas served"),
        help_text=_("An area includes every smaller area inside it."),
    )
    eligibility = EncryptedTextField(_("eligibility"), blank=True)
    min_age = models.PositiveSmallIntegerField(_("minimum age"), null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(_("maximum age"), null=True, blank=True)
    languages = models.CharField(
        _("languages"), max_length=200, blank=True, help_text=_("Comma-separated.")
    )
    capacity_per_month = models.PositiveIntegerField(
        _("new clients per month"), null=True, blank=True
    )
    staffing = EncryptedTextField(_("staffing"), blank=True)
    answer_within_days = models.PositiveSmallIntegerField(
        _("answers referrals within (days)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("The agreed time; an unanswered referral is overdue after it."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("service")
        ordering = ["organisation__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="service_name_unique_in_organisation"
            )
        ]
        indexes = [models.Index(fields=["sector", "is_active"], name="service_sector")]

    def __str__(self) -> str:
        return f"{self.name} · {self.organisation.name}"

    @property
    def language_list(self) -> list[str]:
        return [part.strip() for part in self.languages.split(",") if part.strip()]


class AccompanyingAdult(models.TextChoices):
    """Who goes with a child to the service (seed 003: every person under 18 is accompanied)."""

    CAREGIVER = "caregiver", _("Parent or caregiver")
    RELATIVE = "relative", _("Other relative")
    CASEWORKER = "caseworker", _("Caseworker")
    TRUSTED_ADULT = "trusted_adult", _("Other trusted adult")


# How a referral's snapshot is shown: its sections least revealing first, and each value's label.
SHARED_SECTIONS = [
    ReleaseInformation.CASE_SUMMARY,
    ReleaseInformation.ASSESSMENT,
    ReleaseInformation.HEALTH,
    ReleaseInformation.CONTACT,
    ReleaseInformation.IDENTITY,
]
SHARED_FIELD_LABELS = {
    "sex": _("Sex"),
    "age": _("Age"),
    "languages": _("Languages"),
    "summary": _("Summary and what is needed"),
    "risk_level": _("Risk level"),
    "protection_concerns": _("Protection concerns"),
    "notes": _("Notes"),
    "phone": _("Phone"),
    "address": _("Address or whereabouts"),
    "given_name": _("Given name"),
    "family_name": _("Family name"),
    "other_names": _("Other names"),
    "date_of_birth": _("Date of birth"),
}


def _shown(name: str, value: Any) -> str:
    if value in (None, "", []):
        return "—"
    if name == "sex" and value in Sex.values:
        return str(Sex(value).label)
    if name == "risk_level" and value in RiskLevel.values:
        return str(RiskLevel(value).label)
    if name == "date_of_birth":
        try:
            return formats.date_format(datetime.date.fromisoformat(value), "DATE_FORMAT")
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


class ReferralQuerySet(models.QuerySet["Referral"]):
    def awaiting_answer(self) -> ReferralQuerySet:
        return self.filter(status=Referral.Status.SENT)

    def overdue(self, now: datetime.datetime | None = None) -> ReferralQuerySet:
        return self.awaiting_answer().filter(answer_due_at__lt=now or timezone.now())


class Referral(TimeStampedModel):
    vault_agency: ClassVar[str | None] = "case__agency"

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        DELIVERED = "delivered", _("Service delivered")
        CANCELLED = "cancelled", _("Cancelled")

    # Where each status may go next. Declined, delivered and cancelled are final: a new attempt
    # is a new referral, so that each one keeps its own history.
    MOVES: dict[str, frozenset[str]] = {
        Status.SENT: frozenset({Status.ACCEPTED, Status.DECLINED, Status.CANCELLED}),
        Status.ACCEPTED: frozenset({Status.DELIVERED, Status.CANCELLED}),
    }
    # The statuses the receiving organisation reports; cancelling belongs to the sender.
    ANSWERS = frozenset({Status.ACCEPTED, Status.DECLINED, Status.DELIVERED})

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="referrals")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="referrals")
    # The service's organisation, kept on the row: the partner's scope filters on it.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="referrals"
    )
    need_code = models.CharField(_("need"), max_length=40, validators=[need_code_validator])
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SENT
    )
    urgent = models.BooleanField(_("urgent"), default=False)
    # Optimistic locking (the API's ETag): every change of status bumps it.
    version = models.PositiveIntegerField(default=1)
    # ReleaseInformation codes the caseworker chose to share, and the snapshot of exactly that
    # information (JSON, encrypted) taken when it was sent: the partner sees this, never the case.
    information = models.JSONField(_("information shared"), default=list, blank=True)
    shared = EncryptedTextField(_("shared information"), blank=True)
    # The authority for the release: the consent that covered it, or an override with a reason.
    consent = models.ForeignKey(
        "cases.Consent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consent_overridden = models.BooleanField(default=False)
    override_reason = EncryptedTextField(_("reason for overriding consent"), blank=True)
    accompanied_by = models.CharField(
        _("accompanied by"), max_length=16, choices=AccompanyingAdult.choices, blank=True
    )
    accompanied_by_name = EncryptedCharField(
        _("name of the accompanying adult"), max_length=200, blank=True
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent"))
    answer_due_at = models.DateTimeField(_("answer due"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    # When the periodic check put the overdue referral on the caseworker's task list (once).
    overdue_flagged_at = models.DateTimeField(null=True, blank=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        verbose_name = _("referral")
        ordering = ["-sent_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "status", "sent_at"], name="referral_inbox"),
            models.Index(fields=["status", "answer_due_at"], name="referral_awaiting"),
            models.Index(fields=["case", "sent_at"], name="referral_case"),
        ]

    def __str__(self) -> str:
        return f"referral {self.pk}"

    def can_move_to(self, status: str) -> bool:
        return status in self.MOVES.get(self.status, frozenset())

    def can_be_accepted(self) -> bool:
        return self.can_move_to(self.Status.ACCEPTED)

    @property
    def next_statuses(self) -> list[str]:
        return [s for s in self.Status.values if self.can_move_to(s)]

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.SENT, self.Status.ACCEPTED)

    def is_overdue(self, now: datetime.datetime | None = None) -> bool:
        return self.status == self.Status.SENT and self.answer_due_at < (now or timezone.now())

    @property
    def shared_information(self) -> dict[str, Any]:
        """The snapshot as sent ({} once retention or a purge made it unreadable)."""
        if not self.shared or isinstance(self.shared, Unreadable):
            return {}
        try:
            value = json.loads(self.shared)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def shared_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """[(section label, [(field label, value shown)])] of the snapshot, for display."""
        sections = self.shared_information.get("sections") or {}
        shown = []
        for key in SHARED_SECTIONS:
            section = sections.get(key)
            if not isinstance(section, dict):
                continue
            rows = [
                (str(SHARED_FIELD_LABELS.get(name, name)), _shown(name, value))
                for name, value in section.items()
            ]
            shown.append((str(ReleaseInformation(key).label), rows))
        return shown

    @property
    def shared_accompanied_by(self) -> tuple[str, str] | None:
        """(relationship, name or "") of the adult accompanying a child, as shared."""
        adult = self.shared_information.get("accompanied_by")
        if not isinstance(adult, dict) or adult.get("relationship") not in AccompanyingAdult.values:
            return None
        return str(AccompanyingAdult(adult["relationship"]).label), str(adult.get("name") or "")

    @property
    def partner_may_read_shared(self) -> bool:
        """Whether the receiving organisation may still read the snapshot.

        Data minimisation: once declined or cancelled it has no use for the details; and a
        withdrawn consent stops disclosure from that day, including reading what was sent.
        """
        if self.status not in (self.Status.SENT, self.Status.ACCEPTED, self.Status.DELIVERED):
            return False
        return self.consent is None or self.consent.withdrawn_on is None

    @property
    def need_label(self) -> str:
        return need_label(self.need_code)


class ReferralEvent(models.Model):
    """One status of a referral: who, when, and an optional comment. Never edited."""

    vault_agency: ClassVar[str | None] = "referral__case__agency"

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(_("status"), max_length=10, choices=Referral.Status.choices)
    at = models.DateTimeField(_("when"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    comment = EncryptedTextField(_("comment"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["referral", "at"], name="referral_event_time")]

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.status}"


class NoReferral(models.TextChoices):
    """What the "no referral" screen and API offer: the seed's three situations. The third is
    a service gap, so it is recorded as an UnmetNeed (reason "no service"), not here."""

    ACCESSES_WITHOUT_HELP = "accesses_without_help", _("Accesses the service without help")
    ALREADY_RECEIVING = "already_receiving", _("Already receiving the service")
    NOT_AVAILABLE_LOCALLY = "not_available_locally", _("Service not available locally")


class NoReferralNeeded(models.Model):
    """A need that calls for no referral, and why (seed 003: situations that do not require
    any type of referral). A service not available locally is an UnmetNeed instead."""

    vault_agency: ClassVar[str | None] = "case__agency"

    class Reason(models.TextChoices):
        ACCESSES_WITHOUT_HELP = "accesses_without_help", _("Accesses the service without help")
        ALREADY_RECEIVING = "already_receiving", _("Already receiving the service")

    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="referrals_not_needed"
    )
    need_code = models.CharField(_("need"), max_length=40, validators=[need_code_validator])
    reason = models.CharField(_("reason"), max_length=24, choices=Reason.choices)
    note = EncryptedTextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"))

    class Meta:
        verbose_name = _("no referral needed")
        verbose_name_plural = _("no referral needed")
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["case", "recorded_at"], name="no_referral_case")]

    def __str__(self) -> str:
        return f"{self.need_code}: {self.reason}"

    @property
    def need_label(self) -> str:
        return need_label(self.need_code)


class UnmetNeedQuerySet(models.QuerySet["UnmetNeed"]):
    def still_open(self) -> UnmetNeedQuerySet:
        return self.filter(resolved_on__isnull=True)

    def open_during(self, start: datetime.date, end: datetime.date) -> UnmetNeedQuerySet:
        """Gaps that stood at some time between `start` and `end` (both included): recorded by
        the end and not resolved before the start."""
        return self.filter(recorded_on__lte=end).filter(
            models.Q(resolved_on__isnull=True) | models.Q(resolved_on__gte=start)
        )


class UnmetNeed(models.Model):
    """A need of a case that no available, accessible or accepted service answers (seed 004,
    advocacy: "make efforts to fill gaps in service"). Recorded at assessment, plan or referral;
    resolved when a service is later found (a referral for the need accepted, or by hand). The
    service-gap report (casework/indicators/gaps.py) counts these rows; "no referral needed:
    service not available locally" records one of them, not a second notion."""

    vault_agency: ClassVar[str | None] = "case__agency"

    class Reason(models.TextChoices):
        NO_SERVICE = "no_service", _("No such service in the area")
        FULL = "full", _("Service full or waiting list")
        NOT_ACCESSIBLE = "not_accessible", _("Not accessible (distance, cost, language, hours)")
        NOT_ELIGIBLE = "not_eligible", _("Client not eligible")
        DECLINED = "declined", _("Declined by the service provider")
        REFUSED = "refused", _("Refused by the client")
        OTHER = "other", _("Other")

    class Step(models.TextChoices):
        ASSESSMENT = "assessment", _("Assessment")
        PLAN = "plan", _("Case plan")
        REFERRAL = "referral", _("Referral")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="unmet_needs")
    need_code = models.CharField(_("need"), max_length=40, validators=[need_code_validator])
    # The case's area when the gap was recorded: the report places the gap where it was met,
    # even if the client moves later.
    location = models.ForeignKey(
        "reference.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("area"),
    )
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    step = models.CharField(_("recorded at"), max_length=12, choices=Step.choices)
    # The referral that met the gap (declined) when recorded from one.
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = EncryptedTextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_on = models.DateField(_("recorded on"))
    recorded_at = models.DateTimeField(_("recorded"))
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The accepted referral that filled the gap, when that is what resolved it.
    resolved_by_referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = UnmetNeedQuerySet.as_manager()

    class Meta:
        verbose_name = _("unmet need")
        ordering = ["-recorded_at", "-id"]
        constraints = [
            # Two people recording the same gap at once: the second is told, not a second row.
            models.UniqueConstraint(
                fields=["case", "need_code"],
                condition=models.Q(resolved_on__isnull=True),
                name="one_open_unmet_need_per_case",
            )
        ]
        indexes = [
            models.Index(fields=["case", "need_code"], name="unmet_need_case"),
            models.Index(fields=["recorded_on", "resolved_on"], name="unmet_need_period"),
        ]

    def __str__(self) -> str:
        return f"{self.need_code}: {self.reason}"

    @property
    def is_open(self) -> bool:
        return self.resolved_on is None

    @property
    def need_label(self) -> str:
        return need_label(self.need_code)
