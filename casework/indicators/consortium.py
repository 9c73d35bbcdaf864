"""The consortium report: members' aggregated figures added up for a lead agency.

A member agency proposes (a `ConsortiumAgreement` row, dated and revocable) to share its
aggregated indicator figures with a lead agency; the lead's administrator accepts (or refuses),
and only an accepted agreement counts. The lead's report for a period:

1. counts, for the lead and every member whose agreement covers the period, the shared
   indicators with the same grouped queries as the agency's own report (queries.count_persons),
   each inside its own agency: only aggregated counts come out;
2. counts a person once where a `PersonLink` (a transfer that gave the receiving agency a copy of
   the person, or a referral taken up as a case there) says two agencies' records are one person.
   For the linked persons only, the same query grouped per person says in which cell each
   agency's record falls; that stays inside this module, and only the per-cell corrections
   (counts) leave it. The person keeps the record of the smallest agency id (then person id),
   with what the records hold together (counted in the numerator or a beside-figure when either
   record is): so the roll-up is the members' figures added up minus the linked persons' second
   records, and every table still adds up to its total;
3. suppresses after the roll-up, with the strictest member's threshold, and so that no figure of
   a member's own report that its report hides can be worked back out by subtracting published
   figures: a cell that any member's own report hides (its own threshold, its own complementary
   cells) is hidden in the roll-up too, and so is a cell that counting a small number of persons
   once changed: where a second record was dropped, and where the kept record took what the other
   agency's record holds (a numerator or a beside-figure: the lead knows its own figures, so the
   difference would tell what a person did at another agency), whether or not it moved a figure;
   complementary suppression then closes every line of the roll-up
   (suppression.py). A union of patterns without a recoverable cell has none either: each hidden
   cell still lies on the cycle its own member's pattern gave it.

Persons registered separately by two members with no transfer or referral between them cannot
be recognised without moving names across agencies, which this report never does: the page and
the exports say so (`REMAINING_OVERLAP`).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.accounts.models import Agency, User
from casework.audit.log import record
from casework.core.errors import Conflict, FieldErrors, NotAllowed
from casework.indicators import report as single
from casework.indicators import selectors, suppression
from casework.indicators.consortium_models import ConsortiumAgreement, PersonLink
from casework.indicators.definitions import IndicatorSpec
from casework.indicators.dimensions import DIMENSIONS
from casework.indicators.models import IndicatorDefinition, ReportingPolicy
from casework.indicators.periods import Period
from casework.indicators.queries import (
    Counts,
    Figures,
    GroupingSet,
    Key,
    KeyMaker,
    _Plan,
    count_persons,
    grouped_rows,
    latest_survey_mask,
    latest_surveys,
    raw_set,
)

REMAINING_OVERLAP = gettext_lazy(
    "Persons counted once: those whose records in two agencies are linked by a transfer or a "
    "referral. A person registered separately by two agencies, with no transfer or referral "
    "between them, is still counted once by each: the consortium's figures may count such "
    "persons more than once, and no more can be said without moving names between agencies."
)


# --- agreements and links (services: each change a row, audited) -------------------------------


def _check_dates(starts_on: datetime.date, ends_on: datetime.date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise FieldErrors({"ends_on": [_("The end comes before the start.")]})


@transaction.atomic
def agree(
    *,
    by: User,
    lead: Agency,
    starts_on: datetime.date,
    ends_on: datetime.date | None = None,
) -> ConsortiumAgreement:
    """The user's agency agrees to share its aggregated figures with the lead agency."""
    from casework.accounts.access import check_perm
    from casework.accounts.roles import Perm

    check_perm(by, Perm.MANAGE_CONFIGURATION)
    if by.agency_id is None or lead.pk == by.agency_id:
        raise FieldErrors({"lead": [_("Choose another agency as the lead.")]})
    _check_dates(starts_on, ends_on)
    agreement = ConsortiumAgreement.objects.create(
        member_id=by.agency_id,
        lead=lead,
        starts_on=starts_on,
        ends_on=ends_on,
        agreed_by=by,
        agreed_at=timezone.now(),
    )
    record(
        "indicators.consortium.agreed",
        by=by,
        target=agreement,
        agency_id=by.agency_id,
        data={
            "lead": lead.code,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat() if ends_on else None,
        },
    )
    return agreement


