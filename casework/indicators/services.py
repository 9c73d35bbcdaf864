"""Who may ask for which report, the audit of unsuppressed figures, and agency-defined indicators.

The page, the API and the command all come through here, so the rules are in one place:
viewing indicators needs Perm.VIEW_INDICATORS (else the same 404 as for no page); asking for a
smaller cell threshold than the agency's needs Perm.VIEW_UNSUPPRESSED and is audited (codes only).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from casework.accounts.access import require_perm
from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.core.errors import CaseworkError, NotAllowed
from casework.indicators import rules
from casework.indicators.definitions import BUILTIN_INDICATORS, IndicatorSpec
from casework.indicators.models import IndicatorDefinition, ReportingPolicy
from casework.indicators.periods import Period
from casework.indicators.queries import GroupingSet
from casework.indicators.report import Report, build_report
from casework.indicators.trends import Trends, build_trends

UNSUPPRESSED = "indicators.unsuppressed"


# Reports only read, so they run outside a transaction: a refused request's audit entry must
# stay written when the refusal is raised.
def allowed_min_cell(
    *, by: User | None, agency: Agency, period: Period, min_cell: int | None
) -> int:
    """The threshold to apply: the agency's, unless an allowed user (or the command line, which
    runs with the database's own rights) asks for a smaller one; that request is audited."""
    threshold = ReportingPolicy.min_cell_for(agency.pk)
    if min_cell is None or min_cell >= threshold:
        return threshold if min_cell is None else min_cell
    if min_cell < 1:
        raise CaseworkError(_("The smallest count published is at least 1."), field="min_cell")
    data: dict[str, Any] = {"period": str(period), "min_cell": min_cell}
    if by is not None and not by.has_casework_perm(Perm.VIEW_UNSUPPRESSED):
        record(UNSUPPRESSED, by=by, data=data, outcome="denied", agency_id=agency.pk)
        raise NotAllowed(
            _(
                "Only a user allowed to see unsuppressed figures may lower the threshold below %(k)s."
            )
            % {"k": threshold},
            field="min_cell",
        )
    record(UNSUPPRESSED, by=by, data=data, agency_id=agency.pk)
    return min_cell


def _agency_of(user: User) -> Agency:
    """The user's agency, whose aggregates they may see (the same 404 as no page otherwise).

    Aggregates cover the whole agency: an M&E officer sees no case file but every count.
    """
    require_perm(user, Perm.VIEW_INDICATORS)
    if user.agency is None:
        raise Http404(_("Not found."))
    return user.agency


def report_for(
    user: User,
    *,
    period: Period,
    by: list[GroupingSet] | None = None,
    min_cell: int | None = None,
    codes: list[str] | None = None,
) -> Report:
    """The agency's indicators as `user` may see them (404 for anyone without the permission)."""
    agency = _agency_of(user)
    k = allowed_min_cell(by=user, agency=agency, period=period, min_cell=min_cell)
    return build_report(
        agency_id=agency.pk,
        agency_code=agency.code,
        period=period,
        by=by or [],
        min_cell=k,
        codes=codes,
    )


def report_for_command(
    agency: Agency,
    *,
    period: Period,
    by: list[GroupingSet] | None = None,
    min_cell: int | None = None,
) -> Report:
    """`casework indicators`: run by someone with shell access, so any threshold, audited."""
    k = allowed_min_cell(by=None, agency=agency, period=period, min_cell=min_cell)
    return build_report(
        agency_id=agency.pk, agency_code=agency.code, period=period, by=by or [], min_cell=k
    )


def trends_for(
    user: User,
    *,
    start: Period,
    end: Period,
    step: str,
    min_cell: int | None = None,
    slice_by: str = "",
) -> Trends:
    agency = _agency_of(user)
    span = Period(start.start, end.end)
    k = allowed_min_cell(by=user, agency=agency, period=span, min_cell=min_cell)
    return build_trends(
        agency_id=agency.pk,
        start=start.start,
        end=end.end,
        step=step,
        min_cell=k,
        slice_by=slice_by,
    )


@transaction.atomic
def define_indicator(
    *,
    agency: Agency,
    by: User,
    code: str,
    names: dict[str, str],
    kind: str,
    population: dict[str, Any],
    numerator: dict[str, Any] | None = None,
    period_semantics: str = IndicatorDefinition.PeriodSemantics.IN_CASE_MANAGEMENT,
    measures: list[str] | None = None,
    disaggregations: list[str] | None = None,
) -> IndicatorDefinition:
    """Add (or change) one of the agency's own indicators. The rules are checked before saving."""
    require_perm(by, Perm.MANAGE_CONFIGURATION)
    if by.agency_id != agency.pk:
        raise NotAllowed(_("You can define indicators for your own agency only."))
    if code in {spec["code"] for spec in BUILTIN_INDICATORS}:
        raise CaseworkError(_("This code belongs to a built-in indicator."), field="code")
    if period_semantics not in IndicatorDefinition.PeriodSemantics.values:
        raise CaseworkError(_("Unknown period rule."), field="period_semantics")
    # Raises RuleError with the path of the first problem.
    IndicatorSpec.from_values(
        {
            "code": code,
            "kind": kind,
            "period_semantics": period_semantics,
            "population": population,
            "numerator": numerator,
            "measures": measures or [],
            "disaggregations": disaggregations or [],
        }
    )
    rules.check_attributes(population or {}, numerator, agency_id=agency.pk)
    definition, created = IndicatorDefinition.objects.update_or_create(
        agency=agency,
        code=code,
        defaults={
            "names": names,
            "kind": kind,
            "period_semantics": period_semantics,
            "population": population,
            "numerator": numerator,
            "measures": measures or [],
            "disaggregations": disaggregations or [],
        },
    )
    record(
        "indicators.definition.created" if created else "indicators.definition.changed",
        by=by,
        target=definition,
        data={"code": code},
    )
    return definition
