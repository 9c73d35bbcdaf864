"""The case record, its consents, notes and the rows of its history."""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.core.models import Correction, TimeStampedModel
from casework.vault.fields import EncryptedCharField, EncryptedTextField


class Status(models.TextChoices):
    IDENTIFIED = "identified", _("Identified")
    REGISTERED = "registered", _("Registered")
    ASSESSED = "assessed", _("Assessed")
    PLANNED = "planned", _("Planned")
    IN_FOLLOW_UP = "in_follow_up", _("In follow-up")
    PAUSED = "paused", _("Paused")
    TRANSFERRED = "transferred", _("Transferred")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


# A case "in the caseload": everything a caseworker still acts on.
OPEN_STATUSES = tuple(s for s in Status if s not in (Status.CLOSED, Status.TRANSFERRED))
# Open cases whose work runs: a paused case waits on purpose, so its tasks do not go overdue.
WORKING_STATUSES = tuple(s for s in OPEN_STATUSES if s != Status.PAUSED)


class ServiceType(models.TextChoices):
    CASE_MANAGEMENT = "case_management", _("Case management")
    IPA = "ipa", _("Individual protection assistance")
    REFERRAL_ONLY = "referral_only", _("Referral only")


class IdentificationSource(models.TextChoices):
    SELF = "self", _("Self-referral")
    COMMUNITY = "community", _("Community")
    NGO_CSO = "ngo_cso", _("NGO / CSO / humanitarian organisation")
    HEALTH = "health", _("Health services")
    EDUCATION = "education", _("Education services")
    JUDICIAL_POLICE = "judicial_police", _("Judicial authorities / police")
    OTHER = "other", _("Other")


class RiskLevel(models.TextChoices):
    HIGH = "high", _("High (emergency)")
    MEDIUM = "medium", _("Moderate (urgent)")
    LOW = "low", _("Low")


class ClosureReason(models.TextChoices):
    NEEDS_MET = "needs_met", _("Needs met and supports in place")
    CLIENT_REQUEST = "client_request", _("Client (or caregiver) request")
    CONTACT_LOST = "contact_lost", _("Contact lost (no contact for 30 days or more)")
    RELOCATED = "relocated", _("Relocated")
    TRANSFERRED = "transferred", _("Transferred")
    DEATH = "death", _("Death")
    OTHER = "other", _("Other")


class CaseQuerySet(models.QuerySet["Case"]):
    """Which cases a user may read or write is not asked here but in the gate,
    casework/cases/access.py (`visible_cases`, `writable_cases`, `get_case_for_user`)."""

    def open(self) -> CaseQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now: datetime.datetime | None = None) -> CaseQuerySet:
        """The one definition of an overdue case, for the caseload, the tasks and the team pages:
        a working (open, not paused) case with an open task past its due time. `next_due_at` is
        the earliest open task's due time, kept by casework/worklist/services.py on every path
        that opens, moves or closes a task (`Task.objects.overdue` is the same rule per task)."""
        return self.filter(status__in=WORKING_STATUSES, next_due_at__lt=now or timezone.now())


