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

from django.db import connection
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


# A key's persons are read up to this many: beyond it a name sound is so common ("Fatoumata")
# that its own persons are only equals among themselves, and those sharing two sounds come
# through the sound pair instead.
LIST = 2000
# Two sounds together say far more than one sound or one word alone.
WEIGHTS = {"pair": 3, "token": 1, "phonetic": 1}


def _ranked_ids(
    keys: list[tuple[str, str]], *, agency_ids: list[int], exclude: set[int]
) -> list[int]:
    """Person ids of the agencies with the highest weight of keys in common, best first (at
    most CAP); among equals, the first registered. Each key reads its own slice of the index
    (digest → agency → person) and at most LIST rows of it, so that the work is bounded however
    common the names; no person row is read."""
    table = connection.ops.quote_name(PersonNameIndex._meta.db_table)
    agencies = ", ".join(["%s"] * len(agency_ids))
    branches: list[str] = []
    params: list[str | int] = []
    for n, (kind, digest) in enumerate(keys):
        branches.append(
            f"SELECT person_id, {WEIGHTS[kind]} AS weight FROM ("  # noqa: S608 (placeholders only)
            f"SELECT person_id FROM {table} WHERE digest = %s AND agency_id IN ({agencies}) "
            f"ORDER BY agency_id, person_id LIMIT %s) AS key{n}"
        )
        params += [digest, *agency_ids, LIST]
    sql = (
        f"SELECT person_id, SUM(weight) AS hits FROM ({' UNION ALL '.join(branches)}) AS found "  # noqa: S608
        "GROUP BY person_id ORDER BY hits DESC, person_id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, CAP + len(exclude)])
        return [pk for pk, _hits in cursor.fetchall() if pk not in exclude][:CAP]


def find_candidates(
    query: Query,
    *,
    agency_ids: list[int],
    today: datetime.date,
    exclude: set[int] | None = None,
) -> list[Candidate]:
    """The persons of `agency_ids` the typed details may describe, best first (at most SHOWN).

    Two queries: the person ids sharing the most name keys (at most CAP; read from the index
    alone, see _ranked_ids), then those persons, decrypted once each.
    """
    keys = blind.query_keys(query.names, agency_ids=agency_ids)
    if not keys or not agency_ids:
        return []
    ids = _ranked_ids(keys, agency_ids=agency_ids, exclude=exclude or set())
    # Anonymised and merged-away persons have no index rows; checked again all the same.
    people = Person.objects.filter(
        pk__in=ids, anonymised_at__isnull=True, merged_into__isnull=True
    ).only(
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
