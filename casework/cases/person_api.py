"""/api/v1/persons: a person seen through their cases, and corrections of their details.

The gate is the case gate (casework/cases/access.py): a person is visible if one of their cases
is, and correctable if one of their cases may be written. Names never travel in URLs.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.db import transaction
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.models import User
from casework.accounts.roles import Perm, Sensitive
from casework.accounts.tokens import READ_AUTH
from casework.cases import access, merging, screening, services
from casework.cases.api import (
    CaseIn,
    CaseOut,
    CaseSummaryOut,
    ConsentIn,
    case_details,
    case_out,
    case_summary,
    consent_details,
    person_fields,
)
from casework.cases.models import CaseQuerySet, Screening
from casework.core.api import (
    READ_LATER,
    DocumentedAs,
    RawBody,
    answers,
    check_version,
    checked_body,
    if_match,
    send_version,
)
from casework.core.errors import FieldErrors
from casework.people import services as people
from casework.people.matching import Query
from casework.people.models import MobilityStatus, Person, Relationship, Sex, YesNoUnknown

router = Router(tags=["persons"])


class PersonDetailOut(Schema):
    id: int
    version: int
    reference: str
    given_name: str | None = None
    family_name: str | None = None
    other_names: str | None = None
    date_of_birth: datetime.date | None = None
    phone: str | None = None
    address: str | None = None
    sex: str
    estimated_age: int | None
    nationality: str
    disability: str
    mobility_status: str
    languages: str
    cases: list[int]


class OpenCaseIn(Schema):
    """Another case for this person: its facts and the consent for it (the person's details are
    not sent again)."""

    case: CaseIn
    consent: ConsentIn | None = None
    # The screening (POST /cases/screenings, after POST /persons/matches) this follows, if any.
    screening: int | None = None


class MatchQueryIn(Schema):
    """What registration starts with. Sent in the body: names never travel in URLs."""

    given_name: str = ""
    family_name: str = ""
    other_names: str = ""
    sex: Sex = Sex.UNKNOWN
    date_of_birth: datetime.date | None = None
    estimated_age: int | None = None


class CandidateOut(Schema):
    person: PersonDetailOut
    score: int
    reasons: list[str]
    reason_text: str


class MatchesOut(Schema):
    candidates: list[CandidateOut]
    # Possible matches the caller may not see: only where they are (ask a supervisor).
    in_teams: list[str]
    in_agencies: list[str]


class PersonCorrectionIn(Schema):
    """The fields to correct (any left out keep their value) and why."""

    reason: str
    given_name: str | None = None
    family_name: str | None = None
    other_names: str | None = None
    sex: Sex | None = None
    date_of_birth: datetime.date | None = None
    estimated_age: int | None = None
    nationality: str | None = None
    disability: YesNoUnknown | None = None
    mobility_status: MobilityStatus | None = None
    languages: str | None = None
    phone: str | None = None
    address: str | None = None


def _detail(person: Person, user: User) -> dict[str, Any]:
    return person_fields(person, user) | {
        "id": person.pk,
        "version": person.version,
        "estimated_age": person.estimated_age,
        "cases": list(_cases_of(person, user).values_list("pk", flat=True)),
    }


def _cases_of(person: Person, user: User) -> CaseQuerySet:
    return access.visible_cases(user).filter(person_id=person.pk).order_by("registered_on", "id")


@router.post(
    "/matches",
    auth=READ_AUTH,
    response=answers(MatchesOut, 400, 404),
    summary="Persons already registered that these details may describe (before registering)",
)
def find_matches(request: AuthenticatedHttpRequest, payload: MatchQueryIn) -> Any:
    """Best first, each with a score and the reasons. Persons the caller may not see are never
    described: only the team (or, where both agencies agreed to match, the agency) where a
    possible match exists. The search is audited with person ids only."""
    user = request.user
    require_perm(user, Perm.REGISTER_CASES)
    matches = screening.find_matches(user, Query(**payload.dict()))
    return {
        "candidates": [
            {
                "person": _detail(item.candidate.person, user),
                "score": item.candidate.score,
                "reasons": item.candidate.reasons,
                "reason_text": item.candidate.reason_text,
            }
            for item in matches.shown
        ],
        "in_teams": matches.in_teams,
        "in_agencies": matches.in_agencies,
    }


class PairSideOut(Schema):
    """A side the caller may see, in full; otherwise only that it exists."""

    visible: bool
    person: PersonDetailOut | None = None


class DuplicateOut(Schema):
    id: int
    score: int
    reasons: list[str]
    first: PairSideOut
    second: PairSideOut


class MergeIn(Schema):
    """Fold `other` into this person. `choices`: for each detail the two disagree on,
    "survivor" (keep this person's) or "merged" (take the other's)."""

    other: int
    choices: dict[str, str] = {}


class MergeOut(Schema):
    id: int
    survivor: int
    merged: int
    merged_at: datetime.datetime
    moved_cases: list[int]


@router.get(
    "/duplicates",
    response=answers(list[DuplicateOut], 404),
    summary="Possible duplicates to review (supervisors), most alike first",
)
def list_duplicates(request: AuthenticatedHttpRequest) -> Any:
    user = require_perm(request.user, Perm.MERGE_PERSONS)

    def side(person: Person, visible: bool) -> dict[str, Any]:
        return {"visible": visible, "person": _detail(person, user) if visible else None}

    return [
        {
            "id": pair.candidate.pk,
            "score": pair.candidate.score,
            "reasons": pair.candidate.reasons,
            "first": side(pair.candidate.first, pair.first_visible),
            "second": side(pair.candidate.second, pair.second_visible),
        }
        for pair in merging.duplicates_for(user)
    ]


@router.post(
    "/duplicates/{candidate_id}/dismiss",
    response=answers(dict[str, str], 404),
    summary="Record that a pair are different persons (not raised again)",
)
def dismiss_duplicate(request: AuthenticatedHttpRequest, candidate_id: int) -> Any:
    user = require_perm(request.user, Perm.MERGE_PERSONS)
    pair = merging.pair_for(user, candidate_id)
    merging.dismiss(pair.candidate, by=user)
    return {"status": pair.candidate.status}


@router.post(
    "/merges/{merge_id}/unmerge",
    response=answers(PersonDetailOut, 400, 404, precondition=True),
    summary="Undo a merge within the window (If-Match: the surviving person's version)",
    openapi_extra=if_match(),
)
def unmerge(request: AuthenticatedHttpRequest, merge_id: int, response: HttpResponse) -> Any:
    user = require_perm(request.user, Perm.MERGE_PERSONS)
    done, survivor = merging.merge_for(user, merge_id)
    check_version(request, survivor.version)
    merging.unmerge(done, by=user)
    survivor.refresh_from_db()
    send_version(response, survivor.version)
    return _detail(survivor, user)


@router.post(
    "/{person_id}/merge",
    response=answers(MergeOut, 400, 403, 404, status=201, precondition=True),
    summary="Merge another record of the same person into this one (If-Match required)",
    openapi_extra=if_match(),
)
def merge(
    request: AuthenticatedHttpRequest,
    person_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(MergeIn)] = READ_LATER,
) -> Any:
    """Both records must be the caller's to change; records of two agencies are never merged."""
    user = require_perm(request.user, Perm.MERGE_PERSONS)
    survivor = access.get_person_for_user(user, person_id, write=True)
    data = checked_body(request, MergeIn, payload, version=survivor.version)
    other = access.get_person_for_user(user, data.other, write=True)
    done = merging.merge_persons(survivor, other, by=user, choices=data.choices)
    send_version(response, done.survivor.version)
    return Status(
        201,
        {
            "id": done.pk,
            "survivor": done.survivor_id,
            "merged": done.merged_id,
            "merged_at": done.merged_at,
            "moved_cases": done.moved["cases"],
        },
    )


