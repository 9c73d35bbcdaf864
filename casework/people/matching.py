"""Finding the persons a registration may duplicate, over encrypted names.

Names are encrypted, so no database can compare them. Candidates come from the blind index (the
keyed hashes of each name token, exactly and by sound, casework/vault/blind.py): the persons
sharing the most digests with the typed names, at most `CAP` of them. Only those are decrypted,
then ranked with rapidfuzz on the names and with the birth date or age and the sex, best first,
each with the reasons a caseworker can weigh ("same name by sound, born the same year").

This module knows persons only: who may see which candidate is the case gate's to say
(casework/cases/matching.py).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz

from casework.people.models import Person, PersonNameIndex, Sex, age_on
from casework.vault import blind

# At most this many persons are decrypted for one search, however common the names.
CAP = 200
# Shown at most: a caseworker reads a short list, best first.
SHOWN = 10
# Below this a candidate is not worth a caseworker's attention.
MIN_SCORE = 55

REASONS = {
    "same_name": _("same name"),
    "similar_name": _("similar name"),
    "same_sound": _("same name by sound"),
    "same_birth_date": _("same date of birth"),
    "same_birth_year": _("born the same year"),
    "similar_age": _("similar age"),
    "age_differs": _("age differs"),
    "same_sex": _("same sex"),
    "sex_differs": _("sex recorded differently"),
}


@dataclass(frozen=True)
class Query:
    """What registration starts with: the names, the sex, the birth date or an age."""

    given_name: str = ""
    family_name: str = ""
    other_names: str = ""
    sex: str = Sex.UNKNOWN
    date_of_birth: datetime.date | None = None
    estimated_age: int | None = None

    @property
    def names(self) -> str:
        return " ".join(n for n in (self.given_name, self.family_name, self.other_names) if n)


@dataclass(frozen=True)
class Candidate:
    person: Person
    score: int
    reasons: list[str] = field(default_factory=list)

    @property
    def reason_text(self) -> str:
        return ", ".join(str(REASONS[code]) for code in self.reasons)


def _age(person: Person | Query, today: datetime.date) -> int | None:
    if isinstance(person, Person):
        return person.age_on(today)
    if person.date_of_birth:
        return age_on(person.date_of_birth, today)
    return person.estimated_age


def score(query: Query, person: Person, *, today: datetime.date) -> Candidate:
    """How likely `person` is the one being registered, and why (0–100)."""
    typed = blind.normalise(query.names)
    known = blind.normalise(
        " ".join(n for n in (person.given_name, person.family_name, person.other_names) if n)
    )
    name = int(fuzz.token_sort_ratio(typed, known)) if typed and known else 0
    reasons: list[str] = []
    if typed and typed == known:
        reasons.append("same_name")
    elif name >= 85:
        reasons.append("similar_name")
    sounds = {blind.phonetic(token) for token in blind.tokens(query.names)} - {""}
    known_sounds = {blind.phonetic(token) for token in blind.tokens(known)} - {""}
    if sounds and sounds <= known_sounds and "same_name" not in reasons:
        reasons.append("same_sound")
        name = max(name, 80)
    bonus = 0
    if query.date_of_birth and person.date_of_birth:
        if query.date_of_birth == person.date_of_birth:
            reasons.append("same_birth_date")
            bonus += 20
        elif query.date_of_birth.year == person.date_of_birth.year:
            reasons.append("same_birth_year")
            bonus += 8
        else:
            reasons.append("age_differs")
            bonus -= 20
    else:
        typed_age, known_age = _age(query, today), _age(person, today)
        if typed_age is not None and known_age is not None:
            if abs(typed_age - known_age) <= 2:
                reasons.append("similar_age")
                bonus += 6
            elif abs(typed_age - known_age) > 5:
                reasons.append("age_differs")
                bonus -= 20
    if Sex.UNKNOWN not in (query.sex, person.sex):
        if query.sex == person.sex:
            reasons.append("same_sex")
            bonus += 5
        else:
            reasons.append("sex_differs")
            bonus -= 25
    return Candidate(person, max(0, min(100, round(name * 0.8) + bonus)), reasons)


def find_candidates(
    query: Query,
    *,
    agency_ids: list[int],
    today: datetime.date,
    exclude: set[int] | None = None,
) -> list[Candidate]:
    """The persons of `agency_ids` the typed details may describe, best first (at most SHOWN).

    Two queries: the person ids sharing the most name digests (at most CAP), then those persons,
    decrypted once each.
    """
    digests = blind.query_digests(query.names, phonetic_match=True)
    if not digests or not agency_ids:
        return []
    hits = (
        PersonNameIndex.objects.filter(
            digest__in=digests,
            person__agency_id__in=agency_ids,
            person__anonymised_at__isnull=True,
            person__merged_into__isnull=True,
        )
        .values("person_id")
        .annotate(hits=Count("id"))
        .order_by("-hits", "person_id")[:CAP]
    )
    ids = [row["person_id"] for row in hits if row["person_id"] not in (exclude or set())]
    people = Person.objects.filter(pk__in=ids).only(
        "pk",
        "agency_id",
        "reference",
        "given_name",
        "family_name",
        "other_names",
        "sex",
        "date_of_birth",
        "estimated_age",
        "age_estimated_on",
    )
    ranked = sorted(
        (score(query, person, today=today) for person in people),
        key=lambda found: (-found.score, found.person.pk),
    )
    return [found for found in ranked if found.score >= MIN_SCORE][:SHOWN]
