from __future__ import annotations

from typing import Any, TypedDict, TypeVar

from django.db.models import Count, QuerySet

from casework.people.models import Person, PersonNameIndex
from casework.vault import blind


def index_names(person: Person) -> None:
    """Rewrite the blind-index rows of a person (after a create or a change of name)."""
    PersonNameIndex.objects.filter(person=person).delete()
    PersonNameIndex.objects.bulk_create(name_index_rows(person))


def name_index_rows(person: Person) -> list[PersonNameIndex]:
    return [
        PersonNameIndex(person=person, kind=kind, digest=digest)
        for kind, digest in blind.name_digests(
            person.given_name or "", person.family_name or "", person.other_names or ""
        )
    ]


# A queryset of cases (people is below cases: it knows them only as rows with a person_id).
Cases = TypeVar("Cases", bound=QuerySet[Any])


class NameHits(TypedDict):
    """A row of `matching_person_ids`: a person and how many of its name digests matched."""

    person_id: int
    hits: int


def matching_person_ids(
    query: str, *, phonetic: bool = True
) -> QuerySet[PersonNameIndex, NameHits]:
    """Person ids whose names match the typed words, best match first (a subquery-able set)."""
    digests = blind.query_digests(query, phonetic_match=phonetic)
    return (
        PersonNameIndex.objects.filter(digest__in=digests)
        .values("person_id")
        .annotate(hits=Count("id"))
        .order_by("-hits")
    )


def search_cases(cases: Cases, query: str, *, by_name: bool, limit: int = 500) -> Cases:
    """The cases of `cases` (already limited by the access gate) whose reference is `query` or,
    when `by_name`, whose person's names match it through the blind index.

    Two small id queries instead of one OR over a subquery: an OR with `IN (subquery)` stops
    PostgreSQL from using the caseload indexes and scans every case.
    """
    ids = list(cases.filter(reference__iexact=query).values_list("pk", flat=True)[:limit])
    if by_name:
        digests = blind.query_digests(query, phonetic_match=True)
        people = PersonNameIndex.objects.filter(digest__in=digests).values("person_id")
        ids += list(cases.filter(person_id__in=people).values_list("pk", flat=True)[:limit])
    return cases.filter(pk__in=ids)
