"""Invented demo data: an agency, teams of eight, one user per role and N cases with their history.

Cases are written in bulk (batches of rows, not one service call each) so that the same code fills
a laptop demo with 500 cases in seconds and a benchmark database with 1,000,000 in minutes. The
rows are the same ones the services write: person (encrypted, blind-indexed), case, transitions,
consent, notes, the case plan (mostly individual, a few copied or written for a group, as seed
001 warns) and participation surveys (seed 000), so every screen, timeline and indicator works
on them.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from casework.accounts.models import Agency, Team, User
from casework.accounts.roles import Role
from casework.audit.log import record
from casework.cases import deadlines
from casework.cases.models import (
    Case,
    CaseCounter,
    CaseNote,
    ClosureReason,
    Consent,
    ContactType,
    IdentificationSource,
    RiskLevel,
    ServiceType,
    Status,
    Transition,
)
from casework.cases.services import case_reference, person_reference
from casework.core.bulk import insert_rows, reserve_ids, reset_sequences
from casework.core.text import fold_hash
from casework.demo import names
from casework.feedback.models import ParticipationSurvey
from casework.people.models import MobilityStatus, Person, PersonNameIndex, Sex, YesNoUnknown
from casework.plans import sharing
from casework.plans.models import CasePlan
from casework.reference.models import Location, Programme, ProtectionConcern
from casework.reference.services import add_location
from casework.vault import blind
from casework.vault.fields import encrypting_for
from casework.worklist.models import Task

AGENCY_CODE = "AGY"
PARTNER_CODE = "PRT"
BATCH = 5000
CASES_PER_CASEWORKER = 40
# Seed 004: a supervisor oversees a team of about eight caseworkers.
TEAM_SIZE = 8


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    team: int | None  # index into the teams, or None
    agency: str = AGENCY_CODE
    administrator: bool = False


# One named user per role; the tests use the same people (see tests/conftest.py).
DEMO_USERS = [
    DemoUser("amina", "Amina", "Diallo", Role.CASEWORKER, 0),
    DemoUser("omar", "Omar", "Haddad", Role.CASEWORKER, 1),
    DemoUser("sam", "Sam", "Okafor", Role.SUPERVISOR, 0),
    DemoUser("olga", "Olga", "Martin", Role.SUPERVISOR, 1),
    DemoUser("paul", "Paul", "Mensah", Role.PROGRAMME_MANAGER, None),
    DemoUser("mei", "Mei", "García", Role.ME_OFFICER, None),
    DemoUser("priya", "Priya", "Sow", Role.PARTNER, None, agency=PARTNER_CODE),
    DemoUser("adam", "Adam", "Keïta", Role.NONE, None, administrator=True),
]
TEAM_NAMES = ["North team", "South team"]
LOCATIONS = [
    ("NE", "North-East", [("NE-01", "Gao"), ("NE-02", "Kidal"), ("NE-03", "Ménaka")]),
    ("SO", "South", [("SO-01", "Sikasso"), ("SO-02", "Koutiala")]),
]


@dataclass
class DemoSetup:
    agency: Agency
    teams: list[Team]
    caseworkers: list[User]
    users: dict[str, User] = field(default_factory=dict)


def ensure_setup(*, password: str, caseworkers: int = 2) -> DemoSetup:
    """The agency, a partner organisation, teams, locations and users (idempotent)."""
    agency, _ = Agency.objects.get_or_create(
        code=AGENCY_CODE, defaults={"name": "Demo Agency", "require_mfa": False}
    )
    Agency.objects.get_or_create(
        code=PARTNER_CODE,
        defaults={
            "name": "Demo Partner Clinic",
            "kind": Agency.Kind.SERVICE_PROVIDER,
            "require_mfa": False,
        },
    )
    agencies = {a.code: a for a in Agency.objects.filter(code__in=[AGENCY_CODE, PARTNER_CODE])}
    teams = [Team.objects.get_or_create(agency=agency, name=name)[0] for name in TEAM_NAMES]
    teams += list(Team.objects.filter(agency=agency, name__startswith="Team ").order_by("name"))
    for adm1_code, adm1_name, children in LOCATIONS:
        parent = Location.objects.filter(code=adm1_code).first() or add_location(
            code=adm1_code, name=adm1_name
        )
        for code, name in children:
            if not Location.objects.filter(code=code).exists():
                add_location(code=code, name=name, parent=parent)

    hashed = make_password(password)
    users: dict[str, User] = {}
    for spec in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@demo.invalid",
                "role": spec.role,
                "agency": agencies[spec.agency],
                "team": teams[spec.team] if spec.team is not None else None,
                "is_administrator": spec.administrator,
                "password": hashed,
            },
        )
        users[spec.username] = user

    # Extra caseworkers so that large demos keep caseloads realistic (seed 004: about 9 to 40
    # cases each), in teams of eight: amina's and omar's teams first, then new teams, each with
    # its own supervisor.
    named = [users["amina"], users["omar"]]
    extra_needed = max(0, caseworkers - len(named))
    team_count = max(len(teams), -(-caseworkers // TEAM_SIZE))
    if team_count > len(teams):
        _add_teams(agency, teams, team_count, hashed)
    existing = list(
        User.objects.filter(
            username__startswith="cw", role=Role.CASEWORKER, agency=agency
        ).order_by("username")[:extra_needed]
    )
    missing = extra_needed - len(existing)
    if missing > 0:
        start = len(existing) + 1
        User.objects.bulk_create(
            [
                User(
                    username=f"cw{number:05d}",
                    first_name="Caseworker",
                    last_name=f"{number:05d}",
                    role=Role.CASEWORKER,
                    agency=agency,
                    team=teams[team_of(number) % len(teams)],
                    password=hashed,
                )
                for number in range(start, start + missing)
            ],
            batch_size=BATCH,
        )
        existing = list(
            User.objects.filter(
                username__startswith="cw", role=Role.CASEWORKER, agency=agency
            ).order_by("username")[:extra_needed]
        )
    return DemoSetup(agency=agency, teams=teams, caseworkers=named + existing, users=users)


def team_of(number: int) -> int:
    """The team (index) of extra caseworker `number` (1, 2, ...): seven join amina in the first
    team, seven join omar in the second, then eight to a team."""
    first = TEAM_SIZE - 1
    if number <= 2 * first:
        return (number - 1) // first
    return 2 + (number - 2 * first - 1) // TEAM_SIZE


def _add_teams(agency: Agency, teams: list[Team], count: int, hashed: str) -> None:
    """Teams from `len(teams) + 1` to `count`, each with a supervisor (`sv00003`, ...)."""
    numbers = range(len(teams) + 1, count + 1)
    Team.objects.bulk_create(
        [Team(agency=agency, name=f"Team {number:05d}") for number in numbers], batch_size=BATCH
    )
    created = list(
        Team.objects.filter(agency=agency, name__in=[f"Team {n:05d}" for n in numbers]).order_by(
            "name"
        )
    )
    User.objects.bulk_create(
        [
            User(
                username=f"sv{number:05d}",
                first_name="Supervisor",
                last_name=f"{number:05d}",
                role=Role.SUPERVISOR,
                agency=agency,
                team=team,
                password=hashed,
            )
            for number, team in zip(numbers, created, strict=True)
        ],
        batch_size=BATCH,
    )
    teams.extend(created)


@dataclass
class _Story:
    """What happened to one invented case, step by step."""

    steps: list[tuple[Status, datetime.datetime]]
    closure_reason: str = ""


STEP_DELAYS_DAYS = {
    Status.REGISTERED: (0, 3),
    Status.ASSESSED: (1, 20),
    Status.PLANNED: (2, 30),
    Status.IN_FOLLOW_UP: (1, 14),
    Status.CLOSED: (20, 300),
}
CLOSURE_WEIGHTS = [
    (ClosureReason.NEEDS_MET, 50),
    (ClosureReason.CLIENT_REQUEST, 12),
    (ClosureReason.CONTACT_LOST, 14),
    (ClosureReason.RELOCATED, 8),
    (ClosureReason.TRANSFERRED, 8),
    (ClosureReason.DEATH, 1),
    (ClosureReason.OTHER, 7),
]


def _story(rng: random.Random, identified: datetime.datetime, now: datetime.datetime) -> _Story:
    steps = [(Status.IDENTIFIED, identified)]
    at = identified
    for status in (Status.REGISTERED, Status.ASSESSED, Status.PLANNED, Status.IN_FOLLOW_UP):
        low, high = STEP_DELAYS_DAYS[status]
        at = at + datetime.timedelta(days=rng.randint(low, high), hours=rng.randint(0, 8))
        # Some cases stop early: closed after assessment, or simply not there yet.
        if at > now or (status != Status.REGISTERED and rng.random() < 0.08):
            break
        steps.append((status, at))
    last = steps[-1][0]
    if last == Status.IDENTIFIED:
        return _Story(steps)
    low, high = STEP_DELAYS_DAYS[Status.CLOSED]
    closing = at + datetime.timedelta(days=rng.randint(low, high))
    if closing <= now and rng.random() < 0.55:
        reasons, weights = zip(*CLOSURE_WEIGHTS, strict=True)
        reason = rng.choices(reasons, weights)[0]
        steps.append((Status.CLOSED, closing))
        return _Story(steps, closure_reason=reason)
    if rng.random() < 0.04:
        paused = steps[-1][1] + datetime.timedelta(days=rng.randint(1, 20))
        if paused <= now:
            steps.append((Status.PAUSED, paused))
    return _Story(steps)


def _birth_date(rng: random.Random, programme: str, on: datetime.date) -> tuple[datetime.date, int]:
    if programme == "CP" or rng.random() < 0.3:
        age = rng.randint(1, 17)
    else:
        age = rng.randint(18, 60)
    born = on - datetime.timedelta(days=age * 365 + rng.randint(0, 364))
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return born, years


def generate_cases(
    setup: DemoSetup, *, count: int, seed: int = 1, notes: bool = True
) -> Iterator[int]:
    """Write `count` cases in batches; yields the running total after each batch."""
    rng = random.Random(seed)
    agency = setup.agency
    now = timezone.now()
    programmes = list(Programme.objects.filter(is_active=True).order_by("code"))
    concerns = list(ProtectionConcern.objects.filter(is_active=True).order_by("code"))
    locations = list(Location.objects.filter(level=Location.Level.ADM2).order_by("code"))
    if not (programmes and concerns and locations):
        raise RuntimeError("Reference lists are empty; run migrations first.")
    person_counter = CaseCounter.objects.filter(agency=agency, year=0).first()
    next_person = (person_counter.last if person_counter else 0) + 1
    counters = {c.year: c.last for c in CaseCounter.objects.filter(agency=agency, year__gt=0)}
    supervisors = {u.team_id: u for u in User.objects.filter(agency=agency, role=Role.SUPERVISOR)}
    risk_weights = ([RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW], [20, 40, 40])
    mobility = list(MobilityStatus.values)
    service_types = list(ServiceType.values)
    sources = list(IdentificationSource.values)
    disabilities = list(YesNoUnknown.values)
    contact_types = list(ContactType.values)
    written = 0
    name_digest_cache: dict[tuple[str, str], list[tuple[str, str]]] = {}
    while written < count:
        size = min(BATCH, count - written)
        person_id = reserve_ids(Person, size)
        case_id = reserve_ids(Case, size)
        people: list[dict[str, Any]] = []
        index_rows: list[dict[str, Any]] = []
        cases: list[dict[str, Any]] = []
        transitions: list[dict[str, Any]] = []
        tasks: list[dict[str, Any]] = []
        consents: list[dict[str, Any]] = []
        case_notes: list[dict[str, Any]] = []
        plans: list[dict[str, Any]] = []
        surveys: list[dict[str, Any]] = []
        for offset in range(size):
            programme = rng.choice(programmes)
            identified = now - datetime.timedelta(
                days=rng.randint(0, 730), hours=rng.randint(0, 23)
            )
            story = _story(rng, identified, now)
            registered = next((at for s, at in story.steps if s == Status.REGISTERED), None)
            sex = rng.choices([Sex.FEMALE, Sex.MALE, Sex.OTHER, Sex.UNKNOWN], [55, 42, 1, 2])[0]
            given_pool = names.GIVEN_MALE if sex == Sex.MALE else names.GIVEN_FEMALE
            birth, age = _birth_date(rng, programme.code, (registered or identified).date())
            known_birth = rng.random() < 0.7
            given, family = rng.choice(given_pool), rng.choice(names.FAMILY)
            pid, cid = person_id + offset, case_id + offset
            people.append(
                {
                    "id": pid,
                    "agency_id": agency.pk,
                    "reference": person_reference(agency.code, next_person),
                    "given_name": given,
                    "family_name": family,
                    "other_names": "",
                    "sex": sex,
                    "date_of_birth": birth if known_birth else None,
                    "estimated_age": None if known_birth else age,
                    "age_estimated_on": None if known_birth else (registered or identified).date(),
                    "nationality": rng.choice(["ML", "BF", "NE", "SN", "CI", "SD", "SY"]),
                    "disability": rng.choices(disabilities, [12, 80, 8])[0],
                    "mobility_status": rng.choice(mobility),
                    "languages": rng.choice(["fr", "fr, bm", "ar", "ar, fr", "en", "es"]),
                    "phone": f"+223 7{rng.randint(0, 9999999):07d}",
                    "address": "",
                    "created_at": identified,
                    "updated_at": identified,
                }
            )
            # Digests depend only on the names: computed once per name pair, not per person.
            digests = name_digest_cache.get((given, family))
            if digests is None:
                digests = name_digest_cache[(given, family)] = blind.name_digests(
                    given, family, "", agency_id=agency.pk
                )
            index_rows.extend(
                {"person_id": pid, "agency_id": agency.pk, "kind": k, "digest": d}
                for k, d in digests
            )
            next_person += 1
            caseworker = rng.choice(setup.caseworkers)
            year = (registered or identified).year
            counters[year] = counters.get(year, 0) + 1
            last_status, last_at = story.steps[-1]
            risk = rng.choices(*risk_weights)[0] if registered else ""
            closed = last_status == Status.CLOSED
            step_dates = {status: at.date() for status, at in story.steps}
            cases.append(
                {
                    "id": cid,
                    "agency_id": agency.pk,
                    "reference": case_reference(agency.code, year, counters[year]),
                    "person_id": pid,
                    "programme_id": programme.pk,
                    "service_type": rng.choices(service_types, [85, 10, 5])[0],
                    "identification_source": rng.choice(sources),
                    "identified_on": identified.date(),
                    "registered_on": registered.date() if registered else None,
                    "primary_concern_id": rng.choice(concerns).pk,
                    "risk_level": risk,
                    "status": last_status,
                    "caseworker_id": caseworker.pk,
                    "team_id": caseworker.team_id,
                    "location_id": rng.choice(locations).pk,
                    "age_at_registration": age if registered else None,
                    "assessed_on": step_dates.get(Status.ASSESSED),
                    "planned_on": step_dates.get(Status.PLANNED),
                    "closed_on": step_dates.get(Status.CLOSED),
                    "closure_reason": story.closure_reason,
                    "next_due_at": None if closed else deadlines.first_follow_up_due(risk, last_at),
                    "last_contact_on": last_at.date(),
                    "created_at": identified,
                    "updated_at": last_at,
                }
            )
            due = cases[-1]["next_due_at"]
            if due is not None:
                # The case's next due time is its earliest open task's (the worklist's rule): the
                # task is written with it, so the team page and the tasks page count it alike.
                tasks.append(
                    {
                        "case_id": cid,
                        "kind": Task.Kind.FOLLOW_UP_DUE
                        if step_dates.get(Status.ASSESSED)
                        else Task.Kind.ASSESSMENT_DUE,
                        "subject": "",
                        "due_at": due,
                        "target_at": due,
                        "status": Task.Status.OPEN,
                        "created_at": last_at,
                    }
                )
            by = caseworker.pk
            supervisor = supervisors.get(caseworker.team_id)
            previous = ""
            for status, at in story.steps:
                closing = status == Status.CLOSED
                transitions.append(
                    {
                        "case_id": cid,
                        "from_status": previous,
                        "to_status": status,
                        "occurred_at": at,
                        "by_id": supervisor.pk if closing and supervisor else by,
                        "closure_reason": story.closure_reason if closing else "",
                        "reason": "Client travelling" if status == Status.PAUSED else "",
                        "created_at": at,
                    }
                )
                previous = status
            if registered:
                child = age < 18
                consents.append(
                    {
                        "case_id": cid,
                        "given_by": Consent.GivenBy.CAREGIVER if child else Consent.GivenBy.CLIENT,
                        "caregiver_name": f"{rng.choice(names.GIVEN_FEMALE)} {family}"
                        if child
                        else "",
                        "child_assent": True if child else None,
                        "receive_services": rng.random() > 0.03,
                        "share_for_referral": rng.random() < 0.6,
                        "given_on": registered.date(),
                        "recorded_by_id": by,
                        "created_at": registered,
                        "updated_at": registered,
                    }
                )
            planned = next((at for s, at in story.steps if s == Status.PLANNED), None)
            if planned is not None:
                plan = _plan(rng, given, planned)
                plans.append({"case_id": cid, "created_by_id": by, **plan})
                cases[-1].update(plan_fold_hash=plan["fold_hash"], plan_is_group=plan["is_group"])
                surveyed = _survey(rng, planned.date(), now.date())
                if surveyed is not None:
                    # Asked by the supervisor rather than the client's own caseworker.
                    asker = supervisor.pk if supervisor else None
                    surveys.append({"case_id": cid, "surveyed_by_id": asker, **surveyed})
            if notes and len(story.steps) > 2:
                for _step, at in story.steps[2:4]:
                    case_notes.append(
                        {
                            "case_id": cid,
                            "author_id": by,
                            "contact_on": at.date(),
                            "contact_type": rng.choice(contact_types),
                            "text": rng.choice(names.NOTES),
                            "created_at": at,
                            "updated_at": at,
                        }
                    )
        # Rows written in bulk have no model instance to name their agency: say it here.
        with transaction.atomic(), encrypting_for(agency.pk):
            insert_rows(Person, people)
            insert_rows(PersonNameIndex, index_rows)
            insert_rows(Case, cases)
            insert_rows(Transition, transitions)
            insert_rows(Task, tasks)
            insert_rows(Consent, consents)
            insert_rows(CaseNote, case_notes)
            insert_rows(CasePlan, plans)
            insert_rows(ParticipationSurvey, surveys)
            _save_counters(agency, {0: next_person - 1, **counters})
        written += size
        yield written
    reset_sequences([Person, PersonNameIndex, Case, Transition, Consent, CaseNote, CasePlan])
    with transaction.atomic():
        sharing.refresh(agency.pk)  # copied and group texts: several persons, one text
    record("demo.generated", by=None, agency_id=agency.pk, data={"cases": count, "seed": seed})


def _plan(rng: random.Random, given: str, planned: datetime.datetime) -> dict[str, Any]:
    """A plan as written: mostly the person's own goals and details, sometimes copied or a
    group's (seed 001: what INDIVIDUAL_PLAN must not count)."""
    draw = rng.random()
    is_group = draw < 0.02
    if is_group:
        text = names.GROUP_PLAN
    elif draw < 0.05:
        text = names.COPIED_PLAN
    else:
        goals = rng.sample(names.PLAN_GOALS, rng.randint(2, 4))
        review = planned.date() + datetime.timedelta(days=rng.randint(14, 60))
        text = (
            f"{given}'s goals: "
            + "; ".join(goals)
            + f". Next review on {review.isoformat()} at contact point {rng.randint(1, 99_999)}."
        )
    return {
        "version": 1,
        "status": CasePlan.Status.APPROVED,
        "planned_on": planned.date(),
        "text": text,
        "fold_hash": fold_hash(text),
        "is_group": is_group,
        "created_at": planned,
        "updated_at": planned,
    }


