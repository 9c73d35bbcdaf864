"""What is due on which case, and the notices that tell people about it.

A task is a row with a due date (seed 003: assessment, planning and follow-up within the risk
level's time; a referral not answered in time; a case with no contact for 30 days). It is opened,
rescheduled and closed by services, never deleted, so "what was overdue last month" stays
answerable. Case.next_due_at is a summary of the case's earliest open task, kept by
casework/worklist/services.py.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.cases.models import WORKING_STATUSES


class TaskQuerySet(models.QuerySet["Task"]):
    def open(self) -> TaskQuerySet:
        return self.filter(status=Task.Status.OPEN)

    def overdue(self, now: datetime.datetime | None = None) -> TaskQuerySet:
        """Open tasks past due on working cases: `Case.objects.overdue`'s rule, per task (a case
        is overdue exactly when it has one of these)."""
        return self.filter(
            status=Task.Status.OPEN,
            due_at__lt=now or timezone.now(),
            case__status__in=WORKING_STATUSES,
        )

    def for_user(self, user: object) -> TaskQuerySet:
        """Tasks `user` is to do: assigned to them, or unassigned on a case they hold."""
        user_id = getattr(user, "pk", None)
        return self.filter(Q(assignee_id=user_id) | Q(assignee=None, case__caseworker_id=user_id))


class Task(models.Model):
    class Kind(models.TextChoices):
        ASSESSMENT_DUE = "assessment_due", _("Assessment due")
        PLAN_DUE = "plan_due", _("Case plan due")
        FOLLOW_UP_DUE = "follow_up_due", _("Follow-up due")
        REVIEW_NO_CONTACT = "review_no_contact", _("No contact for 30 days: review the case")
        REFERRAL_OVERDUE = "referral_overdue", _("Referral not answered in time")
        # Seed 000: every client in case management is surveyed once per data-collection period.
        SURVEY_DUE = "survey_due", _("Participation survey due this period")
        # Seed 004 (reassessment): the date an approved plan, or its last review, set for the
        # next review with the client.
        PLAN_REVIEW_DUE = "plan_review_due", _("Plan review due")
        # An action agreed in a supervision session, due by the date agreed.
        SUPERVISION_ACTION = "supervision_action", _("Action agreed in supervision")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(_("task"), max_length=20, choices=Kind.choices)
    # What the task is about when a case can have several of a kind (e.g. "referrals.referral:12").
    subject = models.CharField(max_length=80, blank=True, default="")
    due_at = models.DateTimeField(_("due"))
    target_at = models.DateTimeField(_("target"), null=True, blank=True)
    # Empty: whoever holds the case (so a reassigned case takes its tasks along).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
        verbose_name=_("assigned to"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    # When the overdue check first found it late (and notified, once).
    overdue_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind", "subject"],
                condition=Q(status="open"),
                name="one_open_task_per_subject",
            )
        ]
        indexes = [
            models.Index(fields=["case", "status", "due_at"], name="task_case_due"),
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_due"),
            # The overdue check: open tasks not yet flagged, by due date.
            models.Index(
                fields=["due_at"],
                name="task_unflagged_due",
                condition=Q(status="open", overdue_at=None),
            ),
            models.Index(fields=["kind", "status", "created_at"], name="task_kind_created"),
        ]
        ordering = ["due_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    def is_overdue(self, now: datetime.datetime | None = None) -> bool:
        """The rule of `TaskQuerySet.overdue`, read off a task loaded with its case."""
        return (
            self.is_open
            and self.due_at < (now or timezone.now())
            and self.case.status in WORKING_STATUSES
        )

    def is_due_today(self, now: datetime.datetime | None = None) -> bool:
        now = now or timezone.now()
        return (
            self.is_open
            and not self.is_overdue(now)
            and timezone.localdate(self.due_at) == timezone.localdate(now)
        )


class Notification(models.Model):
    """An in-app notice (and an e-mail, when e-mail is configured). It names a case by its
    reference only: no personal data travels in a notice."""

    class Kind(models.TextChoices):
        TASK_OVERDUE = "task_overdue", _("A task is overdue")
        CONTACT_LOST = "contact_lost", _("No contact for 30 days")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        indexes = [
            models.Index(fields=["user", "read_at", "created_at"], name="notification_inbox"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