class Case(TimeStampedModel):
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="cases")
    reference = models.CharField(_("case reference"), max_length=64)
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="cases")
    programme = models.ForeignKey(
        "reference.Programme", on_delete=models.PROTECT, verbose_name=_("programme")
    )
    service_type = models.CharField(
        _("service type"),
        max_length=16,
        choices=ServiceType.choices,
        default=ServiceType.CASE_MANAGEMENT,
    )
    identification_source = models.CharField(
        _("identified through"),
        max_length=16,
        choices=IdentificationSource.choices,
        default=IdentificationSource.SELF,
    )
    identified_on = models.DateField(_("identified on"))
    registered_on = models.DateField(_("registered on"), null=True, blank=True)
    primary_concern = models.ForeignKey(
        "reference.ProtectionConcern",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("primary protection concern"),
    )
    secondary_concerns = models.ManyToManyField(
        "reference.ProtectionConcern",
        blank=True,
        related_name="+",
        verbose_name=_("secondary protection concerns"),
    )
    risk_level = models.CharField(
        _("risk level"), max_length=8, choices=RiskLevel.choices, blank=True
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.IDENTIFIED
    )
    caseworker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
        verbose_name=_("caseworker"),
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="cases", verbose_name=_("team")
    )
    location = models.ForeignKey(
        "reference.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("location"),
    )
    # Age at registration, not today: indicators count children as they entered case management.
    # Kept in clear (and kept by retention) because the date of birth itself is encrypted.
    age_at_registration = models.PositiveSmallIntegerField(null=True, blank=True)
    # Dates of the first assessment and plan and of the closure: a summary of the Transition rows,
    # maintained by the services in the same transaction, so indicators need no history scan.
    assessed_on = models.DateField(null=True, blank=True)
    planned_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    closure_reason = models.CharField(
        _("closure reason"), max_length=16, choices=ClosureReason.choices, blank=True
    )
    # The current plan, summarised for INDIVIDUAL_PLAN (maintained by casework.plans.services and
    # by imports): the hash of its folded text ("" = no text) and whether it is a group plan.
    plan_fold_hash = models.CharField(max_length=64, blank=True, db_index=True)
    plan_is_group = models.BooleanField(default=False)
    # Whether another person's case of the agency has the same plan text (not individualised):
    # kept by casework.plans.sharing wherever plan_fold_hash, person or agency change.
    plan_text_shared = models.BooleanField(default=False)
    # The day a supervisor confirmed the current plan as a near copy of another person's (seed
    # 001: not individualised from then on; earlier periods keep counting it). Kept by
    # casework.plans.confirmations wherever a finding is decided or a plan's text changes.
    plan_duplicate_confirmed_on = models.DateField(null=True, blank=True)
    next_due_at = models.DateTimeField(_("next due"), null=True, blank=True)
    last_contact_on = models.DateField(_("last contact"), null=True, blank=True)
    # Optimistic locking: every change checks and bumps it, so no one silently overwrites another.
    version = models.PositiveIntegerField(default=1)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "reference"], name="case_reference_unique_in_agency"
            )
        ]
        indexes = [
            models.Index(fields=["caseworker", "status", "next_due_at"], name="case_caseload"),
            models.Index(fields=["team", "status", "next_due_at"], name="case_team_caseload"),
            models.Index(fields=["agency", "status", "next_due_at"], name="case_agency_caseload"),
            models.Index(fields=["agency", "registered_on"], name="case_agency_registered"),
            models.Index(fields=["person", "registered_on"], name="case_person_registered"),
            # plans.sharing groups the texts two persons share from this index alone, in text order.
            models.Index(
                fields=["agency", "plan_fold_hash", "person"],
                name="case_plan_text_person",
                condition=~models.Q(plan_fold_hash=""),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now: datetime.datetime | None = None) -> bool:
        """The rule of `CaseQuerySet.overdue`, read off a loaded case."""
        return (
            self.status in WORKING_STATUSES
            and self.next_due_at is not None
            and self.next_due_at < (now or timezone.now())
        )

    def days_without_contact(self, today: datetime.date | None = None) -> int | None:
        since = self.last_contact_on or self.registered_on
        if since is None:
            return None
        return ((today or timezone.localdate()) - since).days


class CaseCounter(models.Model):
    """The last number used for case (year > 0) or person (year = 0) references of an agency."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.CASCADE)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "year"], name="one_counter_per_agency_year")
        ]

    def __str__(self) -> str:
        return f"{self.agency_id}/{self.year}: {self.last}"


class Transition(models.Model):
    """One move of a case through its lifecycle. Never edited, never deleted."""

    vault_agency: ClassVar[str | None] = "case__agency"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    occurred_at = models.DateTimeField(_("when"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = EncryptedTextField(_("reason"), blank=True)
    closure_reason = models.CharField(max_length=16, choices=ClosureReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["case", "occurred_at"], name="transition_case_time")]
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class ReleasePurpose(models.TextChoices):
    REFERRAL = "referral", _("Referral for services")
    TRANSFER = "transfer", _("Transfer of the case")
    EXPORT = "export", _("Export with personal data (e.g. to a donor or cluster)")


class ReleaseInformation(models.TextChoices):
    """What may be released (seed 004: what, to whom, why, when)."""

    IDENTITY = "identity", _("Name and date of birth")
    CONTACT = "contact", _("Contact details")
    CASE_SUMMARY = "case_summary", _("Case summary and needs")
    ASSESSMENT = "assessment", _("Assessment")
    HEALTH = "health", _("Health information")


class Consent(TimeStampedModel):
    """Informed consent (or a caregiver's consent with the child's assent) recorded for a case.

    Withdrawal is recorded on the row; consents are never deleted.
    """

    vault_agency: ClassVar[str | None] = "case__agency"

    class GivenBy(models.TextChoices):
        CLIENT = "client", _("The client")
        CAREGIVER = "caregiver", _("A caregiver (with the child's assent)")

    class Method(models.TextChoices):
        WRITTEN = "written", _("Written (signed form)")
        VERBAL = "verbal", _("Verbal, witnessed")
        THUMBPRINT = "thumbprint", _("Thumbprint")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="consents")
    given_by = models.CharField(
        _("given by"), max_length=10, choices=GivenBy.choices, default=GivenBy.CLIENT
    )
    # The caregiver who consented for a child: a person linked to the child (people.Relationship).
    caregiver = models.ForeignKey(
        "people.Person",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("caregiver"),
    )
    caregiver_name = EncryptedCharField(_("caregiver's name"), max_length=200, blank=True)
    child_assent = models.BooleanField(_("the child assents"), null=True, blank=True)
    receive_services = models.BooleanField(_("to receive case management services"))
    share_for_referral = models.BooleanField(
        _("to share information with named organisations for referral"), default=False
    )
    anonymised_reporting = models.BooleanField(
        _("to be counted in anonymised reports"), default=True
    )
    method = models.CharField(
        _("how consent was recorded"), max_length=10, choices=Method.choices, default=Method.WRITTEN
    )
    given_on = models.DateField(_("given on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    withdrawn_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_reason = EncryptedTextField(_("reason for withdrawal"), blank=True)

    class Meta:
        verbose_name = _("consent")
        indexes = [models.Index(fields=["case", "given_on"], name="consent_case_given")]
        ordering = ["given_on", "id"]

    def __str__(self) -> str:
        return f"consent {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_on is None

    @property
    def is_valid_for_services(self) -> bool:
        # A caregiver's consent counts only with the child's assent (seed 003: informed agreement).
        if not self.is_active or not self.receive_services:
            return False
        return self.given_by == self.GivenBy.CLIENT or bool(self.child_assent)


class ConsentRecipient(models.Model):
    """One named recipient the client agreed to share with: to whom, why, what and until when."""

    consent = models.ForeignKey(Consent, on_delete=models.CASCADE, related_name="recipients")
    organisation_name = models.CharField(_("organisation"), max_length=200)
    # The organisation's code in the service directory (or an agency code), when known: releases
    # are matched on it, else on the folded name.
    organisation_code = models.CharField(_("organisation code"), max_length=40, blank=True)
    purpose = models.CharField(
        _("purpose"), max_length=10, choices=ReleasePurpose.choices, default=ReleasePurpose.REFERRAL
    )
    information = models.JSONField(_("information that may be shared"), default=list, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent recipient")

    def __str__(self) -> str:
        return self.organisation_name


class ContactType(models.TextChoices):
    HOME_VISIT = "home_visit", _("Home visit")
    OFFICE = "office", _("Office visit")
    PHONE = "phone", _("Phone call")
    OUTREACH = "outreach", _("Outreach / community")
    SCHOOL = "school", _("At school")
    HEALTH_FACILITY = "health_facility", _("At a health facility")
    MESSAGE = "message", _("Message")
    NO_CONTACT = "no_contact", _("No contact with the client (file note)")


class CaseNote(TimeStampedModel):
    vault_agency: ClassVar[str | None] = "case__agency"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    contact_on = models.DateField(_("date"))
    contact_type = models.CharField(_("contact"), max_length=16, choices=ContactType.choices)
    text = EncryptedTextField(_("note"))
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("case note")
        indexes = [models.Index(fields=["case", "contact_on"], name="note_case_date")]
        ordering = ["contact_on", "id"]

    def __str__(self) -> str:
        return f"note {self.pk}"


class Screening(models.Model):
    """Identification's first decision (seed 004: screening): is this someone the programme
    serves? Recorded whether or not a case follows, so the registration funnel can be reported.
    No personal data: a screening that leads nowhere leaves only its outcome.

    Registration also records here what the duplicate search showed and what the caseworker
    chose: a new person, or a new case for a person already registered.
    """

    class Outcome(models.TextChoices):
        ELIGIBLE = "eligible", _("Eligible")
        NOT_ELIGIBLE = "not_eligible", _("Not eligible")
        REFERRED = "referred", _("Referred elsewhere")

    class Reason(models.TextChoices):
        OUTSIDE_MANDATE = "outside_mandate", _("Needs are outside the programme's mandate")
        NO_PROTECTION_CONCERN = "no_concern", _("No protection concern found")
        OUTSIDE_AREA = "outside_area", _("Lives outside the area served")
        SERVED_ELSEWHERE = "served_elsewhere", _("Already receives case management elsewhere")
        DECLINED = "declined", _("Declined the service")
        OTHER = "other", _("Other")

    class Choice(models.TextChoices):
        NEW_PERSON = "new_person", _("A different person: registered as new")
        EXISTING_PERSON = "existing_person", _("The same person: a new case opened")

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(
        "accounts.Team", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    screened_at = models.DateTimeField()
    outcome = models.CharField(_("screening outcome"), max_length=16, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    referred_to = models.CharField(_("referred to"), max_length=200, blank=True)
    # What the duplicate search showed (counts, no names) and what was chosen.
    candidates_shown = models.PositiveSmallIntegerField(default=0)
    matches_elsewhere = models.PositiveSmallIntegerField(default=0)
    choice = models.CharField(max_length=16, choices=Choice.choices, blank=True)
    case = models.OneToOneField(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="screening"
    )

    class Meta:
        verbose_name = _("screening")
        indexes = [models.Index(fields=["agency", "screened_at"], name="screening_agency_time")]

    def __str__(self) -> str:
        return f"screening {self.pk}: {self.outcome}"


class PersonMerge(models.Model):
    """Two records of one person made one (casework/cases/merging.py), with everything the merge
    moved or replaced, so that an unmerge within the window restores exactly."""

    vault_agency: ClassVar[str | None] = "agency"

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    survivor = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    merged = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField()
    # {field: [the survivor's value before, the value the merge gave it]} (encrypted JSON).
    replaced = EncryptedTextField(blank=True)
    # Row ids and link rows the merge moved, removed or created.
    moved = models.JSONField(default=dict)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("merge of two person records")
        indexes = [models.Index(fields=["agency", "-merged_at"], name="merge_agency_newest")]

    def __str__(self) -> str:
        return f"{self.merged_id} into {self.survivor_id}"


class CaseRevision(Correction):
    """A correction of a case's registration facts; the case row holds the corrected values,
    which indicators read."""

    vault_agency: ClassVar[str | None] = "case__agency"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="revisions")

    def __str__(self) -> str:
        return f"case {self.case_id} correction of v{self.version}"


class NoteRevision(models.Model):
    """The text a note had before an edit (edits keep their history)."""

    vault_agency: ClassVar[str | None] = "note__case__agency"

    note = models.ForeignKey(CaseNote, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    contact_on = models.DateField()
    contact_type = models.CharField(max_length=16, choices=ContactType.choices)
    text = EncryptedTextField()
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    edited_at = models.DateTimeField()

    class Meta:
        ordering = ["version"]

    def __str__(self) -> str:
        return f"note {self.note_id} v{self.version}"


class CaseGrant(models.Model):
    """Access to a case for a user it is not assigned to (shared by a referral or a transfer)."""

    class Reason(models.TextChoices):
        REFERRAL = "referral", _("Internal referral")
        TRANSFER = "transfer", _("Transfer in progress")
        COVER = "cover", _("Covering for a colleague")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_grants"
    )
    reason = models.CharField(max_length=10, choices=Reason.choices)
    can_write = models.BooleanField(default=False)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["user", "case"], name="grant_user_case", condition=Q(revoked_at=None)
            )
        ]

    def __str__(self) -> str:
        return f"grant {self.pk}"


# --- follow-up, assignment, transfer, closure -----------------------------------------------------


def all_closure_reasons() -> list[str]:
    return list(ClosureReason.values)


class CasePolicy(models.Model):
    """The current values of an agency's case-management settings (defaults apply when an agency
    has no row). Changed only through `accounts.agency_settings.change`, which keeps the history
    (casework/cases/agency_settings.py)."""

    agency = models.OneToOneField(
        "accounts.Agency", on_delete=models.CASCADE, related_name="case_policy"
    )
    # The closure reasons whose closure waits for a supervisor's approval (all by default).
    closure_approval_reasons = models.JSONField(
        _("closures that need a supervisor's approval"), default=all_closure_reasons
    )
    # Seed 004, standard 9: "a reasonable caseload". The numbers are the agency's to set.
    caseload_threshold = models.PositiveSmallIntegerField(
        _("reasonable caseload (open cases per caseworker)"), default=20
    )
    supervisor_caseload_threshold = models.PositiveSmallIntegerField(
        _("reasonable caseload of a supervisor's own cases"), default=10
    )

    class Meta:
        verbose_name = _("case-management policy")
        verbose_name_plural = _("case-management policies")

    def __str__(self) -> str:
        return f"policy of agency {self.agency_id}"

    @classmethod
    def for_agency(cls, agency_id: int) -> CasePolicy:
        return cls.objects.filter(agency_id=agency_id).first() or cls(agency_id=agency_id)


class RiskPolicy(models.Model):
    """An agency's own follow-up window for one risk level (the defaults are seed 003's, in
    casework/cases/deadlines.py, which also reads these rows: `deadlines.windows_for`)."""

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.CASCADE, related_name="risk_policies"
    )
    level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices)
    due_hours = models.PositiveIntegerField(_("follow-up due within (hours)"))
    target_hours = models.PositiveIntegerField(_("follow-up target (hours)"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("risk follow-up policy")
        verbose_name_plural = _("risk follow-up policies")
        constraints = [
            models.UniqueConstraint(fields=["agency", "level"], name="one_policy_per_level")
        ]

    def __str__(self) -> str:
        return f"{self.agency_id}/{self.level}: {self.due_hours}h"


class YesNoPartly(models.TextChoices):
    YES = "yes", _("Yes")
    PARTLY = "partly", _("Partly")
    NO = "no", _("No")
    NOT_APPLICABLE = "na", _("Not applicable")


class FollowUp(TimeStampedModel):
    """A follow-up visit or call, against the plan and the referrals (seed 003, step 5)."""

    vault_agency: ClassVar[str | None] = "case__agency"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="follow_ups")
    occurred_on = models.DateField(_("date"))
    contact_type = models.CharField(_("contact"), max_length=16, choices=ContactType.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    service_received = models.CharField(
        _("did the client receive the services planned or referred?"),
        max_length=6,
        choices=YesNoPartly.choices,
        default=YesNoPartly.NOT_APPLICABLE,
    )
    satisfied = models.CharField(
        _("is the client satisfied with the services?"),
        max_length=6,
        choices=YesNoPartly.choices,
        default=YesNoPartly.NOT_APPLICABLE,
    )
    new_needs = models.BooleanField(_("new needs?"), default=False)
    risk_changed = models.BooleanField(_("new or changed risks?"), default=False)
    new_risk_level = models.CharField(
        _("risk level now"), max_length=8, choices=RiskLevel.choices, blank=True
    )
    reassessment_needed = models.BooleanField(_("open a reassessment"), default=False)
    notes = EncryptedTextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("follow-up")
        indexes = [models.Index(fields=["case", "occurred_on"], name="followup_case_date")]
        ordering = ["occurred_on", "id"]

    def __str__(self) -> str:
        return f"follow-up {self.pk}"


class Assignment(models.Model):
    """Who held the case when: every reassignment is a row."""

    vault_agency: ClassVar[str | None] = "case__agency"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assignments")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = EncryptedTextField(_("reason"), blank=True)

    class Meta:
        indexes = [models.Index(fields=["case", "at"], name="assignment_case_time")]

    def __str__(self) -> str:
        return f"assignment {self.pk}"


class TransferRequest(TimeStampedModel):
    """A case offered to another agency. The case moves only when the receiving agency accepts."""

    # The case's agency: the sender's until the transfer is accepted, then the receiver's
    # (the case's history is re-encrypted for it when it moves, casework/retention/rekeying.py).
    vault_agency: ClassVar[str | None] = "case__agency"

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the receiving agency")
        ACCEPTED = "accepted", _("Accepted")
        REFUSED = "refused", _("Refused")
        CANCELLED = "cancelled", _("Cancelled")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transfer_requests")
    from_agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="transfers_in"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = EncryptedTextField(_("reason for the transfer"))
    # What the receiving agency sees before it decides: the minimum, chosen by the sender.
    summary = EncryptedTextField(_("summary shared with the receiving agency"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = EncryptedTextField(_("comment"), blank=True)
    previous_reference = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("transfer request")
        indexes = [models.Index(fields=["to_agency", "status"], name="transfer_inbox")]

    def __str__(self) -> str:
        return f"transfer {self.pk}"


class ClosureRequest(TimeStampedModel):
    """A proposed closure with its checklist (seed 003, step 6), approved or returned."""

    vault_agency: ClassVar[str | None] = "case__agency"

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned with comments")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="closure_requests")
    reason = models.CharField(_("reason for closure"), max_length=16, choices=ClosureReason.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    goals_reviewed = models.BooleanField(_("final review of the plan's goals done with the client"))
    closure_explained = models.BooleanField(
        _("closure explained, including the option to come back")
    )
    follow_up_arranged = models.BooleanField(_("follow-up arrangements made (or not needed)"))
    follow_up_arrangements = EncryptedTextField(_("follow-up arrangements"), blank=True)
    best_interests = EncryptedTextField(
        _("best-interests consideration (a child's closure on request)"), blank=True
    )
    summary = EncryptedTextField(_("closing summary"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = EncryptedTextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("closure request")
        indexes = [models.Index(fields=["case", "status"], name="closure_case_status")]

    def __str__(self) -> str:
        return f"closure {self.pk}"
