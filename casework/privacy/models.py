"""The data-protection officer's desk: an agency's settings, clients' requests about their data
(access, rectification, erasure) with their deadlines, the packages an access request compiles,
and the alerts raised when one user reads unusually many case files.

A request names the person it concerns by the agency's own numbers (person number, case
reference), never by name. A package holds everything the agency keeps about that person, so its
content is encrypted like the fields it was read from, and retention blanks it with the person's
other data (the path package → request → person is what retention follows).
"""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.core.models import TimeStampedModel
from casework.vault.fields import EncryptedTextField

# What an agency gets until its officer sets otherwise.
DEFAULT_RESPONSE_DAYS = 30  # one month: the GDPR's deadline for answering a request
DEFAULT_UNUSUAL_READS = 50  # distinct case files one user reads within the window
DEFAULT_UNUSUAL_READS_HOURS = 24


class PrivacySettings(models.Model):
    """An agency's data-protection settings. A change adds a row and the latest row applies, so
    who set which threshold when stays on record."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.CASCADE, related_name="+")
    response_days = models.PositiveSmallIntegerField(
        _("days to answer a request"),
        default=DEFAULT_RESPONSE_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("A request is due this many days after it was received."),
    )
    unusual_reads = models.PositiveIntegerField(
        _("unusually many case files"),
        default=DEFAULT_UNUSUAL_READS,
        validators=[MinValueValidator(1)],
        help_text=_("Alert when one user reads at least this many different case files …"),
    )
    unusual_reads_hours = models.PositiveSmallIntegerField(
        _("within (hours)"),
        default=DEFAULT_UNUSUAL_READS_HOURS,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 7)],
        help_text=_("… within this many hours. One alert per user per such period."),
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField()

    class Meta:
        verbose_name = _("data-protection settings")
        verbose_name_plural = _("data-protection settings")
        indexes = [models.Index(fields=["agency", "-set_at"], name="privacy_settings_latest")]

    def __str__(self) -> str:
        return f"privacy settings of agency {self.agency_id} ({self.set_at:%Y-%m-%d})"

    @classmethod
    def current(cls, agency_id: int) -> PrivacySettings:
        """The settings in force (an unsaved row of defaults when none was ever set)."""
        latest = cls.objects.filter(agency_id=agency_id).order_by("-set_at", "-id").first()
        return latest or cls(agency_id=agency_id, set_at=timezone.now())


class DataRequestQuerySet(models.QuerySet["DataRequest"]):
    def open(self) -> DataRequestQuerySet:
        return self.filter(status=DataRequest.Status.OPEN)

    def overdue(self, today: datetime.date) -> DataRequestQuerySet:
        return self.filter(status=DataRequest.Status.OPEN, due_on__lt=today)


class DataRequest(TimeStampedModel):
    """A client's request about the data held on them, tracked to its deadline."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("Access (a copy of everything held)")
        RECTIFICATION = "rectification", _("Rectification (a correction)")
        ERASURE = "erasure", _("Erasure")

    class RequestedBy(models.TextChoices):
        SUBJECT = "subject", _("The person themselves")
        CAREGIVER = "caregiver", _("A parent or caregiver (for a child)")
        REPRESENTATIVE = "representative", _("A legal representative")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        COMPLETED = "completed", _("Answered")
        NOTHING_HELD = "nothing_held", _("Nothing is held on the person")
        REFUSED = "refused", _("Refused (an exemption applies)")
        WITHDRAWN = "withdrawn", _("Withdrawn by the requester")

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind of request"), max_length=16, choices=Kind.choices)
    requested_by = models.CharField(
        _("made by"), max_length=16, choices=RequestedBy.choices, default=RequestedBy.SUBJECT
    )
    # Empty when the agency holds nothing on the requester.
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_on = models.DateField(_("received on"))
    due_on = models.DateField(_("due on"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("handled by"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Nothing is compiled, corrected or erased for a requester whose identity was not checked:
    # in this work the one asking for a survivor's file may be the person they fled.
    identity_checked_at = models.DateTimeField(null=True, blank=True)
    identity_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Rectification: the corrections (made through the case's correction form) that answered it.
    person_revisions = models.ManyToManyField("people.PersonRevision", blank=True, related_name="+")
    case_revisions = models.ManyToManyField("cases.CaseRevision", blank=True, related_name="+")
    # Erasure: when retention's anonymisation was applied for it.
    erased_at = models.DateTimeField(null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = DataRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("data request")
        indexes = [
            models.Index(fields=["agency", "status", "due_on"], name="datarequest_queue"),
        ]

    def __str__(self) -> str:
        return f"data request {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def identity_checked(self) -> bool:
        """Checked by someone other than who recorded the request (`services.confirm_identity`):
        a check by the recorder, made before that rule, counts for nothing."""
        return self.identity_checked_at is not None and (
            self.identity_checked_by_id != self.created_by_id
        )

    def is_overdue(self, today: datetime.date | None = None) -> bool:
        return self.is_open and self.due_on < (today or timezone.localdate())


class AccessPackage(models.Model):
    """Everything held on a person, compiled for an access request, third parties redacted.

    It is released only once someone other than its compiler approved it (`may_review` in
    casework/privacy/access.py); the reviewer may withhold items (ids kept, never content).
    """

    vault_agency: ClassVar[str | None] = "request__agency"

    class Status(models.TextChoices):
        TO_REVIEW = "to_review", _("Waiting for review")
        APPROVED = "approved", _("Approved for release")
        RETURNED = "returned", _("Returned")
        SUPERSEDED = "superseded", _("Replaced by a newer package")

    class ReturnReason(models.TextChoices):
        INCOMPLETE = "incomplete", _("Something is missing or wrong: compile again")
        THIRD_PARTY = "third_party", _("It still says too much about someone else")
        OTHER = "other", _("Another reason (discussed with the officer)")

    class WithholdReason(models.TextChoices):
        THIRD_PARTY = "third_party", _("About someone else")
        SERIOUS_HARM = "serious_harm", _("Release could cause serious harm")
        LEGAL = "legal", _("Legal privilege or an ongoing investigation")

    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="packages")
    compiled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    compiled_at = models.DateTimeField()
    # The package as JSON (casework/privacy/package.py), encrypted.
    content = EncryptedTextField(blank=True)
    # SHA-256 of `content`: printed on what is reviewed and on what is released.
    digest = models.CharField(max_length=64)
    # The cases it holds: who may review it (a supervisor must see them all), and the case ids
    # its reads and releases are audited under.
    case_ids = models.JSONField(default=list)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.TO_REVIEW)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.CharField(max_length=16, choices=ReturnReason.choices, blank=True)
    withheld = models.JSONField(default=list, blank=True)  # item keys, e.g. "cases.casenote:12"
    withheld_reason = models.CharField(max_length=16, choices=WithholdReason.choices, blank=True)
    # Fields left out of a release unless the reviewer included them (`package.py`
    # WITHHELD_UNLESS_INCLUDED), by label, e.g. "plans.caseplan.supervision_notes".
    included_fields = models.JSONField(default=list, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("access package")
        indexes = [models.Index(fields=["request", "-compiled_at"], name="package_request_newest")]

    def __str__(self) -> str:
        return f"access package {self.pk}"


class ReadAlert(models.Model):
    """One user read unusually many case files within the agency's window: one alert per user
    per window, for the agency's data-protection officer to look into."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.CASCADE, related_name="+")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField()
    window_start = models.DateTimeField()
    cases_read = models.PositiveIntegerField()
    threshold = models.PositiveIntegerField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("unusual reading alert")
        indexes = [
            models.Index(fields=["agency", "-raised_at"], name="readalert_agency_newest"),
            models.Index(fields=["reader", "-raised_at"], name="readalert_reader_newest"),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk}: user {self.reader_id} read {self.cases_read}"