@router.get(
    "/{person_id}",
    response=answers(PersonDetailOut, 404),
    summary="A person, with the cases of theirs the caller may see (ETag: its version)",
)
def get_person(request: AuthenticatedHttpRequest, person_id: int, response: HttpResponse) -> Any:
    person = access.get_person_for_user(request.user, person_id)
    send_version(response, person.version)
    return _detail(person, request.user)


@router.patch(
    "/{person_id}",
    response=answers(PersonDetailOut, 400, 404, precondition=True),
    summary="Correct a person's details (If-Match required; the old values are kept)",
    openapi_extra=if_match(),
)
def correct_person(
    request: AuthenticatedHttpRequest,
    person_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(PersonCorrectionIn)] = READ_LATER,
) -> Any:
    """Only the fields sent change; `reason` is required. A caseworker of one of the person's
    cases or the team's supervisor may correct; anyone else gets 404."""
    user = request.user
    person = access.get_person_for_user(user, person_id, write=True)
    data = checked_body(request, PersonCorrectionIn, payload, version=person.version)
    sent = data.model_dump(exclude_unset=True)
    details = people.details_of(person)
    for name, value in sent.items():
        if name in people.PERSON_FIELDS:
            current = getattr(details, name)
            setattr(details, name, "" if value is None and isinstance(current, str) else value)
    people.correct_person(
        person, by=user, details=details, reason=data.reason, expected_version=person.version
    )
    send_version(response, person.version)
    return _detail(person, user)


@router.get(
    "/{person_id}/cases",
    response=answers(list[CaseSummaryOut], 404),
    summary="The person's cases the caller may see, oldest first",
)
def person_cases(request: AuthenticatedHttpRequest, person_id: int) -> Any:
    user = request.user
    person = access.get_person_for_user(user, person_id)
    cases = _cases_of(person, user).select_related("person", "programme", "caseworker")
    return [case_summary(case, user) for case in cases]


