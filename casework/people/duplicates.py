"""The duplicate job: persons of an agency who may be one, found without decrypting everyone.

Blocking on the blind index (casework/vault/blind.py): two persons are compared only if they
share a name sound (phonetic digest) that few persons have, and either

- that sound is very rare — at most TINY persons have it — so a typo in the other name ("Kaloba"
  for "Kalomba") does not hide the pair; or
- it is shared by at most BLOCK persons and the two share a second name sound as well (a given
  and a family name, typically).

Common sounds ("Mohamed") never form a block of their own. Each person is paired with at most
(TINY - 1) others per very rare sound, and at most BLOCK - 1 per rare one where a second sound
must also agree, so the work grows with the number of persons, not with its square, and only the
persons in some small block are decrypted. Each pair is then scored as a registration's search
scores a candidate (casework/people/matching.py).
"""

from __future__ import annotations

from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone

from casework.people.matching import Query, score
from casework.people.models import DuplicateCandidate, Person

# A name sound shared by more persons than this is too common to compare everyone in it.
BLOCK = 50
# A name sound shared by at most this many persons is rare enough to compare them on it alone.
TINY = 5
# Pairs scoring below this are not worth a supervisor's time.
MIN_SCORE = 70

_PAIRS = """
WITH mine AS (
    SELECT i.person_id, i.digest
    FROM people_personnameindex i
    JOIN people_person p ON p.id = i.person_id
    WHERE p.agency_id = %s AND i.kind = 'phonetic'
      AND p.anonymised_at IS NULL AND p.merged_into_id IS NULL
),
small AS (
    SELECT digest, COUNT(*) AS size FROM mine GROUP BY digest HAVING COUNT(*) BETWEEN 2 AND %s
),
pairs AS (
    SELECT a.person_id AS first, b.person_id AS second, MIN(small.size) AS smallest
    FROM small
    JOIN mine a ON a.digest = small.digest
    JOIN mine b ON b.digest = small.digest AND a.person_id < b.person_id
    GROUP BY a.person_id, b.person_id
)
SELECT pairs.first, pairs.second
FROM pairs
WHERE pairs.smallest <= %s OR (
    -- Looked up pair by pair: joining every person's sounds to everyone's first would pair up
    -- all the persons called Mohamed.
    SELECT COUNT(*)
    FROM people_personnameindex a, people_personnameindex b
    WHERE a.person_id = pairs.first AND a.kind = 'phonetic'
      AND b.person_id = pairs.second AND b.kind = 'phonetic' AND b.digest = a.digest
) >= 2
ORDER BY pairs.first, pairs.second
"""


def candidate_pairs(agency_id: int) -> list[tuple[int, int]]:
    """(first, second) person ids sharing a very rare name sound, or a rare one and two in all."""
    with connection.cursor() as cursor:
        cursor.execute(_PAIRS, [agency_id, BLOCK, TINY])
        return [(first, second) for first, second in cursor.fetchall()]


def _as_query(person: Person) -> Query:
    return Query(
        given_name=person.given_name or "",
        family_name=person.family_name or "",
        other_names=person.other_names or "",
        sex=person.sex,
        date_of_birth=person.date_of_birth,
        estimated_age=person.age_on(timezone.localdate()),
    )


def find_duplicates(agency_id: int) -> int:
    """Score the agency's candidate pairs and keep the likely ones for review; returns how many
    pairs are open. A pair already merged or dismissed is not raised again."""
    pairs = candidate_pairs(agency_id)
    ids = {pk for pair in pairs for pk in pair}
    people = {
        person.pk: person
        for person in Person.objects.filter(pk__in=ids).only(
            "pk",
            "agency_id",
            "given_name",
            "family_name",
            "other_names",
            "sex",
            "date_of_birth",
            "estimated_age",
            "age_estimated_on",
        )
    }
    today = timezone.localdate()
    decided = set(
        DuplicateCandidate.objects.filter(agency_id=agency_id)
        .exclude(status=DuplicateCandidate.Status.OPEN)
        .values_list("first_id", "second_id")
    )
    found: dict[tuple[int, int], tuple[int, list[str]]] = {}
    for first, second in pairs:
        if (first, second) in decided:
            continue
        scored = score(_as_query(people[first]), people[second], today=today)
        if scored.score >= MIN_SCORE:
            found[(first, second)] = (scored.score, scored.reasons)
    now = timezone.now()
    with transaction.atomic():
        existing = {
            (row.first_id, row.second_id): row
            for row in DuplicateCandidate.objects.filter(
                agency_id=agency_id, status=DuplicateCandidate.Status.OPEN
            )
        }
        DuplicateCandidate.objects.filter(
            pk__in=[row.pk for pair, row in existing.items() if pair not in found]
        ).delete()
        changed = []
        for pair, (points, reasons) in found.items():
            row = existing.get(pair)
            if row is not None:
                row.score, row.reasons = points, reasons
                changed.append(row)
        DuplicateCandidate.objects.bulk_update(changed, ["score", "reasons"])
        DuplicateCandidate.objects.bulk_create(
            DuplicateCandidate(
                agency_id=agency_id,
                first_id=first,
                second_id=second,
                score=points,
                reasons=reasons,
                found_at=now,
            )
            for (first, second), (points, reasons) in found.items()
            if (first, second) not in existing
        )
    return len(found)


def by_agency() -> dict[int, int]:
    """Run the job for every agency with persons."""
    counts: dict[int, int] = defaultdict(int)
    for agency_id in Person.objects.values_list("agency_id", flat=True).distinct():
        counts[agency_id] = find_duplicates(agency_id)
    return dict(counts)
