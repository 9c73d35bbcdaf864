"""Reads the officer's screens and the API share: the filtered audit log, who read how many case
files, the requests queue, and what a request's page shows of the person's cases (references,
status and who holds them: never their content).

Every read starts from the gate (casework/privacy/access.py). The audit log is paged by entry id
(keyset, in arrival order: an entry has its id at once, its chain `seq` only once the worker seals
it), not by offset, so a page costs the same on the millionth entry as on the first, on the
indexes the audit table has: `audit_case_id` (a case), `audit_actor_id` (a user), and
`agency_id`, `at` and `action`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from casework.accounts.access import Requester, agency_of, is_member
from casework.accounts.models import User
from casework.accounts.roles import Perm, Role
from casework.audit.models import AuditEntry
from casework.cases.models import Case, CaseRevision
from casework.people.models import Person, PersonRevision
from casework.privacy import access
from casework.privacy.models import AccessPackage, DataRequest

# The entries casework/cases/access.py (`get_case_for_user`) writes when a case file is read,
# and when someone is refused one.
CASE_READ = "cases.case.viewed"
CASE_REFUSED = "cases.case.denied"
# Every read of case content, each audited under the case it read: a case file opened, and an
# access package compiled, shown or released (casework/privacy/access.py `record_package_read`
# writes one entry per case the package holds). The per-user counts and the unusual-reading
# alert count these, and only these, so an officer reading files through packages shows too.
CASE_FILE_READS = (
    CASE_READ,
    "privacy.package.compiled",
    "privacy.package.viewed",
    "privacy.package.released",
)

PAGE_SIZE = 100
REVIEWS_SHOWN = 50
EXPORT_LIMIT = 50_000  # per export: narrow the filter (dates) for more
READERS_DAYS = 30


@dataclass(frozen=True)
class LogFilter:
    """What the audit log is narrowed to. A case is named by its reference (not personal data),
    a user by id, an action by the start of its code ("cases.case")."""

    actor_id: int | None = None
    case_reference: str = ""
    case_id: int | None = None  # a case of the agency by its id (a link from an entry)
    action: str = ""
    outcome: str = ""
    since: datetime.date | None = None
    until: datetime.date | None = None  # included

    def audit_data(self, case_id: int | None) -> dict[str, Any]:
        """The filter as an audit entry may hold it: ids and codes (the case by id)."""
        data: dict[str, Any] = {
            "actor": self.actor_id,
            "case": case_id,
            "action": self.action or None,
            "outcome": self.outcome or None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True)
class FilteredLog:
    entries: QuerySet[AuditEntry]
    case_id: int | None  # the case the reference named (None: no case asked, or none found)
    case_missing: bool  # a reference was given and names no case of the agency


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def filtered_log(user: Requester, filters: LogFilter) -> FilteredLog:
    """The entries `user` may read, narrowed by `filters` (not yet ordered or paged)."""
    case_id = filters.case_id
    if filters.case_reference:
        case_id = access.case_id_for_reference(user, filters.case_reference)
    if filters.case_reference or case_id:
        entries = access.audit_entries_for(user, case_id=case_id or 0)
    else:
        entries = access.audit_entries_for(user)
    if filters.actor_id:
        entries = entries.filter(actor_id=filters.actor_id)
    if filters.action:
        entries = entries.filter(action__startswith=filters.action)
    if filters.outcome:
        entries = entries.filter(outcome=filters.outcome)
    if filters.since:
        entries = entries.filter(at__gte=_start_of(filters.since))
    if filters.until:
        entries = entries.filter(at__lt=_start_of(filters.until + datetime.timedelta(days=1)))
    return FilteredLog(entries, case_id, bool(filters.case_reference) and case_id is None)


@dataclass(frozen=True)
class LogPage:
    entries: list[AuditEntry]
    next_before: int | None  # the `before` of the next (older) page


def log_page(entries: QuerySet[AuditEntry], *, before: int | None = None) -> LogPage:
    """One page, newest first, older than entry id `before`: one query."""
    rows = entries.select_related("actor").order_by("-id")
    if before:
        rows = rows.filter(id__lt=before)
    found = list(rows[: PAGE_SIZE + 1])
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    return LogPage(found, found[-1].pk if more else None)


def export_rows(entries: QuerySet[AuditEntry]) -> Any:
    """The rows of the export, newest first, read in chunks (at most EXPORT_LIMIT)."""
    return entries.select_related("actor").order_by("-id")[:EXPORT_LIMIT].iterator(chunk_size=2000)


def agency_users(user: Requester) -> list[User]:
    """The users of the officer's agency, to filter the log by (one query)."""
    if not is_member(user):
        return []
    return list(User.objects.filter(agency_id=agency_of(user)).order_by("username"))


# --- who read how many case files --------------------------------------------------------------


@dataclass(frozen=True)
class ReaderLine:
    user: User
    cases_read: int  # different case files opened
    reads: int  # times a case file was opened (a package counts once per case it holds)
    refused: int  # case files asked for and refused


