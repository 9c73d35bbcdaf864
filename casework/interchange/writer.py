"""Writing checked rows: new rows through COPY or `executemany` (core.bulk.insert_rows), changed
rows through `bulk_update`, lookups loaded once. Runs inside the import's transaction.

A file may hold several agencies' cases: rows with encrypted values are written agency by agency
inside `encrypting_for`, so each value is encrypted with its own agency's key (these paths write
without model instances, which would otherwise say it; casework/vault/fields.py).

New records are built as attribute bags named like the model's columns rather than as model
instances: at 100,000 rows, instantiating and compiling models costs more than the database.
Values still go through each field's own `get_db_prep_save`, so encrypted fields are encrypted
exactly as by the ORM. Ids of new people and cases are read back by their natural keys
(agency, reference), which works on every database without reserving ids.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth.hashers import make_password
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.models import Agency, Team, User
from casework.accounts.roles import Role
from casework.cases.models import (
    Case,
    CaseCounter,
    Consent,
    IdentificationSource,
    ServiceType,
    Status,
    Transition,
)
from casework.core.bulk import insert_rows
from casework.core.text import fold_hash
from casework.feedback.models import ParticipationSurvey
from casework.interchange.models import ExtraValues
from casework.interchange.validation import CaseRow, Checked
from casework.people.models import Household, Person, PersonNameIndex, Relationship, age_on
from casework.plans import confirmations, sharing
from casework.plans.models import CasePlan
from casework.reference.models import Location
from casework.vault import blind
from casework.vault.fields import encrypting_for

BATCH = 2000
CHUNK = 5000
IMPORT_TEAM_NAME = "Imported cases"
SYSTEM_USERNAME = "casework-import"
ADULT_AGE = 18

Q3_FIELDS = (
    "q3_expressed_needs",
    "q3_chose_services",
    "q3_set_goals",
    "q3_agreed_plan",
    "q3_declined_services",
    "q3_other",
)
SURVEY_FIELDS = ("q1_aware", "q2_involved", *Q3_FIELDS)
PERSON_FIELDS = (
    "sex",
    "date_of_birth",
    "estimated_age",
    "age_estimated_on",
    "disability",
    "mobility_status",
    "given_name",
    "family_name",
)
# Case columns an import sets (attribute names, so foreign keys are compared by id).
CASE_FIELDS = (
    "person_id",
    "programme_id",
    "service_type",
    "identified_on",
    "registered_on",
    "primary_concern_id",
    "risk_level",
    "status",
    "caseworker_id",
    "team_id",
    "location_id",
    "age_at_registration",
    "assessed_on",
    "planned_on",
    "closed_on",
    "closure_reason",
    "plan_fold_hash",
    "plan_is_group",
)
_TEXT_FIELD = CASE_FIELDS.index("plan_fold_hash")
WORKING_ORDER = (Status.REGISTERED, Status.ASSESSED, Status.PLANNED, Status.IN_FOLLOW_UP)

Step = tuple[str, str, "datetime.date | None", str]  # from, to, day (None: now), closure reason


class _Bag:
    """A new row under construction: attributes named like the model's columns."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)
        self.pk: int | None = None

    def row(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if name != "pk"}

    def __getattr__(self, name: str) -> Any:  # for the type checker: any column name
        raise AttributeError(name)


def _chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


Item = TypeVar("Item")


def _per_agency(
    items: list[Item], agency_of: Callable[[Item], int]
) -> Iterator[tuple[int, list[Item]]]:
    """`items` in groups of one agency each (to be written with that agency's keys)."""
    groups: dict[int, list[Item]] = {}
    for item in items:
        groups.setdefault(agency_of(item), []).append(item)
    return iter(groups.items())


def system_user() -> User:
    """Who history rows are recorded by when neither the case's caseworker nor an importing
    user is known (an import from the command line)."""
    user, _created = User.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={
            "first_name": "Casework",
            "last_name": "import",
            "role": Role.NONE,
            "is_active": False,
            "password": make_password(None),
        },
    )
    return user


