"""Spot checks of plans with staff (seed 001, verification 3: "ask the social workers/staff if
they have a case file for each person or in the group and verify through random spot checking").

An M&E officer (her agency) or a supervisor (his team) draws a random sample of a period's plans:
seeded and stored, so the same seed over the same plans draws the same sample again; stratified
by team (each team gives its share, rounded up); the share is the agency setting
plans.verification_sample_percent (10 % unless changed), and every caseworker with plans in the
period has at least one drawn. Each sampled plan is a `SpotCheck` row; recording the check says
whether the plan is individualised, which documentation criteria (the agency's checklist out of
the F.A.C.T.S.) it meets, and a comment. The indicator report sets the checks beside the computed
INDIVIDUAL_PLAN flag (casework/indicators/selectors.verification).
"""

from __future__ import annotations

import math
import random
import secrets
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts import agency_settings
from casework.accounts.access import check_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.core.errors import CaseworkError, Conflict
from casework.core.periods import Period
from casework.core.text import too_long
from casework.plans import access, selectors
from casework.plans.agency_settings import CHECKLIST, SAMPLE_PERCENT
from casework.plans.models import SpotCheck, SpotCheckSample
from casework.plans.selectors import Candidate

# The longest comment a spot check keeps.
COMMENT_LIMIT = 2000
MAX_SEED = 2**63 - 1


def choose(candidates: Iterable[Candidate], *, seed: int, percent: int) -> list[Candidate]:
    """The sample: per team (in team order), `percent` of its plans rounded up, drawn with a
    generator seeded by `seed`, then one more plan of each caseworker not yet drawn. Depends only
    on the seed and the candidates (not on their order)."""
    # Seeded on purpose: anyone may draw the same sample again from its stored seed.
    generator = random.Random(seed)  # noqa: S311
    by_team: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in sorted(candidates, key=lambda c: c.case_id):
        by_team[candidate.team_id or 0].append(candidate)
    chosen: list[Candidate] = []
    for team_id in sorted(by_team):
        plans = by_team[team_id]
        size = min(len(plans), max(1, math.ceil(len(plans) * percent / 100)))
        picked = generator.sample(plans, size)
        drawn = {candidate.caseworker_id for candidate in picked}
        caseworkers = sorted({c.caseworker_id for c in plans if c.caseworker_id is not None})
        for caseworker_id in caseworkers:
            if caseworker_id not in drawn:
                theirs = [c for c in plans if c.caseworker_id == caseworker_id]
                picked.append(generator.choice(theirs))
        chosen.extend(sorted(picked, key=lambda c: c.case_id))
    return chosen


@transaction.atomic
def draw_sample(*, by: User, period: Period, seed: int | None = None) -> SpotCheckSample:
    """Draw and store a sample of the period's plans in `by`'s scope (a supervisor's team, or
    the agency for an M&E officer). Without a seed, a random one is chosen and stored."""
    check_perm(by, Perm.VERIFY_PLANS)
    agency_id = by.agency_id
    if agency_id is None:
        raise CaseworkError(_("Only a member of an agency draws a sample."))
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise CaseworkError(_("The seed is a whole number from 0 upwards."), field="seed")
    team_id = access.verification_team(by)
    candidates = selectors.plans_in_period(agency_id, period, team_id)
    if not candidates:
        raise CaseworkError(
            _("There is no plan to check in this period."), code="nothing_to_sample", field="period"
        )
    seed = secrets.randbelow(2**31) if seed is None else seed
    percent = int(agency_settings.current(agency_id, SAMPLE_PERCENT.key))
    chosen = choose(candidates, seed=seed, percent=percent)
    sample = SpotCheckSample.objects.create(
        agency_id=agency_id,
        team_id=team_id,
        period_start=period.start,
        period_end=period.end,
        seed=seed,
        percent=percent,
        population=len(candidates),
        drawn_by=by,
        drawn_at=timezone.now(),
    )
    SpotCheck.objects.bulk_create(
        SpotCheck(
            sample=sample,
            case_id=candidate.case_id,
            plan_id=candidate.plan_id,
            team_id=candidate.team_id,
            caseworker_id=candidate.caseworker_id,
        )
        for candidate in chosen
    )
    record(
        "plans.spot_check.sample_drawn",
        by=by,
        target=sample,
        data={
            "period": [period.start.isoformat(), period.end.isoformat()],
            "team": team_id,
            "seed": seed,
            "percent": percent,
            "population": len(candidates),
            "size": len(chosen),
        },
    )
    return sample


@transaction.atomic
def record_check(
    check: SpotCheck,
    *,
    by: User,
    individualised: bool | None,
    criteria_met: Iterable[str] = (),
    comment: str = "",
) -> SpotCheck:
    """Record what the spot check found. A check is recorded once (a second one is refused:
    the first checker's finding is not overwritten)."""
    check_perm(by, Perm.VERIFY_PLANS)
    if individualised is None:
        raise CaseworkError(_("Say whether the plan is individualised."), field="individualised")
    if message := too_long(comment, COMMENT_LIMIT):
        raise CaseworkError(message, field="comment")
    checklist = list(agency_settings.current(check.sample.agency_id, CHECKLIST.key))
    met = list(dict.fromkeys(criteria_met))
    unknown = [code for code in met if code not in checklist]
    if unknown:
        raise CaseworkError(
            _("Not in the agency's checklist: %(codes)s.") % {"codes": ", ".join(sorted(unknown))},
            field="criteria_met",
        )
    now = timezone.now()
    updated = SpotCheck.objects.filter(pk=check.pk, checked_at__isnull=True).update(
        individualised=individualised,
        checklist=checklist,
        criteria_met=[code for code in checklist if code in met],
        checked_by=by,
        checked_at=now,
    )
    if not updated:
        raise Conflict(_("This plan has already been checked in this sample."))
    check.refresh_from_db()
    check.comment = comment.strip()
    check.save(update_fields=["comment"])
    record(
        "plans.spot_check.recorded",
        by=by,
        target=check,
        case_id=check.case_id,
        data={
            "sample": check.sample_id,
            "plan": check.plan_id,
            "individualised": individualised,
            "criteria_met": check.criteria_met,
            "checklist": checklist,
        },
    )
    return check
