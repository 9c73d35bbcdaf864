"""Benchmark of one person, one record, at the size of the bench database (issue 14, item 8):

- "match": the search a registration runs before anything is created
  (casework.cases.screening.find_matches: blind-index candidates, at most 200 decrypted, ranked,
  scoped to the caseworker, audited), for names taken from persons of the database with one
  letter changed; target p95 ≤ 50 ms at 1,000,000 persons on PostgreSQL;
- "duplicate job": casework.people.duplicates.find_duplicates over the whole agency; target
  ≤ 60 s;
- "merge": casework.cases.merging.merge_persons of two records of one person (each merge is
  undone, untimed, so the database is left as it was); target ≤ 200 ms.

The demo's names come from short lists (60 given names, 36 family names), so every name sound is
shared by thousands of persons and would form no block of the duplicate job at all. The first run
therefore adds BENCH_RARE_PERSONS persons (default 20,000) with rare invented names, a tenth of
them registered twice with a letter changed, so the job has real blocks and pairs to score. They
have no cases: they change no other benchmark.

Run alone: `python -m bench.persons_bench` (DATABASE_URL set to a bench database).
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

SYLLABLES = ["ka", "lo", "mi", "sa", "tou", "di", "ba", "ne", "ro", "fa", "zi", "wu", "ko", "ya"]


def _rare_name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _typo(name: str, rng: random.Random) -> str:
    if len(name) < 4:
        return name
    at = rng.randrange(1, len(name) - 1)
    return name[:at] + name[at + 1 :]


def _add_rare_persons(agency: Any, count: int, rng: random.Random) -> int:
    """Persons with rare names (a tenth of them twice), written in bulk; once per database."""
    from casework.core.bulk import insert_rows, reserve_ids, reset_sequences
    from casework.people.models import Person, PersonNameIndex
    from casework.vault import blind
    from casework.vault.fields import encrypting_for

    if Person.objects.filter(agency=agency, reference__startswith=f"{agency.code}-R-").exists():
        return 0
    people: list[dict[str, Any]] = []
    digests: list[dict[str, Any]] = []
    first_id = reserve_ids(Person, count)
    for offset in range(count):
        twin = offset % 10 == 9 and people
        if twin:
            model = people[-1]
            given, family = model["given_name"], _typo(model["family_name"], rng)
            sex, age = model["sex"], model["estimated_age"]
        else:
            given, family = _rare_name(rng), _rare_name(rng)
            sex, age = rng.choice(["female", "male"]), rng.randint(0, 60)
        pid = first_id + offset
        people.append(
            {
                "id": pid,
                "agency_id": agency.pk,
                "reference": f"{agency.code}-R-{offset:07d}",
                "given_name": given,
                "family_name": family,
                "other_names": "",
                "sex": sex,
                "estimated_age": age,
                "disability": "unknown",
                "mobility_status": "unknown",
            }
        )
        digests += [
            {"person_id": pid, "agency_id": agency.pk, "kind": kind, "digest": digest}
            for kind, digest in blind.name_digests(given, family, "", agency_id=agency.pk)
        ]
    with encrypting_for(agency.pk):  # bulk rows name their agency's key (casework/vault/fields.py)
        insert_rows(Person, people)
    insert_rows(PersonNameIndex, digests)
    reset_sequences([Person, PersonNameIndex])  # registrations after this run get fresh ids
    return count


def _twins_found(agency: Any) -> tuple[int, int]:
    """How many of the planted twins (record 10k+9 is 10k+8 with a letter dropped) the job kept."""
    from casework.people.models import DuplicateCandidate, Person

    rare = dict(
        Person.objects.filter(agency=agency, reference__startswith=f"{agency.code}-R-").values_list(
            "pk", "reference"
        )
    )
    offset = {pk: int(reference.rsplit("-", 1)[1]) for pk, reference in rare.items()}
    planted = sum(1 for number in offset.values() if number % 10 == 9)
    found = 0
    for first, second in DuplicateCandidate.objects.filter(agency=agency).values_list(
        "first_id", "second_id"
    ):
        if first in offset and second in offset:
            low, high = sorted((offset[first], offset[second]))
            found += high % 10 == 9 and low == high - 1
    return planted, found


def run(repeat: int = 20) -> dict[str, Any]:
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from casework.accounts.models import User
    from casework.cases import merging, screening
    from casework.cases.models import Case, PersonMerge
    from casework.core.benchmarking import timed
    from casework.people import duplicates
    from casework.people.matching import Query, find_candidates
    from casework.people.models import Person

    rng = random.Random(14)
    caseworker = User.objects.get(username="amina")
    supervisor = User.objects.get(username="sam")
    agency = caseworker.agency
    if agency is None or supervisor.team_id is None:
        raise SystemExit("Run on a bench database (bench/suite.py --generate-only).")
    _add_rare_persons(agency, int(os.environ.get("BENCH_RARE_PERSONS", "20000")), rng)
    rare = Person.objects.filter(agency=agency, reference__startswith=f"{agency.code}-R-").count()
    persons = Person.objects.filter(agency=agency).count()

    # Names as a caseworker would type them: a real person's, one letter off.
    high = Person.objects.filter(agency=agency).order_by("-pk").values_list("pk", flat=True)[0]
    queries: list[Query] = []
    sought: list[int] = []
    while len(queries) < max(repeat, 50):
        person = Person.objects.filter(agency=agency, pk__gte=rng.randint(1, high)).first()
        if person is None or not person.family_name:
            continue
        queries.append(
            Query(
                given_name=person.given_name or "",
                family_name=_typo(person.family_name or "", rng),
                sex=person.sex,
                estimated_age=person.age_on(person.updated_at.date()),
            )
        )
        sought.append(person.pk)
    cursor = iter(queries * 10)
    match = timed(lambda: screening.find_matches(caseworker, next(cursor)), repeat=len(queries))
    # Untimed: how often the person the typo came from is among the candidates shown.
    today = timezone.localdate()
    match["sought person shown"] = sum(
        pk in {c.person.pk for c in find_candidates(query, agency_ids=[agency.pk], today=today)}
        for query, pk in zip(queries, sought, strict=True)
    )
    match["searches"] = len(queries)

    start = time.perf_counter()
    open_pairs = duplicates.find_duplicates(agency.pk)
    job_seconds = time.perf_counter() - start
    pairs_considered = len(duplicates.candidate_pairs(agency.pk))
    planted, found = _twins_found(agency)

    # Two records of one person: two persons of the supervisor's team, each with cases.
    mine = list(
        Case.objects.filter(team_id=supervisor.team_id)
        .order_by("person_id")
        .values_list("person_id", flat=True)
        .distinct()[: 2 * (repeat + 1)]
    )
    couples = iter(list(zip(mine[::2], mine[1::2], strict=False)))

    def merge_one() -> None:
        survivor_id, merged_id = next(couples)
        survivor, merged = Person.objects.get(pk=survivor_id), Person.objects.get(pk=merged_id)
        choices = dict.fromkeys(merging.conflicts(survivor, merged), "survivor")
        with transaction.atomic():
            merging.merge_persons(survivor, merged, by=supervisor, choices=choices)

    merge = timed(merge_one, repeat=min(repeat, len(mine) // 2 - 1))
    for done in PersonMerge.objects.filter(undone_at=None, merged_by=supervisor):
        with transaction.atomic():
            merging.unmerge(done, by=supervisor)
    return {
        "database": connection.vendor,
        "persons": persons,
        "rare persons": rare,
        "match": match,
        "duplicate job": {
            "seconds": round(job_seconds, 2),
            "pairs compared": pairs_considered,
            "pairs kept": open_pairs,
            "planted twins": planted,
            "planted twins found": found,
        },
        "merge": merge,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, default=str))
