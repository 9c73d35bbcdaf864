"""Case action plans (seed 003 "How to develop a case action plan", seed 004 "service plan").

`CasePlan` is one version of a case's plan; a new version is a new row (a copy of the previous one)
and earlier versions stay, read-only. A plan has the parts seed 003 lists: summary & check-in,
needs, goals (short- and long-term), actions with who is responsible, a safety plan, referrals &
accompaniment, the follow-up schedule and supervision, plus the roles and responsibilities of
client and caseworker (seed 004).

Around it, history as rows: how the client (and for a child, the caregiver) took part
(`Participation`), requests for approval and the supervisor's decisions (`PlanDecision`), reviews
with the progress on each goal (`PlanReview`, `GoalProgress`, `ActionUpdate`), and near-duplicate
findings with staff's decision on them (`PlanMatch`).

The case keeps a summary of its current plan (Case.plan_fold_hash, Case.plan_is_group) for the
INDIVIDUAL_PLAN indicator, maintained by casework.plans.services in the same transaction.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.accounts.models import User
from casework.cases import access
from casework.core.models import TimeStampedModel
from casework.vault.fields import EncryptedCharField, EncryptedTextField

# Near-duplicate threshold (rapidfuzz score, 0–100) when neither the agency nor the settings say.
DEFAULT_NEAR_DUPLICATE_THRESHOLD = 90


class NeedDomain(models.TextChoices):
    """The assessment domains of seed 003, as plain codes shared with casework.assessments."""

    SHELTER = "shelter", _("Living conditions & shelter")
    WASH = "wash", _("Water, sanitation & hygiene")
    FOOD = "food", _("Food & nutrition")
    HEALTH = "health", _("Physical and mental health")
    SAFETY_LEGAL = "safety_legal", _("Safety, protection & legal status")
    EDUCATION = "education", _("Children & education")
    LIVELIHOODS = "livelihoods", _("Livelihoods & economic security")
    GBV = "gbv", _("Gender-based violence")
    OTHER = "other", _("Other")


class CasePlanQuerySet(models.QuerySet["CasePlan"]):
    def current(self) -> CasePlanQuerySet:
        """The newest version of each case's plan (the one the case summary describes)."""
        newer = CasePlan.objects.filter(
            case_id=models.OuterRef("case_id"), version__gt=models.OuterRef("version")
        )
        return self.filter(~models.Exists(newer))

    def waiting_for(self, user: User) -> CasePlanQuerySet:
        """Submitted plans of the cases of `user`'s team that `user` may see (a supervisor's queue)."""
        team_id = user.team_id
        if not team_id:
            return self.none()
        return self.filter(
            status=CasePlan.Status.SUBMITTED,
            case__team_id=team_id,
            case_id__in=access.visible_cases(user).values("pk"),
        )


