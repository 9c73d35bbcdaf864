"""Client feedback: the participation survey of seed 000 and the exit interview at closure."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.core.models import TimeStampedModel
from casework.vault.fields import EncryptedTextField


class ParticipationWay(models.TextChoices):
    """Q3 of the participation survey: how the client was involved (several may apply)."""

    EXPRESSED_NEEDS = "expressed_needs", _("Expressed their needs")
    CHOSE_SERVICES = "chose_services", _("Chose among the services offered")
    SET_GOALS = "set_goals", _("Set their own goals")
    AGREED_PLAN = "agreed_plan", _("Agreed the plan")
    DECLINED_SERVICES = "declined_services", _("Declined services they did not want")
    OTHER = "other", _("Other")


class ParticipationSurvey(TimeStampedModel):
    """One answered participation survey (seed 000). Q2 is asked only when Q1 is yes, and Q3
    only when Q2 is yes (casework.feedback.services enforces the branching)."""

    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="participation_surveys"
    )
    surveyed_on = models.DateField(_("surveyed on"))
    q1_aware = models.BooleanField(
        _("Do you know that the project developed a case management plan for you?")
    )
    q2_involved = models.BooleanField(
        _("Do you feel you were involved in the decision making in the case management process?"),
        null=True,
        blank=True,
    )
    # Q3 as one column per answer, so indicators count each way with a plain SUM in the database.
    q3_expressed_needs = models.BooleanField(default=False)
    q3_chose_services = models.BooleanField(default=False)
    q3_set_goals = models.BooleanField(default=False)
    q3_agreed_plan = models.BooleanField(default=False)
    q3_declined_services = models.BooleanField(default=False)
    q3_other = models.BooleanField(default=False)
    # Who asked: ideally not the client's own caseworker, so that answers are given freely.
    surveyed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("participation survey")
        indexes = [models.Index(fields=["case", "surveyed_on"], name="survey_case_date")]

    def __str__(self) -> str:
        return f"survey {self.pk}"

    @property
    def q3_ways(self) -> list[str]:
        return [way for way in ParticipationWay.values if getattr(self, f"q3_{way}")]


class Rating(models.IntegerChoices):
    VERY_POOR = 1, _("Very dissatisfied")
    POOR = 2, _("Dissatisfied")
    FAIR = 3, _("Neither")
    GOOD = 4, _("Satisfied")
    VERY_GOOD = 5, _("Very satisfied")


class ExitInterview(TimeStampedModel):
    """Client satisfaction at closure (seed 004 standard 8: "a simple exit interview")."""

    vault_agency: ClassVar[str | None] = "case__agency"

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="exit_interviews")
    interviewed_on = models.DateField(_("date"))
    overall = models.PositiveSmallIntegerField(
        _("Overall, how satisfied are you with the support you received?"), choices=Rating.choices
    )
    felt_respected = models.BooleanField(_("Did you feel listened to and respected?"), null=True)
    felt_safe = models.BooleanField(_("Did you feel safe when receiving services?"), null=True)
    confidentiality_kept = models.BooleanField(
        _("Was your information kept confidential?"), null=True
    )
    needs_met = models.CharField(
        _("Were your needs met?"),
        max_length=6,
        choices=[("yes", _("Yes")), ("partly", _("Partly")), ("no", _("No"))],
    )
    would_recommend = models.BooleanField(
        _("Would you recommend these services to someone in your situation?"), null=True
    )
    comments = EncryptedTextField(_("What could we do better?"), blank=True)
    interviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("exit interview")
        indexes = [models.Index(fields=["case", "interviewed_on"], name="exit_case_date")]

    def __str__(self) -> str:
        return f"exit interview {self.pk}"