def readers(
    user: Requester, *, days: int = READERS_DAYS, now: datetime.datetime | None = None
) -> list[ReaderLine]:
    """Per user of the agency: the case files read in the last `days` days, most first (two
    queries: the counts, grouped in the database, and the users)."""
    since = (now or timezone.now()) - datetime.timedelta(days=days)
    counts = list(
        access.audit_entries_for(user)
        .filter(at__gte=since, action__in=[*CASE_FILE_READS, CASE_REFUSED], actor__isnull=False)
        .values("actor_id")
        .annotate(
            cases=Count("case_id", distinct=True, filter=Q(action__in=CASE_FILE_READS)),
            reads=Count("pk", filter=Q(action__in=CASE_FILE_READS)),
            refused=Count("pk", filter=Q(action=CASE_REFUSED)),
        )
        .order_by("-cases", "actor_id")
    )
    users = User.objects.in_bulk([row["actor_id"] for row in counts])
    return [
        ReaderLine(users[row["actor_id"]], row["cases"], row["reads"], row["refused"])
        for row in counts
        if row["actor_id"] in users
    ]


# --- requests ------------------------------------------------------------------------------------

REQUEST_FILTERS = ("open", "overdue", "closed", "all")


def request_queue(user: Requester, show: str = "open") -> QuerySet[DataRequest]:
    """The agency's requests: open ones soonest due first, or closed ones newest first."""
    today = timezone.localdate()
    rows = access.requests_for(user).select_related("person", "handler")
    if show == "overdue":
        return rows.overdue(today).order_by("due_on", "pk")
    if show == "closed":
        return rows.filter(status=DataRequest.Status.CLOSED).order_by("-closed_on", "-pk")
    if show == "all":
        return rows.order_by("-received_on", "-pk")
    return rows.open().order_by("due_on", "pk")


def subject_ids(person: Person) -> set[int]:
    """The person and the records merged into theirs."""
    return {person.pk} | set(Person.objects.filter(merged_into=person).values_list("pk", flat=True))


def cases_of(request: DataRequest) -> list[Case]:
    """The person's cases as a request's page lists them: reference, status, team, holder."""
    if request.person is None:
        return []
    return list(
        Case.objects.filter(person_id__in=subject_ids(request.person), agency_id=request.agency_id)
        .select_related("team", "caseworker")
        .only(
            "reference",
            "status",
            "closed_on",
            "person_id",
            "agency_id",
            "team__name",
            "caseworker__username",
            "caseworker__role",
        )
        .order_by("pk")
    )


@dataclass(frozen=True)
class CorrectionLine:
    kind: str  # "person" or "case"
    revision: PersonRevision | CaseRevision
    case_reference: str


def corrections_for(request: DataRequest) -> list[CorrectionLine]:
    """Corrections of the person's record and of their cases since the request was received:
    when, which fields (by name) and by whom; never the values."""
    if request.person is None:
        return []
    people = subject_ids(request.person)
    since = _start_of(request.received_on)
    lines = [
        CorrectionLine("person", revision, "")
        for revision in PersonRevision.objects.filter(person_id__in=people, corrected_at__gte=since)
        .select_related("corrected_by")
        .defer("previous", "reason")
        .order_by("-corrected_at")[:50]
    ]
    lines += [
        CorrectionLine("case", revision, revision.case.reference)
        for revision in CaseRevision.objects.filter(
            case__person_id__in=people, corrected_at__gte=since
        )
        .select_related("corrected_by", "case")
        .defer("previous", "reason")
        .order_by("-corrected_at")[:50]
    ]
    return lines


def packages_of(request: DataRequest) -> list[AccessPackage]:
    return list(
        request.packages.select_related("compiled_by", "reviewed_by", "released_by")
        .defer("content")
        .order_by("-compiled_at")
    )


def handlers_in(agency_id: int) -> QuerySet[User]:
    """Who may handle requests in the agency (active data-protection officers)."""
    return User.objects.filter(
        agency_id=agency_id, role=Role.DATA_PROTECTION_OFFICER, is_active=True
    ).order_by("username")


# --- packages waiting for a review ---------------------------------------------------------------


def reviewable_packages(user: Requester) -> QuerySet[AccessPackage]:
    """Packages `user` may be the reviewer of (checked again, exactly, by `access.may_review`):
    for an officer, the agency's; for a supervisor, those about a person with a case in their
    team. Others: none."""
    if not is_member(user):
        return AccessPackage.objects.none()
    waiting = (
        AccessPackage.objects.filter(
            status=AccessPackage.Status.TO_REVIEW,
            request__status=DataRequest.Status.OPEN,
            request__agency_id=agency_of(user),
        )
        .exclude(compiled_by_id=user.pk)
        .defer("content")
    )
    if user.has_casework_perm(Perm.HANDLE_DATA_REQUESTS):
        return waiting
    if user.role == Role.SUPERVISOR and user.team_id:
        teams_cases = Case.objects.filter(team_id=user.team_id).values("person_id")
        return waiting.filter(request__person_id__in=teams_cases)
    return AccessPackage.objects.none()


def team_line(user: User) -> dict[str, Any]:
    """The supervisor's team page: how many access packages wait for their review (one query)."""
    return {"packages_to_review": reviewable_packages(user).count()}
