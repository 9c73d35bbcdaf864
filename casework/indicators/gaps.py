"""The service-gap report (seed 004, advocacy): unmet needs by need × area, and referral
outcomes by organisation, for a reporting period. Aggregates only: no name, no case reference.

What is counted:
- *Unmet needs* (`referrals.UnmetNeed`) that stood at some time in the period: recorded by its
  last day and not resolved before its first. Persons and cases are counted once per need and
  area; the area is the case's as it was when the gap was recorded, at the admin level asked
  for (a case placed only at a higher level counts under "area not recorded").
- *Referrals* sent in the period, by receiving organisation, with what their events say had
  happened by the period's last day (accepted, declined, service delivered, cancelled, still
  awaiting an answer) and the days from sending to the first "service delivered" event.

Persons who refuse anonymised reporting on the period's last day are left out of both, as from
the indicators (`queries.refusal_in_force`), and the report says how many. Every table is
suppressed like the indicator report (`suppression.py`): counts from 1 to k-1 are hidden, then
enough other cells that no hidden count can be worked back out from the margins published.
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.accounts.access import require_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.core.errors import CaseworkError
from casework.indicators import suppression
from casework.indicators.periods import Period
from casework.indicators.queries import refusal_in_force
from casework.indicators.services import allowed_min_cell
from casework.reference.models import Location
from casework.referrals.models import (
    Organisation,
    Referral,
    ReferralEvent,
    UnmetNeed,
    need_label,
)

LEVELS = (1, 2, 3)
# The outcome columns, each a count of the organisation's referrals sent in the period.
OUTCOMES = ("accepted", "declined", "delivered", "cancelled", "awaiting")
OUTCOME_LABELS = {
    "accepted": gettext_lazy("Accepted"),
    "declined": gettext_lazy("Declined"),
    "delivered": gettext_lazy("Service delivered"),
    "cancelled": gettext_lazy("Cancelled"),
    "awaiting": gettext_lazy("Still awaiting an answer"),
}
UNKNOWN_AREA = ""


@dataclass(frozen=True)
class Figure:
    """A published number, or None when suppressed (never a zero standing in for a secret)."""

    value: int | float | None
    suppressed: bool = False

    @classmethod
    def of(cls, value: int | float | None, hidden: bool) -> Figure:
        return cls(None, True) if hidden else cls(value, False)

    def text(self) -> str:
        if self.suppressed:
            return _("suppressed")
        return "—" if self.value is None else str(self.value)

    def as_json(self) -> int | float | None:
        return self.value


@dataclass
class NeedRow:
    need: str
    label: str
    persons: Figure
    cases: Figure
    new_in_period: Figure  # persons with a gap for this need recorded in the period
    open_at_end: Figure  # persons whose gap for this need was still unresolved at the end
    by_reason: dict[str, Figure] = field(default_factory=dict)
    by_area: dict[str, Figure] = field(default_factory=dict)


@dataclass
class OutcomeRow:
    organisation: str  # code ("" for the total line)
    name: str
    sent: Figure
    counts: dict[str, Figure]
    median_days: Figure
    mean_days: Figure


@dataclass
class GapReport:
    agency_code: str
    period: Period
    level: int
    min_cell: int
    persons: Figure
    needs: list[NeedRow]
    areas: list[tuple[str, str]]  # (code, label)
    area_totals: dict[str, Figure]
    reasons: list[tuple[str, str]]  # (code, label)
    reason_totals: dict[str, Figure]
    outcomes: list[OutcomeRow]
    outcome_total: OutcomeRow
    left_out: Figure

    def as_json(self) -> dict[str, Any]:
        def figures(values: dict[str, Figure]) -> dict[str, Any]:
            return {key: figure.as_json() for key, figure in values.items()}

        def outcome(row: OutcomeRow) -> dict[str, Any]:
            return {
                "organisation": row.organisation,
                "name": row.name,
                "sent": row.sent.as_json(),
                **figures(row.counts),
                "median_days_to_service": row.median_days.as_json(),
                "mean_days_to_service": row.mean_days.as_json(),
            }

        return {
            "agency": self.agency_code,
            "period": {
                "label": str(self.period),
                "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(),
            },
            "admin_level": self.level,
            "min_cell": self.min_cell,
            "note": "null is a suppressed figure",
            "left_out": self.left_out.as_json(),
            "unmet_needs": {
                "persons": self.persons.as_json(),
                "by_area": figures(self.area_totals),
                "by_reason": figures(self.reason_totals),
                "needs": [
                    {
                        "need": row.need,
                        "persons": row.persons.as_json(),
                        "cases": row.cases.as_json(),
                        "new_in_period": row.new_in_period.as_json(),
                        "open_at_end": row.open_at_end.as_json(),
                        "by_area": figures(row.by_area),
                        "by_reason": figures(row.by_reason),
                    }
                    for row in self.needs
                ],
            },
            "referral_outcomes": {
                "organisations": [outcome(row) for row in self.outcomes],
                "total": outcome(self.outcome_total),
            },
        }


def _bounds(period: Period) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(period.start, datetime.time.min))
    end = timezone.make_aware(datetime.datetime.combine(period.end, datetime.time.max))
    return start, end


# --- unmet needs ----------------------------------------------------------------------------------


@dataclass
class _Gaps:
    """Distinct persons and cases behind every figure of the unmet-needs tables."""

    persons: set[int] = field(default_factory=set)
    by_need: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    cases_by_need: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    new_by_need: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    open_by_need: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_area: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_reason: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_need_area: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    by_need_reason: dict[tuple[str, str], set[int]] = field(
        default_factory=lambda: defaultdict(set)
    )


def _gaps_in(agency_id: int, period: Period, level: int) -> tuple[_Gaps, set[int]]:
    """(what the tables count, the persons refusing reporting left out)."""
    standing = UnmetNeed.objects.filter(case__agency_id=agency_id).open_during(
        period.start, period.end
    )
    refusing = refusal_in_force(period.end, "case__person_id")
    left_out = set(standing.filter(refusing).values_list("case__person_id", flat=True))
    rows = standing.exclude(refusing).values_list(
        "need_code",
        f"location__adm{level}_code",
        "reason",
        "case_id",
        "case__person_id",
        "recorded_on",
        "resolved_on",
    )
    gaps = _Gaps()
    for need, area, reason, case_id, person_id, recorded_on, resolved_on in rows:
        area = area or UNKNOWN_AREA
        gaps.persons.add(person_id)
        gaps.by_need[need].add(person_id)
        gaps.cases_by_need[need].add(case_id)
        if recorded_on >= period.start:
            gaps.new_by_need[need].add(person_id)
        if resolved_on is None or resolved_on > period.end:
            gaps.open_by_need[need].add(person_id)
        gaps.by_area[area].add(person_id)
        gaps.by_reason[reason].add(person_id)
        gaps.by_need_area[(need, area)].add(person_id)
        gaps.by_need_reason[(need, reason)].add(person_id)
    return gaps, left_out


def _two_way_table(
    counts: dict[tuple[str, str], set[int]],
    *,
    rows: dict[str, int],
    columns: dict[str, int],
    hidden_rows: set[str],
    hidden_columns: set[str],
    total: int,
    total_hidden: bool,
    k: int,
) -> dict[tuple[str, str], Figure]:
    cells = {
        (row, column): (len(counts.get((row, column), ())),) for row in rows for column in columns
    }
    hidden = suppression.two_way(
        cells,
        rows={row: (count,) for row, count in rows.items()},
        columns={column: (count,) for column, count in columns.items()},
        hidden_rows=hidden_rows,
        hidden_columns=hidden_columns,
        total=(total,),
        total_hidden=total_hidden,
        k=k,
    )
    return {key: Figure.of(figures[0], key in hidden) for key, figures in cells.items()}


def _area_labels(codes: list[str]) -> dict[str, str]:
    labels = {location.code: location.label for location in Location.objects.filter(code__in=codes)}
    labels[UNKNOWN_AREA] = _("Area not recorded")
    return labels


def _unmet_tables(gaps: _Gaps, *, k: int) -> dict[str, Any]:
    total = len(gaps.persons)
    need_counts = {need: len(persons) for need, persons in sorted(gaps.by_need.items())}
    area_counts = {area: len(persons) for area, persons in sorted(gaps.by_area.items())}
    reason_counts = {
        reason: len(gaps.by_reason.get(reason, ()))
        for reason in UnmetNeed.Reason.values
        if reason in gaps.by_reason
    }
    hidden_needs, total_hidden = suppression.one_way(
        {need: (count,) for need, count in need_counts.items()}, total=(total,), k=k
    )
    hidden_areas, _total = suppression.one_way(
        {area: (count,) for area, count in area_counts.items()}, total=(total,), k=k
    )
    hidden_reasons, _total = suppression.one_way(
        {reason: (count,) for reason, count in reason_counts.items()}, total=(total,), k=k
    )
    by_area = _two_way_table(
        gaps.by_need_area,
        rows=need_counts,
        columns=area_counts,
        hidden_rows=hidden_needs,
        hidden_columns=hidden_areas,
        total=total,
        total_hidden=total_hidden,
        k=k,
    )
    by_reason = _two_way_table(
        gaps.by_need_reason,
        rows=need_counts,
        columns=reason_counts,
        hidden_rows=hidden_needs,
        hidden_columns=hidden_reasons,
        total=total,
        total_hidden=total_hidden,
        k=k,
    )
    needs = []
    for need, count in need_counts.items():
        hidden = need in hidden_needs
        # Beside-figures of a need are parts of its persons: hidden with it, or when they or
        # what is left of the need beside them are small (as an indicator's numerator is).
        new = len(gaps.new_by_need.get(need, ()))
        still_open = len(gaps.open_by_need.get(need, ()))
        needs.append(
            NeedRow(
                need=need,
                label=need_label(need),
                persons=Figure.of(count, hidden),
                cases=Figure.of(len(gaps.cases_by_need[need]), hidden),
                new_in_period=Figure.of(new, hidden or suppression.needs_primary((new, count), k)),
                open_at_end=Figure.of(
                    still_open, hidden or suppression.needs_primary((still_open, count), k)
                ),
                by_area={area: by_area[(need, area)] for area in area_counts},
                by_reason={reason: by_reason[(need, reason)] for reason in reason_counts},
            )
        )
    labels = _area_labels(list(area_counts))
    return {
        "persons": Figure.of(total, total_hidden),
        "needs": needs,
        "areas": [(area, labels.get(area, area)) for area in area_counts],
        "area_totals": {
            area: Figure.of(count, area in hidden_areas) for area, count in area_counts.items()
        },
        "reasons": [(reason, str(UnmetNeed.Reason(reason).label)) for reason in reason_counts],
        "reason_totals": {
            reason: Figure.of(count, reason in hidden_reasons)
            for reason, count in reason_counts.items()
        },
    }


# --- referral outcomes --------------------------------------------------------------------------


def _reached(status: str, end: datetime.datetime) -> Exists:
    return Exists(ReferralEvent.objects.filter(referral=OuterRef("pk"), status=status, at__lte=end))


@dataclass
class _Outcomes:
    sent: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    days: list[float] = field(default_factory=list)

    def add(
        self,
        accepted: bool,
        declined: bool,
        delivered: bool,
        cancelled: bool,
        days: float | None,
    ) -> None:
        self.sent += 1
        for name, reached in (
            ("accepted", accepted),
            ("declined", declined),
            ("delivered", delivered),
            ("cancelled", cancelled),
            ("awaiting", not (accepted or declined or cancelled)),
        ):
            self.counts[name] += int(reached)
        if days is not None:
            self.days.append(days)


def _referrals_in(agency_id: int, period: Period) -> tuple[dict[int, _Outcomes], set[int]]:
    """Per organisation id, what became of the referrals sent in the period (one statement),
    and how many persons refusing reporting were left out."""
    start, end = _bounds(period)
    sent = Referral.objects.filter(case__agency_id=agency_id, sent_at__range=(start, end))
    refusing = refusal_in_force(period.end, "case__person_id")
    left_out = set(sent.filter(refusing).values_list("case__person_id", flat=True))
    first_service = (
        ReferralEvent.objects.filter(
            referral=OuterRef("pk"), status=Referral.Status.DELIVERED, at__lte=end
        )
        .order_by("at")
        .values("at")[:1]
    )
    rows = (
        sent.exclude(refusing)
        .annotate(
            was_accepted=_reached(Referral.Status.ACCEPTED, end),
            was_declined=_reached(Referral.Status.DECLINED, end),
            was_delivered=_reached(Referral.Status.DELIVERED, end),
            was_cancelled=_reached(Referral.Status.CANCELLED, end),
            first_service_at=Subquery(first_service),
        )
        .values_list(
            "organisation_id",
            "was_accepted",
            "was_declined",
            "was_delivered",
            "was_cancelled",
            "sent_at",
            "first_service_at",
        )
    )
    outcomes: dict[int, _Outcomes] = defaultdict(_Outcomes)
    for organisation_id, accepted, declined, delivered, cancelled, sent_at, served_at in rows:
        days = None
        if served_at is not None:
            days = (served_at - sent_at).total_seconds() / 86400
        outcomes[organisation_id].add(accepted, declined, delivered, cancelled, days)
    return outcomes, left_out


def _days(days: list[float], hidden: bool) -> tuple[Figure, Figure]:
    if not days:
        return Figure(None), Figure(None)
    return (
        Figure.of(round(statistics.median(days), 1), hidden),
        Figure.of(round(statistics.fmean(days), 1), hidden),
    )


def _outcome_tables(outcomes: dict[int, _Outcomes], *, k: int) -> dict[str, Any]:
    found = Organisation.objects.filter(pk__in=list(outcomes)).values_list("pk", "code", "name")
    names = {pk: (code, name) for pk, code, name in found}
    order = sorted(outcomes, key=lambda pk: (names.get(pk, ("", ""))[1], pk))
    total = _Outcomes()
    for item in outcomes.values():
        total.sent += item.sent
        for name in OUTCOMES:
            total.counts[name] += item.counts[name]
        total.days += item.days
    # Rows are organisations (margin: referrals sent), columns the outcomes (margin: all
    # organisations'); each outcome is a part of what was sent, so it is hidden when it or the
    # rest of the sent referrals beside it is small.
    hidden_rows, total_hidden = suppression.one_way(
        {pk: (outcomes[pk].sent,) for pk in order}, total=(total.sent,), k=k
    )
    hidden_columns = {
        name
        for name in OUTCOMES
        if total_hidden or suppression.needs_primary((total.counts[name], total.sent), k)
    }
    cells = {
        (pk, name): (outcomes[pk].counts[name], outcomes[pk].sent)
        for pk in order
        for name in OUTCOMES
    }
    hidden_cells = suppression.two_way(
        cells,
        rows={pk: (outcomes[pk].sent,) for pk in order},
        columns={name: (total.counts[name], total.sent) for name in OUTCOMES},
        hidden_rows=hidden_rows,
        hidden_columns=hidden_columns,
        total=(total.sent,),
        total_hidden=total_hidden,
        k=k,
    )

    def row(
        code: str, name: str, item: _Outcomes, counts: dict[str, Figure], sent_hidden: bool
    ) -> OutcomeRow:
        # Days are published only over enough delivered services that none is one person's.
        days_hidden = counts["delivered"].suppressed or suppression.is_small(len(item.days), k)
        median, mean = _days(item.days, days_hidden)
        return OutcomeRow(code, name, Figure.of(item.sent, sent_hidden), counts, median, mean)

    rows = [
        row(
            *names.get(pk, ("", "")),
            outcomes[pk],
            {
                name: Figure.of(outcomes[pk].counts[name], (pk, name) in hidden_cells)
                for name in OUTCOMES
            },
            pk in hidden_rows,
        )
        for pk in order
    ]
    total_row = row(
        "",
        _("All organisations"),
        total,
        {name: Figure.of(total.counts[name], name in hidden_columns) for name in OUTCOMES},
        total_hidden,
    )
    return {"outcomes": rows, "outcome_total": total_row}


def build_gap_report(
    *, agency_id: int, agency_code: str, period: Period, level: int, min_cell: int
) -> GapReport:
    gaps, gaps_left_out = _gaps_in(agency_id, period, level)
    outcomes, referrals_left_out = _referrals_in(agency_id, period)
    left_out = len(gaps_left_out | referrals_left_out)
    return GapReport(
        agency_code=agency_code,
        period=period,
        level=level,
        min_cell=min_cell,
        left_out=Figure.of(left_out, suppression.is_small(left_out, min_cell)),
        **_unmet_tables(gaps, k=min_cell),
        **_outcome_tables(outcomes, k=min_cell),
    )


def gap_report_for(
    user: User, *, period: Period, level: int = 1, min_cell: int | None = None
) -> GapReport:
    """The agency's service-gap report as `user` may see it: the indicators' audience
    (Perm.VIEW_INDICATORS; the same 404 as no page otherwise) and their suppression threshold
    (a smaller one needs Perm.VIEW_UNSUPPRESSED and is audited)."""
    require_perm(user, Perm.VIEW_INDICATORS)
    if user.agency is None:
        raise Http404(_("Not found."))
    if level not in LEVELS:
        raise CaseworkError(_("Choose admin level 1, 2 or 3."), field="level")
    k = allowed_min_cell(by=user, agency=user.agency, period=period, min_cell=min_cell)
    return build_gap_report(
        agency_id=user.agency.pk,
        agency_code=user.agency.code,
        period=period,
        level=level,
        min_cell=k,
    )