@transaction.atomic
def answer(agreement: ConsortiumAgreement, *, by: User, accept: bool) -> ConsortiumAgreement:
    """The lead agency's administrator accepts (or refuses) a member's proposal: until accepted,
    the agreement counts in no report and its threshold reaches nobody."""
    from casework.accounts.access import check_perm
    from casework.accounts.roles import Perm

    check_perm(by, Perm.MANAGE_CONFIGURATION)
    agreement = ConsortiumAgreement.objects.select_for_update().get(pk=agreement.pk)
    if agreement.lead_id != by.agency_id:
        raise NotAllowed(_("Only the lead agency may accept or refuse an agreement."))
    if not agreement.is_pending:
        raise Conflict(_("This agreement is no longer waiting for an answer."))
    now = timezone.now()
    if accept:
        agreement.accepted_at, agreement.accepted_by = now, by
        fields = ["accepted_at", "accepted_by"]
    else:
        agreement.refused_at, agreement.refused_by = now, by
        fields = ["refused_at", "refused_by"]
    agreement.save(update_fields=fields)
    record(
        "indicators.consortium.accepted" if accept else "indicators.consortium.refused",
        by=by,
        target=agreement,
        agency_id=by.agency_id,
        data={"member": agreement.member.code},
    )
    return agreement


@transaction.atomic
def revoke(agreement: ConsortiumAgreement, *, by: User) -> ConsortiumAgreement:
    """The member stops sharing: no consortium report includes it any more."""
    from casework.accounts.access import check_perm
    from casework.accounts.roles import Perm

    check_perm(by, Perm.MANAGE_CONFIGURATION)
    if agreement.member_id != by.agency_id:
        raise NotAllowed(_("Only the member agency may revoke its agreement."))
    if agreement.revoked_at is not None:
        raise Conflict(_("This agreement is already revoked."))
    agreement.revoked_at = timezone.now()
    agreement.revoked_by = by
    agreement.save(update_fields=["revoked_at", "revoked_by"])
    record(
        "indicators.consortium.revoked",
        by=by,
        target=agreement,
        agency_id=by.agency_id,
        data={"lead": agreement.lead.code},
    )
    return agreement


def link_persons(first_id: int, second_id: int, *, kind: str, source_id: int | None) -> None:
    """Record that two persons of two agencies are one person (no personal data: ids)."""
    if first_id == second_id:
        return
    low, high = sorted((first_id, second_id))
    PersonLink.objects.get_or_create(
        first_id=low, second_id=high, defaults={"kind": kind, "source_id": source_id}
    )


def _case_transferred(event: Any) -> None:
    """A transfer that gave the receiving agency a copy of the person links the two records."""
    if event.from_person_id is not None:
        link_persons(
            event.from_person_id,
            event.case.person_id,
            kind=PersonLink.Kind.TRANSFER,
            source_id=None,
        )


def connect() -> None:
    from casework.cases import events

    events.case_transferred.connect(_case_transferred)


# --- who is in a period's consortium --------------------------------------------------------------


def accepted() -> Any:
    """The agreements the lead accepted (only these count anywhere)."""
    return ConsortiumAgreement.objects.filter(accepted_at__isnull=False, refused_at__isnull=True)


def agreements_covering(lead_id: int, period: Period) -> Any:
    """The agreements in force for the whole period: accepted by the lead, started by its first
    day, not ended before its last, not revoked."""
    return accepted().filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=period.end),
        lead_id=lead_id,
        starts_on__lte=period.start,
        revoked_at__isnull=True,
    )


def members_of(lead_id: int, period: Period) -> list[int]:
    """The lead, then its members for the period (agency ids, each once)."""
    members = sorted(set(agreements_covering(lead_id, period).values_list("member_id", flat=True)))
    return [lead_id, *[member for member in members if member != lead_id]]


def shared_specs() -> list[IndicatorSpec]:
    """The indicators every agency reports (the built-ins and other shared definitions): an
    agency's own indicators mean nothing summed with another's."""
    return selectors.specs_of(
        IndicatorDefinition.objects.filter(agency__isnull=True, is_active=True)
    )