@dataclass
class _History:
    """What the cases an import updates already have."""

    statuses: dict[int, set[str]] = field(default_factory=dict)
    consented: set[int] = field(default_factory=set)
    plans: dict[int, CasePlan] = field(default_factory=dict)


class Writer:
    def __init__(self, checked: Checked, *, by: User | None) -> None:
        self.checked = checked
        self.lookups = checked.lookups
        self.now = timezone.now()
        self.counts: dict[str, int] = {}
        self._actor_id: int | None = by.pk if by is not None else None
        self._noons: dict[datetime.date, datetime.datetime] = {}
        self.import_teams: dict[str, Team] = {}
        self.people: dict[tuple[str, str], Any] = {}
        self.case_ids: dict[tuple[str, str], int] = {}
        self.survey_ids: dict[int, int] = {}

    def write(self) -> dict[str, int]:
        self._agencies()
        self._teams()
        self._locations()
        self._caseworkers()
        self._people()
        self._families()
        self._cases()
        self._surveys()
        self._extras()
        self._counters()
        return self.counts

    def actor_id(self) -> int:
        if self._actor_id is None:
            self._actor_id = system_user().pk
        return self._actor_id

    def noon(self, day: datetime.date) -> datetime.datetime:
        # History rows carry a time; the file has days. Noon keeps the day in nearby time zones.
        found = self._noons.get(day)
        if found is None:
            found = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))
            self._noons[day] = found
        return found

    # --- what the rows refer to -----------------------------------------------------------------

    def _agencies(self) -> None:
        new = self.checked.new_agencies
        if not new:
            return
        Agency.objects.bulk_create([Agency(code=code, name=code) for code in new])
        for agency in Agency.objects.filter(code__in=new):
            self.lookups.agencies[agency.code] = agency

    def _teams(self) -> None:
        """The team that holds cases whose caseworker is unknown, new, or in no team."""
        users = self.lookups.users
        needing = set(self.checked.new_caseworkers.values())
        for row in self.checked.cases:
            user = users.get(row.caseworker)
            if user is None or user.team_id is None:
                needing.add(row.agency_code)
        if not needing:
            return
        codes = {self.lookups.agencies[code].pk: code for code in needing}
        found = {
            codes[team.agency_id]: team
            for team in Team.objects.filter(agency_id__in=codes, name=IMPORT_TEAM_NAME)
        }
        missing = [pk for pk, code in codes.items() if code not in found]
        if missing:
            Team.objects.bulk_create([Team(agency_id=pk, name=IMPORT_TEAM_NAME) for pk in missing])
            for team in Team.objects.filter(agency_id__in=missing, name=IMPORT_TEAM_NAME):
                found[codes[team.agency_id]] = team
        self.import_teams = found

    def _locations(self) -> None:
        new = self.checked.new_locations
        if not new:
            return
        # An admin area the instance does not know: created at level 1 under its own code, for
        # an administrator to name and place in the hierarchy.
        Location.objects.bulk_create(
            [Location(code=code, name=code, level=1, adm1_code=code) for code in new]
        )
        for location in Location.objects.filter(code__in=new):
            self.lookups.locations[location.code.upper()] = location

    def _caseworkers(self) -> None:
        new = self.checked.new_caseworkers
        if not new:
            return
        User.objects.bulk_create(
            [
                User(
                    username=username,
                    agency=self.lookups.agencies[code],
                    team=self.import_teams[code],
                    role=Role.CASEWORKER,
                    # Known by name only, until an administrator activates the account.
                    is_active=False,
                    password=make_password(None),
                )
                for username, code in sorted(new.items())
            ],
            batch_size=BATCH,
        )
        for chunk in _chunks(sorted(new)):
            for user in User.objects.filter(username__in=chunk).only(
                "id", "username", "agency_id", "team_id", "role"
            ):
                self.lookups.users[user.username] = user

    # --- people ---------------------------------------------------------------------------------

    def _people(self) -> None:
        rows_by_person: dict[tuple[str, str], list[CaseRow]] = {}
        for row in self.checked.cases:
            rows_by_person.setdefault((row.agency_code, row.person_ref), []).append(row)
        created: list[_Bag] = []
        changed: list[Person] = []
        renamed: list[Any] = []
        for key, rows in rows_by_person.items():
            existing = self.lookups.persons.get(key)
            person: Any
            if existing is None:
                person = _Bag(
                    agency_id=self.lookups.agencies[key[0]].pk,
                    reference=key[1],
                    sex="unknown",
                    date_of_birth=None,
                    estimated_age=None,
                    age_estimated_on=None,
                    disability="unknown",
                    mobility_status="unknown",
                    given_name="",
                    family_name="",
                )
                for row in rows:
                    _apply_person(person, row)
                created.append(person)
                if person.given_name or person.family_name:
                    renamed.append(person)
            else:
                person = existing
                before = [getattr(person, name) for name in PERSON_FIELDS]
                for row in rows:
                    _apply_person(person, row)
                after = [getattr(person, name) for name in PERSON_FIELDS]
                if after != before:
                    person.updated_at = self.now
                    person.version = (person.version or 1) + 1  # its ETag moves on
                    changed.append(person)
                    if before[-2:] != after[-2:]:
                        renamed.append(person)
            self.people[key] = person
        for agency_id, new_people in _per_agency(created, lambda person: person.agency_id):
            with encrypting_for(agency_id):
                insert_rows(Person, [person.row() for person in new_people])
        _read_back_ids(Person, created)
        for agency_id, known_people in _per_agency(changed, lambda person: person.agency_id):
            with encrypting_for(agency_id):
                Person.objects.bulk_update(
                    known_people, [*PERSON_FIELDS, "updated_at", "version"], batch_size=BATCH
                )
        if renamed:
            # Names are searched through their blind index only: keep it in step.
            old = [p.pk for p in renamed if not isinstance(p, _Bag)]
            for chunk in _chunks(old):
                PersonNameIndex.objects.filter(person_id__in=chunk).delete()
            insert_rows(
                PersonNameIndex,
                [
                    {"person_id": p.pk, "agency_id": p.agency_id, "kind": kind, "digest": digest}
                    for p in renamed
                    for kind, digest in blind.name_digests(
                        p.given_name or "", p.family_name or "", "", agency_id=p.agency_id
                    )
                ],
            )
        self.counts["people_created"] = len(created)
        self.counts["people_updated"] = len(changed)

    def _families(self) -> None:
        """Households by household_ref and links from `relationships` (both ways), for the
        persons of the file; a link naming a person of the agency outside the file is checked
        by the validation and found in its lookups."""
        rows = [
            r for r in self.checked.cases if {"household_ref", "relationships"} & r.values.keys()
        ]
        if not rows:
            return
        ids = {key: person.pk for key, person in self.people.items()}
        ids.update(
            {key: person.pk for key, person in self.lookups.persons.items() if key not in ids}
        )
        households: dict[tuple[str, str], list[int]] = {}
        wanted: dict[tuple[int, int], tuple[str, bool]] = {}
        for row in rows:
            me = ids[(row.agency_code, row.person_ref)]
            if row.values.get("household_ref"):
                households.setdefault((row.agency_code, row.values["household_ref"]), []).append(me)
            for ref, kind, caregiver in row.values.get("relationships") or []:
                other = ids[(row.agency_code, ref)]
                wanted[(me, other)] = (kind, caregiver)
                wanted.setdefault((other, me), (Relationship.INVERSE[kind], False))
        current = {
            person_id: household_id
            for person_id, household_id in Person.objects.filter(
                pk__in={pk for members in households.values() for pk in members}
            ).values_list("pk", "household_id")
        }
        joined = 0
        for (code, _ref), members in households.items():
            home = next((current[pk] for pk in members if current.get(pk)), None)
            if home is None:
                home = Household.objects.create(agency=self.lookups.agencies[code]).pk
            joined += Person.objects.filter(pk__in=members, household__isnull=True).update(
                household_id=home
            )
        existing = {
            (link.person_id, link.relative_id): link
            for chunk in _chunks(sorted({pair[0] for pair in wanted}))
            for link in Relationship.objects.filter(person_id__in=chunk)
        }
        new = [
            Relationship(
                person_id=person,
                relative_id=relative,
                kind=kind,
                is_caregiver=caregiver,
                recorded_at=self.now,
                recorded_by_id=self.actor_id(),
            )
            for (person, relative), (kind, caregiver) in wanted.items()
            if (person, relative) not in existing
        ]
        changed = [
            link
            for pair, link in existing.items()
            if pair in wanted and (link.kind, link.is_caregiver) != wanted[pair]
        ]
        for link in changed:
            link.kind, link.is_caregiver = wanted[(link.person_id, link.relative_id)]
        Relationship.objects.bulk_create(new, batch_size=BATCH)
        Relationship.objects.bulk_update(changed, ["kind", "is_caregiver"], batch_size=BATCH)
        self.counts["links_written"] = len(new) + len(changed)
        self.counts["household_members_set"] = joined

    # --- cases and their history ----------------------------------------------------------------

    def _cases(self) -> None:
        lookups = self.lookups
        existing_ids = [
            lookups.cases[row.key].pk for row in self.checked.cases if row.key in lookups.cases
        ]
        history = _existing_history(existing_ids)
        created: list[_Bag] = []
        changed: list[Case] = []
        unchanged = 0
        pending: list[tuple[Any, CaseRow, list[Step]]] = []
        plans: list[tuple[Any, CaseRow]] = []
        # Plan texts whose persons may have changed, by agency (plans.sharing).
        texts: dict[int, set[str]] = {}
        for row in self.checked.cases:
            existing = lookups.cases.get(row.key)
            case: Any
            if existing is None:
                case = _Bag(
                    agency_id=lookups.agencies[row.agency_code].pk,
                    reference=row.case_ref,
                    identification_source=IdentificationSource.SELF,
                    identified_on=None,
                    service_type=ServiceType.CASE_MANAGEMENT,
                    status=Status.REGISTERED,
                    primary_concern_id=None,
                    risk_level="",
                    caseworker_id=None,
                    location_id=None,
                    assessed_on=None,
                    planned_on=None,
                    closed_on=None,
                    closure_reason="",
                    plan_fold_hash="",
                    plan_is_group=False,
                    version=1,
                )
                before: list[Any] = []
            else:
                case = existing
                before = [getattr(case, name) for name in CASE_FIELDS]
            self._apply_case(case, row, is_new=existing is None)
            statuses = history.statuses.get(case.pk, set()) if existing is not None else set()
            steps, case.status = _missing_steps(row, case, statuses, is_new=existing is None)
            self._apply_plan_summary(case, row, history.plans.get(case.pk), plans)
            pending.append((case, row, steps))
            written = True
            if existing is None:
                created.append(case)
            elif [getattr(case, name) for name in CASE_FIELDS] != before:
                case.version += 1
                case.updated_at = self.now
                changed.append(case)
                old_text = before[_TEXT_FIELD]
                texts.setdefault(case.agency_id, set()).add(old_text)
                if old_text != case.plan_fold_hash:
                    case.plan_text_shared = False  # sharing.refresh sets it where it holds
            else:
                unchanged += 1
                written = False
            if written:
                texts.setdefault(case.agency_id, set()).add(case.plan_fold_hash)
        insert_rows(Case, [case.row() for case in created])
        _read_back_ids(Case, created)
        if changed:
            Case.objects.bulk_update(
                changed,
                [*CASE_FIELDS, "plan_text_shared", "version", "updated_at"],
                batch_size=BATCH,
            )
        for agency_id, agency_texts in texts.items():
            sharing.refresh(agency_id, agency_texts)
        for case, row, _steps in pending:
            self.case_ids[row.key] = case.pk
        self.counts["cases_created"] = len(created)
        self.counts["cases_updated"] = len(changed)
        self.counts["cases_unchanged"] = unchanged
        self._transitions(pending)
        self._consents(pending, history.consented)
        self._plans(plans, history.plans)

    def _apply_case(self, case: Any, row: CaseRow, *, is_new: bool) -> None:
        values = row.values
        lookups = self.lookups
        person = self.people[(row.agency_code, row.person_ref)]
        case.person_id = person.pk
        if "programme" in values:
            case.programme_id = values["programme"].pk
        if values.get("service_type"):
            case.service_type = values["service_type"]
        registered_on = values["registered_on"]
        case.registered_on = registered_on
        if case.identified_on is None or registered_on < case.identified_on:
            case.identified_on = registered_on
        if "protection_concern" in values:
            concern = values["protection_concern"]
            case.primary_concern_id = concern.pk if concern is not None else None
        if "risk_level" in values:
            case.risk_level = values["risk_level"]
        if "location_code" in values:
            code = values["location_code"]
            case.location_id = lookups.locations[code.upper()].pk if code else None
        if is_new or "caseworker" in self.checked.case_columns:
            user = lookups.users.get(row.caseworker) if row.caseworker else None
            case.caseworker_id = user.pk if user is not None else None
            if user is not None and user.team_id is not None:
                case.team_id = user.team_id
            else:
                case.team_id = self.import_teams[row.agency_code].pk
        for column, name in (
            ("assessed_on", "assessed_on"),
            ("plan_on", "planned_on"),
            ("closed_on", "closed_on"),
            ("closure_reason", "closure_reason"),
        ):
            if column in values:
                setattr(case, name, values[column])
        case.age_at_registration = _age_at_registration(row, person)

    def _apply_plan_summary(
        self, case: Any, row: CaseRow, current: CasePlan | None, plans: list[tuple[Any, CaseRow]]
    ) -> None:
        """Keep Case.plan_fold_hash / plan_is_group in step with the plan the file gives."""
        values = row.values
        if "plan_on" not in values:
            return
        if values["plan_on"] is None:
            case.plan_fold_hash = ""
            case.plan_is_group = False
            return
        if _text_given(values, current):
            case.plan_fold_hash = fold_hash(values["plan_text"])
        else:
            case.plan_fold_hash = current.fold_hash if current is not None else ""
        if "plan_is_group" in values:
            case.plan_is_group = values["plan_is_group"] == "yes"
        elif current is not None:
            case.plan_is_group = current.is_group
        plans.append((case, row))

    def _transitions(self, pending: list[tuple[Any, CaseRow, list[Step]]]) -> None:
        rows: list[dict[str, Any]] = []
        reopened = _("Reopened by an import: the file has no closing date.")
        agencies = {case.pk: case.agency_id for case, _row, _steps in pending}
        for case, _row, steps in pending:
            by_id = case.caseworker_id or self.actor_id()
            for from_status, to_status, day, closure_reason in steps:
                rows.append(
                    {
                        "case_id": case.pk,
                        "from_status": from_status,
                        "to_status": to_status,
                        "occurred_at": self.now if day is None else self.noon(day),
                        "by_id": by_id,
                        "closure_reason": closure_reason,
                        "reason": reopened if to_status == Status.REOPENED else "",
                    }
                )
        for agency_id, group in _per_agency(rows, lambda row: agencies[row["case_id"]]):
            with encrypting_for(agency_id):
                insert_rows(Transition, group)
        self.counts["transitions_created"] = len(rows)

    def _consents(
        self, pending: list[tuple[Any, CaseRow, list[Step]]], consented: set[int]
    ) -> None:
        rows: list[dict[str, Any]] = []
        for case, row, _steps in pending:
            answer = row.values.get("consent_services", "")
            if not answer or case.pk in consented:
                continue
            # The file says services were consented to; for a child that is a caregiver's
            # consent with the child's assent, as the lifecycle requires.
            age = case.age_at_registration
            child = age is not None and age < ADULT_AGE
            rows.append(
                {
                    "case_id": case.pk,
                    "given_by": Consent.GivenBy.CAREGIVER if child else Consent.GivenBy.CLIENT,
                    "child_assent": True if child else None,
                    "receive_services": answer == "yes",
                    "given_on": case.registered_on,
                    "recorded_by_id": case.caseworker_id or self.actor_id(),
                }
            )
        insert_rows(Consent, rows)
        self.counts["consents_created"] = len(rows)

    def _plans(self, plans: list[tuple[Any, CaseRow]], current: dict[int, CasePlan]) -> None:
        rows: list[dict[str, Any]] = []
        agencies = {case.pk: case.agency_id for case, _row in plans}
        for case, row in plans:
            values = row.values
            existing = current.get(case.pk)
            if existing is not None and (existing.fold_hash, existing.is_group) == (
                case.plan_fold_hash,
                case.plan_is_group,
            ):
                continue
            if _text_given(values, existing):
                text = values["plan_text"]
            else:
                text = existing.text if existing is not None else ""
            rows.append(
                {
                    "case_id": case.pk,
                    "version": existing.version + 1 if existing is not None else 1,
                    "planned_on": values["plan_on"],
                    "text": text,
                    "fold_hash": case.plan_fold_hash,
                    "is_group": case.plan_is_group,
                }
            )
        for agency_id, group in _per_agency(rows, lambda row: agencies[row["case_id"]]):
            with encrypting_for(agency_id):
                insert_rows(CasePlan, group)
        # A new version ends a supervisor's confirmation that the old text was a near copy.
        confirmations.refresh_confirmed([row["case_id"] for row in rows if row["version"] > 1])
        self.counts["plans_created"] = len(rows)

    # --- surveys and extra columns --------------------------------------------------------------

    def _case_id(self, key: tuple[str, str]) -> int:
        found = self.case_ids.get(key)
        return found if found is not None else self.lookups.cases[key].pk

    def _surveys(self) -> None:
        surveys = self.checked.surveys
        self.counts.update(surveys_created=0, surveys_updated=0, surveys_unchanged=0)
        if not surveys:
            return
        existing_case_ids = sorted(
            {self._case_id(row.case_key) for row in surveys if row.case_key in self.lookups.cases}
        )
        existing: dict[tuple[int, datetime.date], ParticipationSurvey] = {}
        for chunk in _chunks(existing_case_ids):
            for survey in ParticipationSurvey.objects.filter(case_id__in=chunk):
                existing.setdefault((survey.case_id, survey.surveyed_on), survey)
        created: list[dict[str, Any]] = []
        changed: list[ParticipationSurvey] = []
        for row in surveys:
            case_id = self._case_id(row.case_key)
            answers = {
                "q1_aware": row.q1_aware,
                "q2_involved": row.q2_involved,
                **{name: name[3:] in row.q3 for name in Q3_FIELDS},
            }
            held = existing.get((case_id, row.surveyed_on))
            if held is None:
                created.append({"case_id": case_id, "surveyed_on": row.surveyed_on, **answers})
            elif any(getattr(held, name) != value for name, value in answers.items()):
                for name, value in answers.items():
                    setattr(held, name, value)
                held.updated_at = self.now
                changed.append(held)
            else:
                self.counts["surveys_unchanged"] += 1
            if held is not None:
                self.survey_ids[row.line] = held.pk
        insert_rows(ParticipationSurvey, created)
        if changed:
            ParticipationSurvey.objects.bulk_update(
                changed, [*SURVEY_FIELDS, "updated_at"], batch_size=BATCH
            )
        self.counts["surveys_created"] = len(created)
        self.counts["surveys_updated"] = len(changed)
        # Ids of new surveys are needed only to keep their extra columns.
        wanting = [row for row in surveys if row.extras and row.line not in self.survey_ids]
        if wanting:
            case_ids = sorted({self._case_id(row.case_key) for row in wanting})
            found = {
                (case_id, day): pk
                for chunk in _chunks(case_ids)
                for pk, case_id, day in ParticipationSurvey.objects.filter(
                    case_id__in=chunk
                ).values_list("pk", "case_id", "surveyed_on")
            }
            for row in wanting:
                self.survey_ids[row.line] = found[(self._case_id(row.case_key), row.surveyed_on)]

    def _extras(self) -> None:
        """Keep what the file's extra columns hold, encrypted, next to the case or survey."""
        wanted: dict[tuple[int, int | None], dict[str, str]] = {}
        agencies: dict[int, int] = {}  # case id → agency id
        for row in self.checked.cases:
            if row.extras:
                wanted[(self.case_ids[row.key], None)] = row.extras
                agencies[self.case_ids[row.key]] = self.lookups.agencies[row.agency_code].pk
        for survey_row in self.checked.surveys:
            if survey_row.extras:
                case_id = self._case_id(survey_row.case_key)
                wanted[(case_id, self.survey_ids[survey_row.line])] = survey_row.extras
                agencies[case_id] = self.lookups.agencies[survey_row.case_key[0]].pk
        self.counts["extra_values_kept"] = len(wanted)
        if not wanted:
            return
        existing: dict[tuple[int, int | None], ExtraValues] = {}
        held = sorted({case_id for case_id, _survey in wanted} & set(_known_case_ids(self)))
        for chunk in _chunks(held):
            for extra in ExtraValues.objects.filter(case_id__in=chunk):
                existing[(extra.case_id, extra.survey_id)] = extra
        created: list[dict[str, Any]] = []
        changed: list[ExtraValues] = []
        for (case_id, survey_id), values in wanted.items():
            kept = existing.get((case_id, survey_id))
            if kept is None:
                created.append(
                    {
                        "case_id": case_id,
                        "survey_id": survey_id,
                        "values_json": ExtraValues.dump(values),
                    }
                )
            else:
                merged = {**kept.values, **values}
                if merged != kept.values:
                    kept.values = merged
                    changed.append(kept)
        for agency_id, group in _per_agency(created, lambda row: agencies[row["case_id"]]):
            with encrypting_for(agency_id):
                insert_rows(ExtraValues, group)
        for agency_id, kept_group in _per_agency(changed, lambda extra: agencies[extra.case_id]):
            with encrypting_for(agency_id):
                ExtraValues.objects.bulk_update(
                    kept_group, ["values_json", "updated_at"], batch_size=BATCH
                )

    # --- reference counters ---------------------------------------------------------------------

    def _counters(self) -> None:
        """References in Casework's own pattern (from a Casework export) move the agency's
        counters past them, so a case registered later never gets a number already taken."""
        highest: dict[tuple[int, int], int] = {}
        patterns: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {}
        for row in self.checked.cases:
            agency = self.lookups.agencies[row.agency_code]
            if agency.code not in patterns:
                code = re.escape(agency.code)
                patterns[agency.code] = (
                    re.compile(rf"^{code}-(\d{{4}})-(\d{{1,9}})$"),
                    re.compile(rf"^{code}-P-(\d{{1,9}})$"),
                )
            case_pattern, person_pattern = patterns[agency.code]
            found = case_pattern.match(row.case_ref)
            if found:
                key = (agency.pk, int(found.group(1)))
                highest[key] = max(highest.get(key, 0), int(found.group(2)))
            found = person_pattern.match(row.person_ref)
            if found:
                key = (agency.pk, 0)
                highest[key] = max(highest.get(key, 0), int(found.group(1)))
        if not highest:
            return
        counters = {
            (c.agency_id, c.year): c
            for c in CaseCounter.objects.filter(agency_id__in={a for a, _y in highest})
        }
        for (agency_id, year), last in highest.items():
            counter = counters.get((agency_id, year))
            if counter is None:
                CaseCounter.objects.create(agency_id=agency_id, year=year, last=last)
            elif counter.last < last:
                CaseCounter.objects.filter(pk=counter.pk).update(last=last)