class CasePlan(TimeStampedModel):
    vault_agency: ClassVar[str | None] = "case__agency"

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned with comments")

    EDITABLE = (Status.DRAFT, Status.RETURNED)

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="plans")
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    planned_on = models.DateField(_("planned on"))
    # The plan's goals and actions as written (what INDIVIDUAL_PLAN compares between people).
    # Composed by the services from the goal and action rows; imports write it directly.
    text = EncryptedTextField(_("the plan as written"), blank=True)
    fold_hash = models.CharField(max_length=64, blank=True, db_index=True)
    is_group = models.BooleanField(
        _("group plan"),
        default=False,
        help_text=_("Written for a group of survivors rather than for this person alone."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The parts of seed 003's case action plan that are prose.
    summary = EncryptedTextField(_("summary and check-in"), blank=True)
    client_responsibilities = EncryptedTextField(
        _("what the client will do (role and responsibilities)"), blank=True
    )
    caseworker_responsibilities = EncryptedTextField(
        _("what the caseworker will do (role and responsibilities)"), blank=True
    )
    safety_plan = EncryptedTextField(_("safety plan"), blank=True)
    referrals = EncryptedTextField(_("referrals and accompaniment"), blank=True)
    follow_up_schedule = EncryptedTextField(_("follow-up schedule"), blank=True)
    next_review_on = models.DateField(_("next review"), null=True, blank=True)
    supervision_notes = EncryptedTextField(_("supervision"), blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    # Optimistic locking of edits: every save checks and bumps it.
    revision = models.PositiveIntegerField(default=1)

    objects = CasePlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("case plan")
        constraints = [
            models.UniqueConstraint(fields=["case", "version"], name="one_plan_version_per_case")
        ]
        indexes = [models.Index(fields=["status", "submitted_at"], name="plan_status_submitted")]
        ordering = ["case", "version"]

    def __str__(self) -> str:
        return f"plan v{self.version}"

    @property
    def is_open(self) -> bool:
        """Still being written (a draft, or returned for changes)."""
        return self.status in self.EDITABLE

    @property
    def is_empty(self) -> bool:
        return not self.fold_hash


class PlanNeed(models.Model):
    vault_agency: ClassVar[str | None] = "plan__case__agency"

    plan = models.ForeignKey(CasePlan, on_delete=models.CASCADE, related_name="needs")
    domain = models.CharField(_("domain"), max_length=16, choices=NeedDomain.choices)
    description = EncryptedTextField(_("the need"), blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("need")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.domain


class PlanGoal(models.Model):
    vault_agency: ClassVar[str | None] = "plan__case__agency"

    class Term(models.TextChoices):
        SHORT = "short", _("Short-term")
        LONG = "long", _("Long-term")

    plan = models.ForeignKey(CasePlan, on_delete=models.CASCADE, related_name="goals")
    term = models.CharField(_("term"), max_length=5, choices=Term.choices, default=Term.SHORT)
    domain = models.CharField(_("domain"), max_length=16, choices=NeedDomain.choices, blank=True)
    text = EncryptedTextField(_("goal"))
    position = models.PositiveSmallIntegerField(default=0)
    # The same goal in the version this one was copied from: progress can be followed across versions.
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("goal")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"goal {self.position + 1}"


class PlanAction(models.Model):
    vault_agency: ClassVar[str | None] = "plan__case__agency"

    class Responsible(models.TextChoices):
        CLIENT = "client", _("The client")
        CAREGIVER = "caregiver", _("The caregiver")
        CASEWORKER = "caseworker", _("The caseworker")
        ORGANISATION = "organisation", _("Another organisation")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        DECLINED = "declined", _("Declined by the client")
        CANCELLED = "cancelled", _("No longer needed")

    plan = models.ForeignKey(CasePlan, on_delete=models.CASCADE, related_name="actions")
    goal = models.ForeignKey(
        PlanGoal,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="actions",
        verbose_name=_("for goal"),
    )
    description = EncryptedTextField(_("action"))
    responsible = models.CharField(
        _("who is responsible"), max_length=12, choices=Responsible.choices
    )
    # The organisation (and contact) when another organisation acts; may name a person.
    responsible_name = EncryptedCharField(_("organisation or person"), max_length=200, blank=True)
    due_on = models.DateField(_("due"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PLANNED
    )
    position = models.PositiveSmallIntegerField(default=0)
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("action")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"action {self.position + 1}"


class ParticipationWay(models.TextChoices):
    """How the client took part (the codes of the participation survey, seed 000's Q3)."""

    EXPRESSED_NEEDS = "expressed_needs", _("Expressed their needs")
    CHOSE_SERVICES = "chose_services", _("Chose among the options offered")
    SET_GOALS = "set_goals", _("Set their own goals")
    AGREED_PLAN = "agreed_plan", _("Agreed the plan")
    DECLINED_SERVICES = "declined_services", _("Declined some services")
    OTHER = "other", _("Other")


class Participation(TimeStampedModel):
    """How the client, and for a child the caregiver, took part in writing one plan version."""

    vault_agency: ClassVar[str | None] = "plan__case__agency"

    plan = models.OneToOneField(CasePlan, on_delete=models.CASCADE, related_name="participation")
    ways = models.JSONField(_("how the client took part"), default=list, blank=True)
    client_views = EncryptedTextField(_("the client's views, in their words"), blank=True)
    # The right to decline is explicit (seed 004: clients decide which options are best for them).
    told_right_to_decline = models.BooleanField(
        _("the client was told they may decline any service without losing the others"),
        default=False,
    )
    declined_services = EncryptedTextField(_("services the client declined"), blank=True)
    client_agreed = models.BooleanField(_("the client agreed the plan"), null=True, blank=True)
    agreed_on = models.DateField(_("agreed on"), null=True, blank=True)
    # For a child: the caregiver's part, or why the caregiver took no part (best interests).
    caregiver_involved = models.BooleanField(_("the caregiver took part"), null=True, blank=True)
    caregiver_ways = models.JSONField(_("how the caregiver took part"), default=list, blank=True)
    caregiver_agreed = models.BooleanField(
        _("the caregiver agreed the plan"), null=True, blank=True
    )
    caregiver_agreed_on = models.DateField(_("caregiver agreed on"), null=True, blank=True)
    caregiver_not_involved_reason = EncryptedTextField(
        _("why the caregiver took no part"), blank=True
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("participation")

    def __str__(self) -> str:
        return f"participation in plan {self.plan_id}"

    def get_ways_display(self) -> list[str]:
        labels = dict(ParticipationWay.choices)
        return [str(labels.get(code, code)) for code in self.ways]

    def get_caregiver_ways_display(self) -> list[str]:
        labels = dict(ParticipationWay.choices)
        return [str(labels.get(code, code)) for code in self.caregiver_ways]


class PlanDecision(models.Model):
    """One step of the approval history: a request, an approval or a return with comments."""

    vault_agency: ClassVar[str | None] = "plan__case__agency"

    class Kind(models.TextChoices):
        REQUESTED = "requested", _("Approval requested")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned with comments")

    plan = models.ForeignKey(CasePlan, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    comment = EncryptedTextField(_("comments"), blank=True)

    class Meta:
        verbose_name = _("plan decision")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} plan {self.plan_id}"


class PlanReview(TimeStampedModel):
    """A review of an approved plan with the client: progress on each goal (seed 004 reassessment)."""

    vault_agency: ClassVar[str | None] = "plan__case__agency"

    plan = models.ForeignKey(CasePlan, on_delete=models.CASCADE, related_name="reviews")
    reviewed_on = models.DateField(_("reviewed on"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    summary = EncryptedTextField(_("what changed: new needs, new risks"), blank=True)
    next_review_on = models.DateField(_("next review"), null=True, blank=True)

    class Meta:
        verbose_name = _("plan review")
        ordering = ["reviewed_on", "id"]

    def __str__(self) -> str:
        return f"review {self.pk} of plan {self.plan_id}"


class GoalProgress(models.Model):
    vault_agency: ClassVar[str | None] = "review__plan__case__agency"

    class Progress(models.TextChoices):
        NOT_STARTED = "not_started", _("Not started")
        SOME = "some_progress", _("Some progress")
        ACHIEVED = "achieved", _("Achieved")
        NOT_ACHIEVED = "not_achieved", _("Not achieved")
        NO_LONGER_RELEVANT = "no_longer_relevant", _("No longer relevant")

    review = models.ForeignKey(PlanReview, on_delete=models.CASCADE, related_name="progress")
    goal = models.ForeignKey(PlanGoal, on_delete=models.CASCADE, related_name="progress")
    progress = models.CharField(_("progress"), max_length=20, choices=Progress.choices)
    note = EncryptedTextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("progress on a goal")
        constraints = [
            models.UniqueConstraint(fields=["review", "goal"], name="one_progress_per_goal_review")
        ]
        ordering = ["goal__position", "id"]

    def __str__(self) -> str:
        return f"{self.goal_id}: {self.progress}"


class ActionUpdate(models.Model):
    """A change of an action's status recorded at a review (the action keeps its latest status)."""

    review = models.ForeignKey(PlanReview, on_delete=models.CASCADE, related_name="action_updates")
    action = models.ForeignKey(PlanAction, on_delete=models.CASCADE, related_name="updates")
    from_status = models.CharField(max_length=12, choices=PlanAction.Status.choices)
    to_status = models.CharField(max_length=12, choices=PlanAction.Status.choices)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.action_id}: {self.from_status} → {self.to_status}"


class PlanMatch(models.Model):
    """A plan found nearly the same as another person's plan, and staff's decision on it.

    The pair is recorded with the folded-text hashes compared, so a decision is about those
    texts: once either plan is rewritten the finding no longer applies (and a new check may find
    the pair again).
    """

    vault_agency: ClassVar[str | None] = "plan__case__agency"

    class Decision(models.TextChoices):
        PENDING = "pending", _("To be checked")
        CONFIRMED = "confirmed", _("Confirmed: not individualised")
        DISMISSED = "dismissed", _("Dismissed: the plans differ")

    plan = models.ForeignKey(CasePlan, on_delete=models.CASCADE, related_name="matches")
    other_plan = models.ForeignKey(CasePlan, on_delete=models.CASCADE, related_name="matched_by")
    score = models.PositiveSmallIntegerField(_("similarity"))
    plan_fold_hash = models.CharField(max_length=64)
    other_fold_hash = models.CharField(max_length=64)
    found_at = models.DateTimeField()
    decision = models.CharField(
        _("decision"), max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = EncryptedTextField(_("why"), blank=True)

    class Meta:
        verbose_name = _("near-duplicate plan")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "other_plan", "plan_fold_hash", "other_fold_hash"],
                name="one_match_per_plan_pair_text",
            )
        ]
        indexes = [models.Index(fields=["other_plan", "decision"], name="match_other_decision")]

    def __str__(self) -> str:
        return f"{self.plan_id} ~ {self.other_plan_id} ({self.score})"


class PlanBand(models.Model):
    """Locality-sensitive hashes (MinHash bands) of the current plan of every case.

    Two plans sharing a band are candidates for the near-duplicate check; nothing else is ever
    compared, so checking a new plan costs a few index lookups whatever the number of plans. The
    band value already includes the agency, so plans are only compared within their agency.
    """

    plan = models.ForeignKey(CasePlan, on_delete=models.CASCADE, related_name="+")
    # The person of the plan's case, so another case of the same person is no candidate.
    person_id = models.BigIntegerField()
    band = models.BigIntegerField()

    class Meta:
        # Covering: the candidate query reads the index alone (no table rows) on PostgreSQL.
        indexes = [models.Index(fields=["band", "plan", "person_id"], name="plan_band_covering")]

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.band}"


class PlanSettings(models.Model):
    """An agency's own near-duplicate threshold (the settings' default applies otherwise)."""

    agency = models.OneToOneField(
        "accounts.Agency", on_delete=models.CASCADE, related_name="plan_settings"
    )
    near_duplicate_threshold = models.PositiveSmallIntegerField(
        _("near-duplicate threshold"),
        default=DEFAULT_NEAR_DUPLICATE_THRESHOLD,
        validators=[MinValueValidator(50), MaxValueValidator(100)],
        help_text=_(
            "Plans of two people at least this similar (0–100) are flagged for staff to check."
        ),
    )

    class Meta:
        verbose_name = _("plan settings")
        verbose_name_plural = _("plan settings")

    def __str__(self) -> str:
        return f"plan settings of agency {self.agency_id}"


class DocumentationCriterion(models.TextChoices):
    """Documenting with care, the F.A.C.T.S. of seed 003 ("Documentation"): what a spot check
    looks for in the plan's file. The agency chooses which of them its checklist asks
    (setting plans.verification_checklist)."""

    FACTUAL = "factual", _("Factual: what was seen and said, not opinions")
    ACCURATE = "accurate", _("Accurate: names, dates and services are right")
    COMPLETE = "complete", _("Complete: needs, goals, actions and who does what are all there")
    TIMELY = "timely", _("Timely: written and updated soon after each contact")
    SECURE = "secure", _("Secure: kept confidential, shared only with consent")


class SpotCheckSample(models.Model):
    """A random sample of one period's plans drawn for spot checks with staff (seed 001,
    verification 3). Reproducible: the same seed over the same plans draws the same sample; it
    is stratified by team and takes at least one plan of every caseworker with plans in the
    period. A supervisor's sample covers their team (`team`), an M&E officer's the agency."""

    agency = models.ForeignKey("accounts.Agency", on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    seed = models.PositiveBigIntegerField(_("random seed"))
    percent = models.PositiveSmallIntegerField(_("share of the plans sampled (%)"))
    # How many plans the sample was drawn from (the period's plans in its scope).
    population = models.PositiveIntegerField(_("plans in the period"))
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    drawn_at = models.DateTimeField(_("drawn"))

    class Meta:
        verbose_name = _("spot-check sample")
        indexes = [
            models.Index(fields=["agency", "period_start", "period_end"], name="spot_sample_period")
        ]
        ordering = ["-drawn_at", "-id"]

    def __str__(self) -> str:
        return f"sample {self.pk} ({self.period_start}..{self.period_end})"


class SpotCheck(models.Model):
    """One sampled plan and, once checked, what the checker found: individualised or not, which
    documentation criteria hold, and a comment."""

    vault_agency: ClassVar[str | None] = "sample__agency"

    sample = models.ForeignKey(SpotCheckSample, on_delete=models.CASCADE, related_name="checks")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    # The version sampled (the case's current plan when the sample was drawn).
    plan = models.ForeignKey(CasePlan, on_delete=models.CASCADE, related_name="spot_checks")
    # The stratum, and the caseworker whose plan it is, as they were when drawn.
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    caseworker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    individualised = models.BooleanField(_("individualised"), null=True, blank=True)
    # The criteria the agency's checklist asked, and those the file met.
    checklist = models.JSONField(default=list, blank=True)
    criteria_met = models.JSONField(_("documentation criteria met"), default=list, blank=True)
    comment = EncryptedTextField(_("comment"), blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)

    class Meta:
        verbose_name = _("spot check")
        constraints = [
            models.UniqueConstraint(fields=["sample", "case"], name="one_spot_check_per_case")
        ]
        ordering = ["sample", "team_id", "id"]

    def __str__(self) -> str:
        return f"spot check {self.pk} of plan {self.plan_id}"

    @property
    def is_done(self) -> bool:
        return self.checked_at is not None

    def get_criteria_met_display(self) -> list[str]:
        labels = dict(DocumentationCriterion.choices)
        return [str(labels.get(code, code)) for code in self.criteria_met]