# --- linked persons: per person, inside the system ---------------------------------------------------

# person id → indicator code → dimensions → (key, figures) where the person is counted
PerPerson = dict[int, dict[str, dict[GroupingSet, tuple[Key, Figures]]]]


def _per_person(
    *,
    agency_id: int,
    period: Period,
    specs: Sequence[IndicatorSpec],
    sets: Sequence[GroupingSet],
    persons: Q,
) -> PerPerson:
    """The figures of each of these persons in this agency, per indicator and cell.

    The report's own query (queries._Plan), grouped by person as well: the same rules, the same
    representative case, the same refusals. The result never leaves this module.
    """
    from casework.cases.models import Case
    from casework.indicators import rules
    from casework.indicators.dimensions import RAW_COLUMNS

    result: PerPerson = defaultdict(dict)
    all_sets: list[GroupingSet] = [(), *[s for s in sets if s]]
    raw_sets = list(dict.fromkeys(raw_set(s) for s in all_sets))
    raw_columns = sorted({raw for s in raw_sets for raw in s}, key=list(RAW_COLUMNS).index)
    keys = KeyMaker()
    groups: dict[str, list[IndicatorSpec]] = defaultdict(list)
    for spec in specs:
        groups[spec.period_semantics].append(spec)
    for group in groups.values():
        cases = Case.objects.filter(persons, agency_id=agency_id).filter(
            rules.PERIOD_SEMANTICS[group[0].period_semantics](period)
        )
        plan = _Plan(agency_id=agency_id, period=period)
        for number, spec in enumerate(group):
            plan.add_indicator(number, spec)
        for raw in raw_columns:
            plan.columns[f"g_{raw}"] = F(RAW_COLUMNS[raw])
        surveys = None
        if plan.needs_surveys and connection.vendor == "sqlite":
            plan.columns["s_mask"] = latest_survey_mask(agency_id, period)
        elif plan.needs_surveys:
            surveys = latest_surveys(agency_id, period).filter(
                case__person_id__in=Case.objects.filter(persons).values("person_id")
            )
        found = grouped_rows(
            cases.annotate(**plan.columns).values(*plan.columns),
            columns=["p_person", *[f"g_{raw}" for raw in raw_columns]],
            sets=[("p_person", *[f"g_{raw}" for raw in s]) for s in raw_sets],
            contributions=plan.contributions,
            where=" OR ".join(plan.representatives),
            surveys=surveys,
        )
        for grouping_set, key, values in found:
            person = int(key[0])
            raws = tuple(column[2:] for column in grouping_set[1:])
            raw_values = dict(zip(raws, key[1:], strict=True))
            for number, spec in enumerate(group):
                figures = Figures(
                    persons=values[f"d{number}"],
                    numerator=values.get(f"n{number}", 0),
                    measures={
                        alias[len(f"m{number}_") :]: value
                        for alias, value in values.items()
                        if alias.startswith(f"m{number}_")
                    },
                )
                if not figures.persons:
                    continue
                for dimensions in all_sets:
                    if raw_set(dimensions) != raws:
                        continue
                    cell = tuple(keys.key(d, raw_values[DIMENSIONS[d].raw]) for d in dimensions)
                    result[person].setdefault(spec.code, {})[dimensions] = (cell, figures)
    return result


def _components(links: Iterable[tuple[int, int, int, int]]) -> list[list[tuple[int, int]]]:
    """Groups of (agency id, person id) that are one person, across at least two agencies."""
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    def find(node: tuple[int, int]) -> tuple[int, int]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for first, first_agency, second, second_agency in links:
        a, b = find((first_agency, first)), find((second_agency, second))
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for node in list(parent):
        groups[find(node)].append(node)
    return [sorted(nodes) for nodes in groups.values() if len({a for a, _p in nodes}) > 1]


def _negative(figures: Figures) -> Figures:
    return Figures(
        persons=-figures.persons,
        numerator=-figures.numerator,
        measures={name: -value for name, value in figures.measures.items()},
    )