# --- helpers ------------------------------------------------------------------------------------


def _known_case_ids(writer: Writer) -> list[int]:
    return [case.pk for case in writer.lookups.cases.values()]


def _read_back_ids(model: type[Any], bags: list[_Bag]) -> None:
    """Ids of freshly inserted people or cases, by their unique (agency, reference)."""
    by_agency: dict[int, list[_Bag]] = {}
    for bag in bags:
        by_agency.setdefault(bag.agency_id, []).append(bag)
    for agency_id, group in by_agency.items():
        found: dict[str, int] = {}
        for chunk in _chunks([bag.reference for bag in group]):
            found.update(
                model.objects.filter(agency_id=agency_id, reference__in=chunk).values_list(
                    "reference", "pk"
                )
            )
        for bag in group:
            bag.pk = found[bag.reference]


def _text_given(values: dict[str, Any], current: CasePlan | None) -> bool:
    """Whether the row's plan_text replaces the plan's text (a withheld marker never replaces a
    plan the case already has)."""
    return "plan_text" in values and not (values.get("plan_text_withheld") and current is not None)


def _apply_person(person: Any, row: CaseRow) -> None:
    values = row.values
    for name in ("sex", "disability", "mobility_status", "given_name", "family_name"):
        if name in values:
            setattr(person, name, values[name])
    if "date_of_birth" in values:
        person.date_of_birth = values["date_of_birth"]
    if person.date_of_birth is not None:
        person.estimated_age = None
        person.age_estimated_on = None
    elif values.get("age") is not None:
        person.estimated_age = values["age"]
        person.age_estimated_on = values["registered_on"]