@router.post(
    "/{person_id}/cases",
    response=answers(CaseOut, 400, 403, 404, 412, status=201),
    summary="Open another case for this person (e.g. MHPSS beside case management)",
    openapi_extra=if_match(required=False),
)
def open_case(
    request: AuthenticatedHttpRequest,
    person_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(OpenCaseIn)] = READ_LATER,
) -> Any:
    """The same person, so every report counts them once. The caller must be able to change one
    of the person's cases (caseworker or the team's supervisor)."""
    user = request.user
    require_perm(user, Perm.REGISTER_CASES)
    person = access.get_person_for_user(user, person_id, write=True)
    data = checked_body(request, OpenCaseIn, payload, version=person.version, required=False)
    consent, caregiver = consent_details(data.consent)
    with transaction.atomic():
        case = services.open_case(
            person,
            by=user,
            details=case_details(user, data.case),
            consent=consent,
            caregiver=caregiver,
        )
        screening.settle_screening(
            data.screening, by=user, case=case, choice=Screening.Choice.EXISTING_PERSON
        )
    case = access.get_case_for_user(user, case.pk)
    send_version(response, case.version)
    return Status(201, case_out(case, user))


# --- family and household -----------------------------------------------------------------------


class RelativeOut(Schema):
    id: int
    reference: str
    given_name: str | None = None
    family_name: str | None = None
    sex: str
    estimated_age: int | None
    # Whether the caller may open the relative's own record (one of their cases is visible).
    visible: bool


class RelationshipOut(Schema):
    relative: RelativeOut
    kind: str
    is_caregiver: bool


class RelationshipIn(Schema):
    """Link to someone registered (`relative_id`, whom the caller may see), or record someone
    new (their names): they become a person linked to this one."""

    kind: Relationship.Kind
    is_caregiver: bool = False
    relative_id: int | None = None
    given_name: str = ""
    family_name: str = ""
    sex: Sex = Sex.UNKNOWN
    estimated_age: int | None = None
    phone: str = ""


def _relationships(person: Person, user: User) -> list[dict[str, Any]]:
    links = list(
        Relationship.objects.filter(person=person).select_related("relative").order_by("id")
    )
    seen = set(
        access.visible_cases(user)
        .filter(person_id__in=[link.relative_id for link in links])
        .values_list("person_id", flat=True)
    )
    names = user.sees(Sensitive.NAMES)
    return [
        {
            "relative": {
                "id": link.relative.pk,
                "reference": link.relative.reference,
                "given_name": link.relative.given_name if names else None,
                "family_name": link.relative.family_name if names else None,
                "sex": link.relative.sex,
                "estimated_age": link.relative.estimated_age,
                "visible": link.relative_id in seen,
            },
            "kind": link.kind,
            "is_caregiver": link.is_caregiver,
        }
        for link in links
    ]


@router.get(
    "/{person_id}/relationships",
    response=answers(list[RelationshipOut], 404),
    summary="The person's family and household links",
)
def relationships_of(request: AuthenticatedHttpRequest, person_id: int) -> Any:
    person = access.get_person_for_user(request.user, person_id)
    return _relationships(person, request.user)


@router.post(
    "/{person_id}/relationships",
    response=answers(list[RelationshipOut], 400, 404, 412, status=201),
    summary="Link the person to a relative, registered or new",
    openapi_extra=if_match(required=False),
)
def add_relationship(
    request: AuthenticatedHttpRequest,
    person_id: int,
    payload: Annotated[RawBody, DocumentedAs(RelationshipIn)] = READ_LATER,
) -> Any:
    user = request.user
    person = access.get_person_for_user(user, person_id, write=True)
    data = checked_body(request, RelationshipIn, payload, version=person.version, required=False)
    with transaction.atomic():
        if data.relative_id is not None:
            relative = access.get_person_for_user(user, data.relative_id)
        else:
            if not (data.given_name.strip() or data.family_name.strip()):
                raise FieldErrors(
                    {"given_name": [_("Enter at least a given name or a family name.")]}
                )
            relative = services.new_relative(
                person,
                by=user,
                given_name=data.given_name,
                family_name=data.family_name,
                sex=data.sex,
                estimated_age=data.estimated_age,
                phone=data.phone,
            )
        people.link_persons(
            person, relative, kind=data.kind, is_caregiver=data.is_caregiver, by=user
        )
    return Status(201, _relationships(person, user))


@router.delete(
    "/{person_id}/relationships/{relative_id}",
    response=answers(list[RelationshipOut], 400, 404),
    summary="Remove a link (both ways)",
)
def remove_relationship(request: AuthenticatedHttpRequest, person_id: int, relative_id: int) -> Any:
    user = request.user
    person = access.get_person_for_user(user, person_id, write=True)
    relative = Person.objects.filter(pk=relative_id, relationships__relative=person).first()
    if relative is None:
        raise Http404(_("No such relative."))
    people.unlink_persons(person, relative, by=user)
    return _relationships(person, user)
