"""Needs assessments (seed 003 step 2; seed 004 "assessment" and "reassessment") and the
questionnaires an agency adds to its assessment. (The agency's risk-to-deadline policy, which
assessments set here, is `cases.models.RiskPolicy`: the worklist reads it too.)

An assessment is never edited: a reassessment is a new row with the next number, and the newest
is the current one. Everything a person said or a caseworker wrote in their own words is
encrypted; need levels, risk levels and service codes stay in clear so they can be counted.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.cases.models import RiskLevel
from casework.core.models import TimeStampedModel
from casework.vault.fields import EncryptedTextField


class Domain(models.TextChoices):
    """The areas of life an assessment covers (seed 003, "Case Assessment").

    The codes are the ones casework.plans.models.NeedDomain uses, so a plan's needs link back.
    """

    SHELTER = "shelter", _("Living conditions & shelter")
    WASH = "wash", _("Water, sanitation & hygiene")
    FOOD = "food", _("Food & nutrition")
    HEALTH = "health", _("Physical and mental health")
    SAFETY_LEGAL = (
        "safety_legal",
        _(
            "Safety, protection & legal status (legal documents, birth registration, identity papers)"
        ),
    )
    EDUCATION = "education", _("Children & education")
    LIVELIHOODS = "livelihoods", _("Livelihoods & economic security")
    GBV = "gbv", _("Gender-based violence")
    OTHER = "other", _("Other")


class NeedLevel(models.TextChoices):
    NONE = "none", _("No need")
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class ServiceNeed(models.TextChoices):
    """Services a need may call for: what a plan or a referral will look for."""

    SHELTER = "shelter", _("Shelter / accommodation")
    NON_FOOD_ITEMS = "nfi", _("Non-food items")
    WASH = "wash", _("Water, sanitation & hygiene")
    FOOD = "food", _("Food assistance")
    HEALTH = "health", _("Medical care")
    MHPSS = "mhpss", _("Mental health & psychosocial support")
    SAFETY = "safety", _("Safety / safe house")
    LEGAL = "legal", _("Legal aid")
    DOCUMENTATION = "documentation", _("Civil documentation (birth registration, identity papers)")
    FAMILY_TRACING = "family_tracing", _("Family tracing & reunification")
    EDUCATION = "education", _("Education")
    LIVELIHOODS = "livelihoods", _("Livelihoods / vocational training")
    CASH = "cash", _("Cash assistance")
    GBV_SERVICES = "gbv_services", _("GBV response services")
    OTHER = "other", _("Other")


class Assessment(TimeStampedModel):
    """One (re)assessment of a case. `number` 1 is the first assessment; the highest is current."""

    vault_agency: ClassVar[str | None] = "case__agency"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="assessments")
    number = models.PositiveIntegerField()
    assessed_on = models.DateField(_("assessed on"))
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    risk_level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices)
    # The level before this assessment (the case's), so "was the risk raised?" is answerable later.
    previous_risk_level = models.CharField(max_length=8, choices=RiskLevel.choices, blank=True)
    risk_rationale = EncryptedTextField(_("why this risk level"))
    # The client's own assessment of their needs, strengths and barriers (seed 004), in their
    # words and recorded as theirs, apart from the caseworker's findings.
    client_needs = EncryptedTextField(_("needs, in the client's own words"), blank=True)
    client_strengths = EncryptedTextField(_("strengths, in the client's own words"), blank=True)
    client_barriers = EncryptedTextField(_("barriers, in the client's own words"), blank=True)
    follow_up_due_at = models.DateTimeField(_("follow-up due"))
    follow_up_target_at = models.DateTimeField(_("follow-up target"))

    class Meta:
        verbose_name = _("assessment")
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="one_assessment_number")
        ]
        indexes = [models.Index(fields=["case", "-number"], name="assessment_case_newest")]
        ordering = ["case", "-number"]

    def __str__(self) -> str:
        return f"assessment {self.number}"

    @property
    def is_reassessment(self) -> bool:
        return self.number > 1


class DomainFinding(models.Model):
    """What the assessment found in one domain. Only the domains discussed have a row."""

    vault_agency: ClassVar[str | None] = "assessment__case__agency"

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="findings")
    domain = models.CharField(_("domain"), max_length=20, choices=Domain.choices)
    need_level = models.CharField(_("need level"), max_length=8, choices=NeedLevel.choices)
    notes = EncryptedTextField(_("notes"), blank=True)
    strengths = EncryptedTextField(_("strengths"), blank=True)
    barriers = EncryptedTextField(_("barriers"), blank=True)
    services = models.JSONField(_("services this need may call for"), default=list, blank=True)

    class Meta:
        verbose_name = _("domain finding")
        constraints = [
            models.UniqueConstraint(fields=["assessment", "domain"], name="one_finding_per_domain")
        ]
        indexes = [models.Index(fields=["domain", "need_level"], name="finding_domain_level")]

    def __str__(self) -> str:
        return f"{self.domain}: {self.need_level}"

    def get_services_display(self) -> list[str]:
        labels = dict(ServiceNeed.choices)
        return [str(labels.get(code, code)) for code in self.services]


class Questionnaire(TimeStampedModel):
    """Questions an agency adds to its assessment, from an XLSForm or the form editor."""

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.CASCADE, related_name="questionnaires"
    )
    code = models.SlugField(_("code"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    is_active = models.BooleanField(
        _("in use"), default=True, help_text=_("Asked in every new assessment.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("questionnaire")
        constraints = [
            models.UniqueConstraint(fields=["agency", "code"], name="questionnaire_code_unique")
        ]
        indexes = [
            models.Index(fields=["agency", "is_active", "title"], name="questionnaire_agency")
        ]
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class QuestionnaireVersion(models.Model):
    """One version of a questionnaire. Never changed once saved: answers point at it."""

    class Source(models.TextChoices):
        XLSFORM = "xlsform", _("XLSForm upload")
        EDITOR = "editor", _("Form editor")

    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    # The normalised definition (see casework/assessments/questionnaires.py); the same shape
    # whether it came from an XLSForm or from the editor.
    definition = models.JSONField()
    source = models.CharField(max_length=8, choices=Source.choices)
    file_name = models.CharField(max_length=200, blank=True)
    # The uploaded workbook, kept so the agency can always see what it uploaded.
    source_file = models.BinaryField(null=True, blank=True, editable=False)
    form_version = models.CharField(_("version in the form's settings"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("questionnaire version")
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "number"], name="one_questionnaire_version_number"
            )
        ]
        indexes = [
            models.Index(fields=["questionnaire", "-number"], name="questionnaire_version_newest")
        ]
        ordering = ["questionnaire", "-number"]

    def __str__(self) -> str:
        return f"{self.questionnaire_id} v{self.number}"

    @property
    def questions(self) -> list[dict[str, Any]]:
        return list(self.definition.get("questions", []))


class QuestionnaireResponse(models.Model):
    """The answers given in one assessment to one questionnaire version.

    Coded answers (numbers, dates, choices) are kept in clear for counting; free-text answers
    are encrypted, as JSON, in `text_answers`.
    """

    vault_agency: ClassVar[str | None] = "assessment__case__agency"

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="responses")
    version = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.PROTECT, related_name="responses"
    )
    coded_answers = models.JSONField(default=dict, blank=True)
    text_answers = EncryptedTextField(blank=True)

    class Meta:
        verbose_name = _("questionnaire response")
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "version"], name="one_response_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"response {self.pk}"

    def free_text(self) -> dict[str, str]:
        if not self.text_answers or not isinstance(self.text_answers, str):
            return {}
        loaded = json.loads(self.text_answers)
        return loaded if isinstance(loaded, dict) else {}

    def answers(self, *, include_free_text: bool) -> dict[str, Any]:
        merged = dict(self.coded_answers)
        if include_free_text:
            merged.update(self.free_text())
        return merged
