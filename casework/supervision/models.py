"""Supervision sessions (seed 003: supervision in case planning; seed 004, standards 1 and 9:
competent case management and a reasonable caseload, upheld by regular supervision).

A session is held by a supervisor with one caseworker (individual) or several (group) on a day.
It lists the cases discussed, with the decisions taken on each, and the actions agreed, each of
which becomes a task with its due date on the worklist of the person who agreed to do it.
Sessions are rows, never edited: what was decided stays as it was decided. The decisions and
the actions' text are about clients, so they are encrypted under the agency's key and anonymised
with the client (casework/retention).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.vault.fields import EncryptedTextField


class SupervisionSession(models.Model):
    vault_agency: ClassVar[str | None] = "agency"

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        GROUP = "group", _("Group")

    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    held_on = models.DateField(_("held on"))
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="supervisions_led",
        verbose_name=_("supervisor"),
    )
    caseworkers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="supervisions", verbose_name=_("caseworkers")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("supervision session")
        indexes = [
            models.Index(fields=["supervisor", "held_on"], name="supervision_by_supervisor"),
            models.Index(fields=["agency", "held_on"], name="supervision_by_agency"),
        ]
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return f"supervision {self.pk}"


class DiscussedCase(models.Model):
    """A case discussed in a session, and what was decided about it."""

    vault_agency: ClassVar[str | None] = "case__agency"

    session = models.ForeignKey(
        SupervisionSession, on_delete=models.CASCADE, related_name="discussed"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="supervisions")
    decisions = EncryptedTextField(_("decisions"), blank=True)
    # The session's day, copied so "the last supervision of a case" is one indexed read.
    held_on = models.DateField(_("held on"))

    class Meta:
        verbose_name = _("case discussed")
        constraints = [
            models.UniqueConstraint(fields=["session", "case"], name="one_discussion_per_case")
        ]
        indexes = [models.Index(fields=["case", "held_on"], name="supervision_case_day")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"case {self.case_id} in supervision {self.session_id}"


class AgreedAction(models.Model):
    """An action agreed in a session on one of its cases; its task carries the due date."""

    vault_agency: ClassVar[str | None] = "case__agency"

    session = models.ForeignKey(
        SupervisionSession, on_delete=models.CASCADE, related_name="actions"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    text = EncryptedTextField(_("action"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("to be done by"),
    )
    due_on = models.DateField(_("due on"))
    task = models.ForeignKey(
        "worklist.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("agreed action")
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return f"action {self.pk}"
