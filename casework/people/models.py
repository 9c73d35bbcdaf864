"""The people cases are about. Names, contact details and dates of birth are encrypted at rest.

Categorical attributes (sex, disability, mobility status, nationality) stay in clear: they are
what indicators are disaggregated by, and retention keeps them after the identifying fields are
destroyed.
"""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.core.models import Correction, TimeStampedModel
from casework.vault.fields import EncryptedCharField, EncryptedDateField, EncryptedTextField


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class YesNoUnknown(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNKNOWN = "unknown", _("Unknown")


class MobilityStatus(models.TextChoices):
    INTERNATIONAL_MIGRANT = "international_migrant", _("International migrant")
    REFUGEE = "refugee", _("Refugee")
    ASYLUM_SEEKER = "asylum_seeker", _("Asylum seeker")
    IDP = "idp", _("Internally displaced person")
    INTERNAL_MIGRANT = "internal_migrant", _("Internal migrant")
    RETURNEE = "returnee", _("Returnee")
    HOST_COMMUNITY = "host_community", _("Host community")
    UNKNOWN = "unknown", _("Unknown")


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    """Whole years completed on `day` (a 29 February birthday counts from 1 March)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return max(years, 0)


class Household(TimeStampedModel):
    """The people who live together: a grouping of persons (each in one household at a time)."""

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="households"
    )

    class Meta:
        verbose_name = _("household")

    def __str__(self) -> str:
        return f"household {self.pk}"


class Person(TimeStampedModel):
    vault_agency: ClassVar[str | None] = "agency"

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="people")
    # The organisation's own person number (the interchange format's person_ref); not identifying.
    reference = models.CharField(_("person number"), max_length=64)
    given_name = EncryptedCharField(_("given name"), max_length=100, blank=True)
    family_name = EncryptedCharField(_("family name"), max_length=100, blank=True)
    other_names = EncryptedCharField(_("other names"), max_length=200, blank=True)
    sex = models.CharField(_("sex"), max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    date_of_birth = EncryptedDateField(_("date of birth"), null=True, blank=True)
    estimated_age = models.PositiveSmallIntegerField(_("estimated age"), null=True, blank=True)
    age_estimated_on = models.DateField(_("age estimated on"), null=True, blank=True)
    nationality = models.CharField(_("nationality"), max_length=64, blank=True)
    disability = models.CharField(
        _("disability"), max_length=8, choices=YesNoUnknown.choices, default=YesNoUnknown.UNKNOWN
    )
    mobility_status = models.CharField(
        _("mobility status"),
        max_length=24,
        choices=MobilityStatus.choices,
        default=MobilityStatus.UNKNOWN,
    )
    languages = models.CharField(
        _("languages"), max_length=200, blank=True, help_text=_("Comma-separated.")
    )
    phone = EncryptedCharField(_("phone"), max_length=40, blank=True)
    address = EncryptedTextField(_("address or whereabouts"), blank=True)
    # Set when retention or the purge destroyed the identifying fields; the row stays for counts.
    anonymised_at = models.DateTimeField(null=True, blank=True)
    # Optimistic locking (the API's ETag): every correction checks and bumps it.
    version = models.PositiveIntegerField(default=1)
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    # Set when this record was merged into another (casework/cases/merging.py): it keeps its
    # details for an unmerge, has no cases, and is found by no search.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("person")
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "reference"], name="person_reference_unique_in_agency"
            )
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def full_name(self) -> str:
        return " ".join(n for n in (self.given_name, self.family_name) if n)

    def age_on(self, day: datetime.date) -> int | None:
        if self.date_of_birth:
            return age_on(self.date_of_birth, day)
        if self.estimated_age is not None:
            # An estimate ages with the calendar from the day it was made.
            since = self.age_estimated_on or day
            return self.estimated_age + (age_on(since, day) if day > since else 0)
        return None


class Relationship(models.Model):
    """`relative` is `person`'s <kind> (their mother is their PARENT). Kept in both directions,
    each row the other's inverse, so a person's links are one indexed read. `is_caregiver`: the
    relative cares for the person (and may consent for them as a child)."""

    class Kind(models.TextChoices):
        CAREGIVER = "caregiver", _("Caregiver")
        CARED_FOR = "cared_for", _("Cared for by them")
        PARENT = "parent", _("Parent")
        CHILD = "child", _("Child")
        SIBLING = "sibling", _("Sibling")
        PARTNER = "partner", _("Spouse or partner")
        OTHER_RELATIVE = "other_relative", _("Other relative")
        HOUSEHOLD_MEMBER = "household_member", _("Household member")

    INVERSE: dict[str, str] = {
        Kind.CAREGIVER: Kind.CARED_FOR,
        Kind.CARED_FOR: Kind.CAREGIVER,
        Kind.PARENT: Kind.CHILD,
        Kind.CHILD: Kind.PARENT,
        Kind.SIBLING: Kind.SIBLING,
        Kind.PARTNER: Kind.PARTNER,
        Kind.OTHER_RELATIVE: Kind.OTHER_RELATIVE,
        Kind.HOUSEHOLD_MEMBER: Kind.HOUSEHOLD_MEMBER,
    }

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="relationships")
    relative = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("relationship"), max_length=20, choices=Kind.choices)
    is_caregiver = models.BooleanField(_("caregiver"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("relationship")
        constraints = [
            models.UniqueConstraint(fields=["person", "relative"], name="one_link_per_pair"),
            models.CheckConstraint(
                condition=~models.Q(person=models.F("relative")), name="no_link_to_oneself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.relative_id} is {self.kind} of {self.person_id}"


class DuplicateCandidate(models.Model):
    """Two persons of an agency who may be one, found by the duplicate job
    (casework/people/duplicates.py), for a user with MERGE_PERSONS to review."""

    class Status(models.TextChoices):
        OPEN = "open", _("To review")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Different persons")

    agency = models.ForeignKey("accounts.Agency", on_delete=models.CASCADE, related_name="+")
    # first.pk < second.pk: a pair is stored once.
    first = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField()
    reasons = models.JSONField(default=list)
    found_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("possible duplicate")
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="one_candidate_per_pair"),
            models.CheckConstraint(
                condition=models.Q(first__lt=models.F("second")), name="candidate_pair_ordered"
            ),
        ]
        indexes = [models.Index(fields=["agency", "status", "-score"], name="duplicate_queue")]

    def __str__(self) -> str:
        return f"{self.first_id} ~ {self.second_id} ({self.score})"


class PersonRevision(Correction):
    """A correction of a person's details; the person row holds the corrected values."""

    vault_agency: ClassVar[str | None] = "person__agency"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="revisions")

    def __str__(self) -> str:
        return f"person {self.person_id} v{self.version}"


class PersonNameIndex(models.Model):
    """Blind-index digests of a person's names (see casework/vault/blind.py).

    The person's agency is kept beside each digest (a person never changes agency: a transfer
    to another agency copies the person), so that a search within an agency reads the index
    alone — digest, agency, person — and never the persons who merely share a common name.
    Rows of an anonymised or merged-away person are deleted."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="name_digests")
    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=8)
    digest = models.CharField(max_length=32)

    class Meta:
        indexes = [
            models.Index(fields=["digest", "agency", "person"], name="name_digest_in_agency")
        ]

    def __str__(self) -> str:
        return f"{self.kind} index of person {self.person_id}"
