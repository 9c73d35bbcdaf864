"""Consortium reporting: agreements to share aggregates with a lead agency, and the links that
let the lead count a person once across agencies (imported by models.py).

An agreement is a row (who agreed, from when, until when, accepted or refused by the lead when
and by whom, revoked when and by whom): the member agency proposes to share its *aggregated*
indicator figures with the lead; once the lead's administrator accepts, they count for periods
inside its dates while it is not revoked. A `PersonLink` says that two persons of two agencies are one person,
because a transfer carried the person over (or a referral was taken up as a case there); the
consortium report counts such a person once (casework/indicators/consortium.py). Neither row
holds any personal data: ids and dates.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ConsortiumAgreement(models.Model):
    member = models.ForeignKey(
        "accounts.Agency", on_delete=models.CASCADE, related_name="consortium_memberships"
    )
    lead = models.ForeignKey(
        "accounts.Agency", on_delete=models.CASCADE, related_name="consortium_members"
    )
    starts_on = models.DateField(_("shares periods from"))
    ends_on = models.DateField(_("shares periods until"), null=True, blank=True)
    agreed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("agreed by")
    )
    agreed_at = models.DateTimeField(_("agreed at"))
    revoked_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # The lead's administrator accepts (or refuses) a proposed agreement: until accepted it
    # counts nowhere (a stranger's threshold never reaches the lead's report).
    accepted_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    refused_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refused_at = models.DateTimeField(_("refused at"), null=True, blank=True)

    class Meta:
        verbose_name = _("consortium agreement")
        ordering = ["lead", "member", "-agreed_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(member=models.F("lead")), name="consortium_member_is_not_lead"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="consortium_agreement_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(refused_at__isnull=True),
                name="consortium_agreement_accepted_or_refused",
            ),
        ]
        indexes = [models.Index(fields=["lead", "member"], name="consortium_by_lead")]

    def __str__(self) -> str:
        return f"{self.member_id} → {self.lead_id} from {self.starts_on}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_pending(self) -> bool:
        """Proposed by the member, neither accepted nor refused by the lead, nor withdrawn."""
        return self.accepted_at is None and self.refused_at is None and self.revoked_at is None


class PersonLink(models.Model):
    """Two persons of two agencies known to be one person (first id smaller than the second)."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer", _("Transfer")
        REFERRAL = "referral", _("Referral")

    first = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("linked by"), max_length=10, choices=Kind.choices)
    # The transfer or the referral that linked them (an id: the row may be in another app).
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("link between persons of two agencies")
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="one_person_link_per_pair"),
            models.CheckConstraint(
                condition=Q(first__lt=models.F("second")), name="person_link_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_id} = {self.second_id} ({self.kind})"
