"""Identification before registration: screening (is this someone the programme serves?) and the
search for a person already registered, so that each person is counted once (seed 002) and the
registration funnel can be reported (seed 004, screening).

The search runs over the blind index (casework/people/matching.py); this module decides what the
caseworker may be told about each candidate:
- a person with a case the user may see: shown in full, with the reasons;
- a person of another team of the agency: only "a possible match exists in team X — ask your
  supervisor", with no personal data, and the hint is audited;
- a person of another agency: nothing, unless both agencies agreed to match
  (accounts.MatchAgreement), and then only "a possible match exists in agency Y".
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.access import check_perm
from casework.accounts.models import Agency, MatchAgreement, Team, User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.cases import access
from casework.cases.models import Case, Screening
from casework.core.errors import FieldErrors, NotAllowed
from casework.people.matching import Candidate, Query, find_candidates


@dataclass(frozen=True)
class Shown:
    """A candidate the user may see, with their cases the user may see."""

    candidate: Candidate
    cases: list[Case]


@dataclass
class Matches:
    shown: list[Shown] = field(default_factory=list)
    # Where the other possible matches are: team names of the agency, names of agreed agencies.
    in_teams: list[str] = field(default_factory=list)
    in_agencies: list[str] = field(default_factory=list)

    @property
    def elsewhere(self) -> int:
        return len(self.in_teams) + len(self.in_agencies)


def find_matches(user: User, query: Query) -> Matches:
    """The persons already registered that `query` may describe, as far as `user` may know of
    them (see the module notes). Audited, with person ids only."""
    check_perm(user, Perm.REGISTER_CASES)
    if user.agency_id is None:
        raise NotAllowed(_("Your account is not in an agency."))
    agencies = [user.agency_id, *MatchAgreement.agencies_matched_with(user.agency_id)]
    candidates = find_candidates(query, agency_ids=agencies, today=timezone.localdate())
    ids = [found.person.pk for found in candidates]
    cases_seen: dict[int, list[Case]] = {}
    for case in (
        access.visible_cases(user)
        .filter(person_id__in=ids)
        .select_related("programme")
        .order_by("registered_on", "id")
    ):
        cases_seen.setdefault(case.person_id, []).append(case)
    matches = Matches(
        shown=[Shown(f, cases_seen[f.person.pk]) for f in candidates if f.person.pk in cases_seen]
    )
    hidden_here = [
        f.person.pk
        for f in candidates
        if f.person.pk not in cases_seen and f.person.agency_id == user.agency_id
    ]
    if hidden_here:
        matches.in_teams = list(
            Team.objects.filter(cases__person_id__in=hidden_here, agency_id=user.agency_id)
            .order_by("name")
            .values_list("name", flat=True)
            .distinct()
        )
    others = {f.person.agency_id for f in candidates if f.person.agency_id != user.agency_id}
    if others:
        matches.in_agencies = list(
            Agency.objects.filter(pk__in=others).order_by("name").values_list("name", flat=True)
        )
    record(
        "people.match.searched",
        by=user,
        data={
            "shown": [item.candidate.person.pk for item in matches.shown],
            "hinted": [f.person.pk for f in candidates if f.person.pk not in cases_seen],
        },
    )
    return matches


@transaction.atomic
def record_screening(
    *,
    by: User,
    outcome: str,
    reason: str = "",
    referred_to: str = "",
    matches: Matches | None = None,
) -> Screening:
    """The outcome of screening someone identified; no personal data is kept with it."""
    check_perm(by, Perm.REGISTER_CASES)
    errors: dict[str, list[str]] = {}
    if outcome not in Screening.Outcome.values:
        errors["outcome"] = [_("Choose a value from the list.")]
    if outcome == Screening.Outcome.NOT_ELIGIBLE and reason not in Screening.Reason.values:
        errors["reason"] = [_("Say why the person is not eligible.")]
    if outcome == Screening.Outcome.REFERRED and not referred_to.strip():
        errors["referred_to"] = [_("Say which organisation the person was referred to.")]
    if reason and reason not in Screening.Reason.values:
        errors["reason"] = [_("Choose a value from the list.")]
    if by.agency_id is None:
        raise NotAllowed(_("Your account is not in an agency."))
    if errors:
        raise FieldErrors(errors)
    screening = Screening.objects.create(
        agency_id=by.agency_id,
        team_id=by.team_id,
        screened_by=by,
        screened_at=timezone.now(),
        outcome=outcome,
        reason=reason if outcome != Screening.Outcome.ELIGIBLE else "",
        referred_to=referred_to.strip() if outcome == Screening.Outcome.REFERRED else "",
        candidates_shown=len(matches.shown) if matches else 0,
        matches_elsewhere=matches.elsewhere if matches else 0,
    )
    record(
        "cases.screening.recorded",
        by=by,
        target=screening,
        data={"outcome": outcome, "reason": reason or None},
    )
    return screening


def settle_screening(screening_id: int | None, *, by: User, case: Case, choice: str) -> None:
    """Record what registration chose after the search: a new person or another case for a
    person already registered. A registration that names no screening of the user's (an API client
    that skipped the search) gets one of its own, so the funnel counts every registration."""
    screening = (
        Screening.objects.filter(
            pk=screening_id or 0, screened_by=by, case=None, outcome=Screening.Outcome.ELIGIBLE
        )
        .select_for_update()
        .first()
    )
    if screening is None:
        screening = record_screening(by=by, outcome=Screening.Outcome.ELIGIBLE)
    screening.case = case
    screening.choice = choice
    screening.save(update_fields=["case", "choice"])
    record(
        "cases.screening.settled",
        by=by,
        target=screening,
        case_id=case.pk,
        data={"choice": choice, "shown": screening.candidates_shown},
    )


@dataclass(frozen=True)
class Funnel:
    screened: int
    eligible: int
    not_eligible: int
    referred: int
    registered: int
    new_persons: int
    existing_persons: int


def funnel(agency_id: int, *, since: datetime.date, until: datetime.date) -> Funnel:
    """Screenings of the agency between two days, and how many became cases (one query)."""
    start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
    end = timezone.make_aware(datetime.datetime.combine(until, datetime.time.max))
    counts = Screening.objects.filter(
        agency_id=agency_id, screened_at__range=(start, end)
    ).aggregate(
        screened=Count("id"),
        eligible=Count("id", filter=Q(outcome=Screening.Outcome.ELIGIBLE)),
        not_eligible=Count("id", filter=Q(outcome=Screening.Outcome.NOT_ELIGIBLE)),
        referred=Count("id", filter=Q(outcome=Screening.Outcome.REFERRED)),
        registered=Count("id", filter=Q(case__isnull=False)),
        new_persons=Count("id", filter=Q(choice=Screening.Choice.NEW_PERSON)),
        existing_persons=Count("id", filter=Q(choice=Screening.Choice.EXISTING_PERSON)),
    )
    return Funnel(**counts)