def _age_at_registration(row: CaseRow, person: Any) -> int | None:
    """Whole years at registered_on: from this row's date of birth, else its age, else from what
    the person record knows."""
    registered_on = row.values["registered_on"]
    born = row.values.get("date_of_birth")
    if born is not None:
        return age_on(born, registered_on)
    if row.values.get("age") is not None:
        return int(row.values["age"])
    return Person.age_on(person, registered_on)


def _existing_history(case_ids: list[int]) -> _History:
    history = _History()
    for chunk in _chunks(case_ids):
        for case_id, status in Transition.objects.filter(case_id__in=chunk).values_list(
            "case_id", "to_status"
        ):
            history.statuses.setdefault(case_id, set()).add(status)
        history.consented.update(
            Consent.objects.filter(case_id__in=chunk).values_list("case_id", flat=True)
        )
        for plan in CasePlan.objects.filter(case_id__in=chunk).order_by("case_id", "-version"):
            history.plans.setdefault(plan.case_id, plan)
    return history


def _missing_steps(
    row: CaseRow, case: Any, statuses: set[str], *, is_new: bool
) -> tuple[list[Step], str]:
    """The history rows the case lacks for the file's dates, and the status it ends at.

    A new case walks identified → registered (both on registered_on) → assessed → planned →
    closed, as far as its dates go. A case already held only gains the steps it lacks, and keeps
    the step it is at when it was taken further by hand (in follow-up, paused…).
    """
    values = row.values
    registered_on = values["registered_on"]
    chain: list[tuple[str, datetime.date]] = [
        (Status.IDENTIFIED, registered_on),
        (Status.REGISTERED, registered_on),
    ]
    if values.get("assessed_on") is not None:
        chain.append((Status.ASSESSED, values["assessed_on"]))
    if values.get("plan_on") is not None:
        chain.append((Status.PLANNED, values["plan_on"]))
    steps: list[Step] = []
    previous = ""
    for status, day in chain:
        if is_new or status not in statuses:
            steps.append((previous, status, day, ""))
        previous = status
    closed_on = values.get("closed_on")
    if closed_on is not None and (is_new or case.status != Status.CLOSED):
        source = previous if is_new else case.status
        steps.append((source, Status.CLOSED, closed_on, values.get("closure_reason", "")))
    elif (
        not is_new and "closed_on" in values and closed_on is None and case.status == Status.CLOSED
    ):
        steps.append((Status.CLOSED, Status.REOPENED, None, ""))
    if not steps:
        return steps, case.status
    last = steps[-1][1]
    if is_new or last in (Status.CLOSED, Status.REOPENED):
        return steps, last
    if case.status not in WORKING_ORDER or WORKING_ORDER.index(case.status) >= WORKING_ORDER.index(
        last
    ):
        return steps, case.status
    return steps, last