def _merged(records: list[Figures]) -> Figures:
    names = {name for figures in records for name in figures.measures}
    return Figures(
        persons=1,
        numerator=max(figures.numerator for figures in records),
        measures={name: max(f.measures.get(name, 0) for f in records) for name in names},
    )


@dataclass
class Corrections:
    """What counting linked persons once takes off the added-up figures (counts only)."""

    # indicator code → dimensions → key → figures to add (negative where a record is dropped)
    delta: dict[str, dict[GroupingSet, dict[Key, Figures]]] = field(default_factory=dict)
    # indicator code → dimensions → key → second records dropped there (persons counted once)
    dropped: dict[str, dict[GroupingSet, dict[Key, int]]] = field(default_factory=dict)
    # indicator code → dimensions → key → persons counted once whose merge may change the cell:
    # a record dropped there, or the kept record there where the indicator has a numerator or
    # beside-figures (they take what the other agency's record holds: a case-level fact of the
    # other agency). Counted whether or not the figure moved, so that hiding it says nothing.
    merged: dict[str, dict[GroupingSet, dict[Key, int]]] = field(default_factory=dict)

    def linked(self, code: str) -> int:
        return self.dropped.get(code, {}).get((), {}).get((), 0)


def corrections(
    *,
    members: Sequence[int],
    period: Period,
    specs: Sequence[IndicatorSpec],
    sets: Sequence[GroupingSet],
) -> Corrections:
    links = PersonLink.objects.filter(
        first__agency_id__in=members, second__agency_id__in=members
    ).exclude(first__agency_id=F("second__agency_id"))
    groups = _components(
        links.values_list("first_id", "first__agency_id", "second_id", "second__agency_id")
    )
    result = Corrections()
    if not groups:
        return result
    persons_of: dict[int, set[int]] = defaultdict(set)
    for nodes in groups:
        for agency_id, person_id in nodes:
            persons_of[agency_id].add(person_id)
    # The linked persons, asked for inside the statement (a subquery, not a list of ids).
    linked = Q(person_id__in=links.values("first_id")) | Q(person_id__in=links.values("second_id"))
    figures_of: dict[int, PerPerson] = {
        agency_id: _per_person(
            agency_id=agency_id, period=period, specs=specs, sets=sets, persons=linked
        )
        for agency_id in persons_of
    }
    all_sets: list[GroupingSet] = [(), *[s for s in sets if s]]
    for spec in specs:
        delta = result.delta.setdefault(spec.code, {s: {} for s in all_sets})
        dropped = result.dropped.setdefault(spec.code, {s: {} for s in all_sets})
        merged_in = result.merged.setdefault(spec.code, {s: {} for s in all_sets})
        takes_over = spec.numerator is not None or bool(spec.measures)
        for nodes in groups:
            counted = [
                figures_of[agency_id][person][spec.code]
                for agency_id, person in nodes
                if spec.code in figures_of[agency_id].get(person, {})
            ]
            if len(counted) < 2:
                continue
            kept, *others = counted
            merged = _merged([cells[()][1] for cells in counted])
            for dimensions in all_sets:
                key, figures = kept[dimensions]
                change = Figures()
                change.add(merged)
                change.add(_negative(figures))
                delta[dimensions].setdefault(key, Figures()).add(change)
                touched = {key} if takes_over else set()
                for other in others:
                    other_key, other_figures = other[dimensions]
                    delta[dimensions].setdefault(other_key, Figures()).add(_negative(other_figures))
                    dropped[dimensions][other_key] = dropped[dimensions].get(other_key, 0) + 1
                    touched.add(other_key)
                for cell in touched:
                    merged_in[dimensions][cell] = merged_in[dimensions].get(cell, 0) + 1
    return result


# --- the roll-up and its suppression --------------------------------------------------------------


def _add_up(every: Sequence[Counts], fixes: Corrections, specs: Sequence[IndicatorSpec]) -> Counts:
    rolled: Counts = {}
    for spec in specs:
        code = spec.code
        sets = {dimensions for counts in every for dimensions in counts[code]}
        rolled[code] = {dimensions: {} for dimensions in sets}
        for counts in every:
            for dimensions, cells in counts[code].items():
                for key, figures in cells.items():
                    rolled[code][dimensions].setdefault(key, Figures()).add(figures)
        for dimensions, cells in fixes.delta.get(code, {}).items():
            for key, change in cells.items():
                rolled[code].setdefault(dimensions, {}).setdefault(key, Figures()).add(change)
        rolled[code].setdefault((), {}).setdefault((), Figures())
    return rolled