def _survey(
    rng: random.Random, planned: datetime.date, today: datetime.date
) -> dict[str, Any] | None:
    """The participation survey (seed 000) of about half the planned cases, a few weeks on."""
    surveyed_on = planned + datetime.timedelta(days=rng.randint(7, 90))
    if surveyed_on > today or rng.random() < 0.5:
        return None
    aware = rng.random() < 0.85
    involved = aware and rng.random() < 0.8
    return {
        "surveyed_on": surveyed_on,
        "q1_aware": aware,
        "q2_involved": involved if aware else None,  # asked only after a yes to Q1
        "q3_expressed_needs": involved and rng.random() < 0.7,
        "q3_chose_services": involved and rng.random() < 0.4,
        "q3_set_goals": involved and rng.random() < 0.4,
        "q3_agreed_plan": involved and rng.random() < 0.6,
        "q3_declined_services": involved and rng.random() < 0.05,
        "q3_other": involved and rng.random() < 0.03,
    }


def _save_counters(agency: Agency, counters: dict[int, int]) -> None:
    for year, last in counters.items():
        updated = CaseCounter.objects.filter(agency=agency, year=year).update(last=last)
        if not updated:
            CaseCounter.objects.create(agency=agency, year=year, last=last)


def caseworkers_for(count: int) -> int:
    return max(2, count // CASES_PER_CASEWORKER)
