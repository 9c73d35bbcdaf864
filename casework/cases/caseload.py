"""Caseloads: each caseworker's open cases by risk level against the agency's threshold
(seed 004, standard 9: a reasonable caseload), for the supervisor's team view."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone

from casework.accounts import agency_settings
from casework.accounts.models import User
from casework.accounts.roles import Role
from casework.cases.models import OPEN_STATUSES, WORKING_STATUSES, Case, CasePolicy, RiskLevel


@dataclass(frozen=True)
class CaseloadRow:
    caseworker: User
    high: int
    medium: int
    low: int
    unassessed: int
    overdue: int  # overdue cases, by the one rule (`CaseQuerySet.overdue`)
    total: int
    threshold: int
    # Programmes in which the caseworker's open cases pass the agency's limit for it: code → (count, limit)
    over_in_programmes: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def over_threshold(self) -> bool:
        return self.total > self.threshold or bool(self.over_in_programmes)


def team_caseload(supervisor: User) -> list[CaseloadRow]:
    """The supervisor's team against the agency's reasonable caseloads (a caseworker's, a
    supervisor's own, and per programme): a few queries, however many caseworkers and cases."""
    team_id, agency_id = supervisor.team_id, supervisor.agency_id
    if team_id is None or agency_id is None:
        return []
    policy = CasePolicy.for_agency(agency_id)
    limits: dict[str, int] = agency_settings.current(agency_id, "cases.caseload_by_programme")
    over: dict[int, dict[str, tuple[int, int]]] = {}
    if limits:
        for row in (
            Case.objects.filter(
                agency_id=agency_id,
                team_id=team_id,
                status__in=OPEN_STATUSES,
                programme__code__in=list(limits),
            )
            .values("caseworker_id", "programme__code")
            .annotate(total=Count("id"))
        ):
            limit = limits[row["programme__code"]]
            if row["total"] > limit:
                over.setdefault(row["caseworker_id"], {})[row["programme__code"]] = (
                    row["total"],
                    limit,
                )
    now = timezone.now()
    counts = {
        row["caseworker_id"]: row
        for row in Case.objects.filter(
            agency_id=agency_id, team_id=team_id, status__in=OPEN_STATUSES
        )
        .values("caseworker_id")
        .annotate(
            total=Count("id"),
            high=Count("id", filter=Q(risk_level=RiskLevel.HIGH)),
            medium=Count("id", filter=Q(risk_level=RiskLevel.MEDIUM)),
            low=Count("id", filter=Q(risk_level=RiskLevel.LOW)),
            unassessed=Count("id", filter=Q(risk_level="")),
            # CaseQuerySet.overdue's rule inside the one grouped query (a test holds them equal).
            overdue=Count("id", filter=Q(status__in=WORKING_STATUSES, next_due_at__lt=now)),
        )
    }
    members = User.objects.filter(
        agency_id=agency_id,
        team_id=team_id,
        is_active=True,
        role__in=[Role.CASEWORKER, Role.SUPERVISOR],
    ).order_by("last_name", "first_name", "username")
    empty = {"total": 0, "high": 0, "medium": 0, "low": 0, "unassessed": 0, "overdue": 0}
    return [
        CaseloadRow(
            caseworker=member,
            high=counts.get(member.pk, empty)["high"],
            medium=counts.get(member.pk, empty)["medium"],
            low=counts.get(member.pk, empty)["low"],
            unassessed=counts.get(member.pk, empty)["unassessed"],
            overdue=counts.get(member.pk, empty)["overdue"],
            total=counts.get(member.pk, empty)["total"],
            threshold=(
                policy.supervisor_caseload_threshold
                if member.role == Role.SUPERVISOR
                else policy.caseload_threshold
            ),
            over_in_programmes=over.get(member.pk, {}),
        )
        for member in members
        if member.role == Role.CASEWORKER or counts.get(member.pk)
    ]