def _pattern(
    members: list[IndicatorSpec],
    rolled: Counts,
    own: list[single.Pattern],
    merged: dict[GroupingSet, set[Key]],
    *,
    by: list[GroupingSet],
    k: int,
) -> single.Pattern:
    """report._pattern over the roll-up, with every cell a member's own report hides (and every
    cell that counting a few persons once changed, `merged`) hidden from the start."""

    def few(dimensions: GroupingSet, key: Key) -> bool:
        return key in merged.get(dimensions, set())

    total = single._joint(members, rolled, (), ())
    pattern = single.Pattern(
        total_hidden=suppression.needs_primary(total, k)
        or few((), ())
        or any(p.total_hidden for p in own)
    )
    cells_of: dict[str, dict[str, tuple[int, ...]]] = {}
    for dimension in sorted({d for dimensions in by for d in dimensions}):
        keys = {key for spec in members for key in rolled[spec.code].get((dimension,), {})}
        cells = {key[0]: single._joint(members, rolled, (dimension,), key) for key in keys}
        forced = {key for p in own for key in p.one_way.get(dimension, ([], set()))[1]}
        problem = suppression.Problem()
        problem.add("total", ["line"], weight=total[-1], hidden=pattern.total_hidden, fixed=True)
        for key, figures in cells.items():
            problem.add(
                ("cell", key),
                ["line"],
                weight=figures[-1],
                hidden=suppression.needs_primary(figures, k)
                or key in forced
                or few((dimension,), (key,)),
            )
        hidden = {cell[1] for cell in suppression.protect(problem) if cell != "total"}
        cells_of[dimension] = cells
        pattern.one_way[dimension] = (single._sorted_keys(dimension, list(cells)), hidden)
    for dimensions in by:
        if len(dimensions) != 2:
            continue
        first, second = dimensions
        rows, hidden_rows = pattern.one_way[first]
        columns, hidden_columns = pattern.one_way[second]
        forced_pairs = {pair for p in own for pair in p.two_way.get(dimensions, set())}
        problem = suppression.Problem()
        problem.add(
            ("total",), ["R*", "C*"], weight=total[-1], hidden=pattern.total_hidden, fixed=True
        )
        for row in rows:
            problem.add(
                ("row", row),
                [("r", row), "C*"],
                weight=cells_of[first][row][-1],
                hidden=row in hidden_rows,
                fixed=True,
            )
        for column in columns:
            problem.add(
                ("column", column),
                [("c", column), "R*"],
                weight=cells_of[second][column][-1],
                hidden=column in hidden_columns,
                fixed=True,
            )
        for row in rows:
            for column in columns:
                figures = single._joint(members, rolled, dimensions, (row, column))
                problem.add(
                    ("cell", (row, column)),
                    [("r", row), ("c", column)],
                    weight=figures[-1],
                    hidden=suppression.needs_primary(figures, k)
                    or (row, column) in forced_pairs
                    or few(dimensions, (row, column)),
                )
        pattern.two_way[dimensions] = {
            cell[1] for cell in suppression.protect(problem) if cell[0] == "cell"
        }
    return pattern


@dataclass
class Member:
    agency_id: int
    code: str
    name: str


@dataclass
class ConsortiumReport:
    lead: Member
    members: list[Member]  # the lead first
    report: single.Report
    # indicator code → persons counted once although two agencies count them (None: suppressed)
    linked: dict[str, int | None]
    min_cell: int

    def as_json(self) -> dict[str, Any]:
        return {
            **self.report.as_json(),
            "consortium": {
                "lead": self.lead.code,
                "members": [member.code for member in self.members],
                "min_cell": self.min_cell,
                "linked_persons_counted_once": self.linked,
                "remaining_overlap": str(REMAINING_OVERLAP),
            },
        }


