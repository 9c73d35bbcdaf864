"""Rows for indicator tests, written straight to the tables (the engine reads only the tables).

`CaseRows` keeps the contract's vocabulary (case_ref, person_ref, plan_text …) so that each test
reads like a line of the interchange format.
"""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from casework.accounts.models import Agency, Team
from casework.cases.models import Case
from casework.core.text import fold_hash
from casework.feedback.models import ParticipationSurvey
from casework.people.models import Person
from casework.plans import sharing
from casework.reference.models import Location, Programme, ProtectionConcern
from casework.reference.services import add_location


def day(text: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(text) if text else None


_numbers = itertools.count(1)


class CaseRows:
    def __init__(self, agency: Agency) -> None:
        self.agency = agency
        self.team = Team.objects.get_or_create(agency=agency, name="Indicators")[0]
        self.programmes = {p.code: p for p in Programme.objects.all()}
        self.concerns = {c.code: c for c in ProtectionConcern.objects.all()}
        self.locations: dict[str, Location] = {}
        self.people: dict[str, Person] = {}
        self.cases: dict[str, Case] = {}

    def location(self, code: str) -> Location:
        """`NE-01` is created inside `NE` (admin level 2 inside level 1)."""
        if code not in self.locations:
            existing = Location.objects.filter(code=code).first()
            if existing is None:
                parent = self.location(code.split("-")[0]) if "-" in code else None
                existing = add_location(code=code, name=code, parent=parent)
            self.locations[code] = existing
        return self.locations[code]

    def person(
        self,
        person_ref: str,
        *,
        sex: str = "female",
        disability: str = "no",
        mobility_status: str = "refugee",
    ) -> Person:
        if person_ref not in self.people:
            self.people[person_ref] = Person.objects.create(
                agency=self.agency,
                reference=person_ref,
                sex=sex,
                disability=disability,
                mobility_status=mobility_status,
            )
        return self.people[person_ref]

    def case(
        self,
        case_ref: str | None = None,
        person_ref: str | None = None,
        *,
        programme: str = "CP",
        service_type: str = "case_management",
        registered_on: str | None = "2026-07-10",
        assessed_on: str | None = "2026-07-12",
        plan_on: str | None = "2026-07-20",
        plan_text: str = "",
        plan_is_group: bool = False,
        closed_on: str | None = None,
        closure_reason: str = "",
        age: int | None = 12,
        protection_concern: str | None = "separated",
        risk_level: str = "medium",
        location: str | None = None,
        save: bool = True,
        of: Person | None = None,
        **person_fields: Any,
    ) -> Case:
        case_ref = case_ref or f"C-{next(_numbers):06d}"
        person_ref = person_ref or f"P-{case_ref}"
        registered = day(registered_on)
        case = Case(
            agency=self.agency,
            reference=case_ref,
            person=of or self.person(person_ref, **person_fields),
            programme=self.programmes[programme],
            service_type=service_type,
            identified_on=registered or datetime.date(2026, 1, 1),
            registered_on=registered,
            assessed_on=day(assessed_on),
            planned_on=day(plan_on),
            plan_fold_hash=fold_hash(plan_text),
            plan_is_group=plan_is_group,
            closed_on=day(closed_on),
            closure_reason=closure_reason,
            age_at_registration=age,
            primary_concern=self.concerns[protection_concern] if protection_concern else None,
            risk_level=risk_level,
            location=self.location(location) if location else None,
            team=self.team,
            status="closed" if closed_on else "planned",
        )
        if save:
            case.save()
            # Written past the plan services, so the builder keeps the shared-text flag itself.
            sharing.refresh(self.agency.pk, {case.plan_fold_hash})
            self.cases[case_ref] = case
        return case

    def many(self, count: int, **fields: Any) -> list[Case]:
        """`count` cases of `count` different persons, written in one INSERT per table."""
        people = [
            Person(agency=self.agency, reference=f"BULK-{next(_numbers):07d}", sex="female")
            for _ in range(count)
        ]
        Person.objects.bulk_create(people)
        cases = Case.objects.bulk_create(
            [self.case(save=False, of=person, **fields) for person in people]
        )
        sharing.refresh(self.agency.pk, {case.plan_fold_hash for case in cases})
        return cases

    def survey(
        self,
        case_ref: str,
        surveyed_on: str,
        *,
        q1_aware: bool = True,
        q2_involved: bool | None = True,
        q3: tuple[str, ...] = (),
    ) -> ParticipationSurvey:
        return ParticipationSurvey.objects.create(
            case=self.cases[case_ref],
            surveyed_on=datetime.date.fromisoformat(surveyed_on),
            q1_aware=q1_aware,
            q2_involved=q2_involved,
            **{f"q3_{way}": True for way in q3},
        )