def _own_report(
    spec: IndicatorSpec, counts: Counts, pattern: single.Pattern, by: list[GroupingSet], k: int
) -> single.IndicatorReport:
    return single._indicator_report(spec, counts, pattern, by=by, k=k)


def build_consortium_report(
    *,
    lead: Agency,
    period: Period,
    by: Sequence[GroupingSet] = (),
    min_cell: int | None = None,
) -> ConsortiumReport:
    """The lead's report over itself and its members for the period (see the module's text).

    `min_cell` overrides the strictest member's threshold (tests only: the screen and the API
    never pass it)."""
    member_ids = members_of(lead.pk, period)
    agencies = {a.pk: a for a in Agency.objects.filter(pk__in=member_ids)}
    thresholds = {agency_id: ReportingPolicy.min_cell_for(agency_id) for agency_id in member_ids}
    k = min_cell if min_cell is not None else max(thresholds.values())
    specs = shared_specs()
    singles = {(d,) for dimensions in by for d in dimensions}
    sets = sorted(singles | set(by), key=lambda s: (len(s), s))
    every = [
        count_persons(agency_id=agency_id, period=period, specs=specs, sets=sets)
        for agency_id in member_ids
    ]
    fixes = corrections(members=member_ids, period=period, specs=specs, sets=sets)
    rolled = _add_up(every, fixes, specs)
    by_list = list(by)
    sharing: dict[str, list[IndicatorSpec]] = defaultdict(list)
    for spec in specs:
        sharing[spec.denominator_key()].append(spec)
    patterns: dict[str, single.Pattern] = {}
    own_reports: dict[str, list[single.IndicatorReport]] = defaultdict(list)
    for group in sharing.values():
        # Each member's own report, as its own threshold publishes it: what it hides stays hidden.
        own = []
        for agency_id, counts in zip(member_ids, every, strict=True):
            own_k = min(k, thresholds[agency_id]) if min_cell is not None else thresholds[agency_id]
            own_pattern = single._pattern(group, counts, by=by_list, k=own_k)
            own.append(own_pattern)
            for spec in group:
                own_reports[spec.code].append(
                    _own_report(spec, counts, own_pattern, by_list, own_k)
                )
        # A cell where 1..k-1 persons counted once changed any of the group's figures (a dropped
        # record, or a kept one that took the other agency's numerator or beside-figures).
        few: dict[GroupingSet, set[Key]] = defaultdict(set)
        for spec in group:
            for dimensions, cells in fixes.merged.get(spec.code, {}).items():
                few[dimensions].update(
                    key for key, number in cells.items() if suppression.is_small(number, k)
                )
        pattern = _pattern(group, rolled, own, few, by=by_list, k=k)
        patterns.update((spec.code, pattern) for spec in group)
    indicators = []
    for spec in sorted(specs, key=lambda s: s.code):
        indicator = single._indicator_report(spec, rolled, patterns[spec.code], by=by_list, k=k)
        # A beside-figure a member's own report hides is hidden in the roll-up too.
        for own_indicator in own_reports[spec.code]:
            for name, value in own_indicator.measures.items():
                if value is None:
                    indicator.measures[name] = None
            if own_indicator.q3 is not None and indicator.q3 is not None:
                for way, value in own_indicator.q3.items():
                    if value is None:
                        indicator.q3[way] = None
            if own_indicator.left_out is None:
                indicator.left_out = None
        indicators.append(indicator)
    linked = {
        spec.code: (
            None
            if suppression.is_small(fixes.linked(spec.code), k) or patterns[spec.code].total_hidden
            else fixes.linked(spec.code)
        )
        for spec in specs
    }

    def member(agency_id: int) -> Member:
        agency = agencies[agency_id]
        return Member(agency_id=agency_id, code=agency.code, name=agency.name)

    return ConsortiumReport(
        lead=member(lead.pk),
        members=[member(agency_id) for agency_id in member_ids],
        report=single.Report(
            agency_code=f"{lead.code}-consortium",
            period=period,
            min_cell=k,
            disaggregations=by_list,
            indicators=indicators,
        ),
        linked=linked,
        min_cell=k,
    )
