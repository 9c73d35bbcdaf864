"""The one gate to case data, and to the persons the cases are about.

Every view, API operation, export and command loads cases through these functions:
`get_case_for_user` for one case file, `visible_cases` / `writable_cases` for lists (both apply
`case_scope`). A case that does not exist and a case the user may not see give the same 404, and
the refusal is audited. A person is seen through their cases: visible if one of their cases is,
correctable if one of their cases may be written (`get_person_for_user`).

Scope by role (the roles themselves are defined in casework/accounts/roles.py):
- caseworker: cases assigned to them, and cases shared with them by an active grant;
- supervisor: every case of their team;
- programme manager: every case of their agency, read only, de-identified;
- M&E officer, partner, administrator without a case role: no case files at all
  (M&E officers read aggregates; partners read the referrals addressed to them).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from casework.accounts.access import NOTHING, Requester, is_member, refusal
from casework.accounts.roles import Role
from casework.audit.log import record
from casework.cases.models import Case, CaseGrant, CaseQuerySet
from casework.core.http import as_id
from casework.people.models import Person

GRANTS_READ_FIRST = 1000


def case_scope(user: Requester, *, write: bool = False) -> Q:
    """The filter that limits a Case queryset to what `user` may read (or write)."""
    if not is_member(user):
        return NOTHING
    in_agency = Q(agency_id=user.agency_id)
    if user.role == Role.CASEWORKER:
        grants = CaseGrant.objects.filter(user_id=user.pk, revoked_at=None)
        if write:
            grants = grants.filter(can_write=True)
        # Grants are few: read them first, so the filter stays index-friendly (an OR with an
        # IN-subquery would make PostgreSQL scan every case). Past GRANTS_READ_FIRST, the
        # database joins them instead: slower, but no granted case is left out.
        granted = list(grants.values_list("case_id", flat=True)[: GRANTS_READ_FIRST + 1])
        mine = Q(caseworker_id=user.pk)
        if len(granted) > GRANTS_READ_FIRST:
            return in_agency & (mine | Q(pk__in=grants.values("case_id")))
        return in_agency & ((mine | Q(pk__in=granted)) if granted else mine)
    if user.role == Role.SUPERVISOR and user.team_id:
        return in_agency & Q(team_id=user.team_id)
    if user.role == Role.PROGRAMME_MANAGER and not write:
        return in_agency
    return NOTHING


def visible_cases(user: Requester) -> CaseQuerySet:
    """The cases `user` may read."""
    return Case.objects.filter(case_scope(user))


def writable_cases(user: Requester) -> CaseQuerySet:
    """The cases `user` may change."""
    return Case.objects.filter(case_scope(user, write=True))


def may_write(user: Requester, case: Case) -> bool:
    """May `user` change `case`, a case already loaded? The same rule as `case_scope(write=True)`,
    read off the loaded row where it can be (a caseworker's own case, a supervisor's team), so
    that a page shows its forms without asking the database again."""
    if not is_member(user) or case.agency_id != user.agency_id:
        return False
    if user.role == Role.CASEWORKER:
        if case.caseworker_id == user.pk:
            return True
        return CaseGrant.objects.filter(
            user_id=user.pk, case_id=case.pk, revoked_at=None, can_write=True
        ).exists()
    if user.role == Role.SUPERVISOR and user.team_id:
        return bool(case.team_id == user.team_id)
    return False


def get_case_for_user(
    user: Requester, case_id: int | str | None, *, write: bool = False, shown: bool | None = None
) -> Case:
    """The case, if `user` may read it (or write it); otherwise the same 404 as for no case.

    A read is audited here, so no page that shows a case file can forget to; a write is audited
    by the service that makes the change. A form loaded to write that also shows the file (the
    correction form shows the person's details) passes `shown=True` to be audited as a read too.
    """
    pk = as_id(case_id)
    member = user if is_member(user) else None
    queryset = writable_cases(member) if write else visible_cases(member)
    case = (
        queryset.select_related(
            "person", "programme", "primary_concern", "caseworker", "team", "location", "agency"
        )
        .filter(pk=pk)
        .first()
    )
    if case is None:
        raise refusal(
            "cases.case.denied",
            by=member,
            message=_("No such case."),
            case_id=pk or None,
            data={"write": write},
        )
    if (not write) if shown is None else shown:
        record("cases.case.viewed", by=member, target=case)
    return case


def get_person_for_user(
    user: Requester, person_id: int | str | None, *, write: bool = False
) -> Person:
    """The person, if one of their cases is visible to `user` (writable, to correct them);
    otherwise the same 404 as for no person. A read is audited, as a case file's is."""
    pk = as_id(person_id)
    member = user if is_member(user) else None
    cases = writable_cases(member) if write else visible_cases(member)
    person = Person.objects.filter(pk=pk, pk__in=cases.values("person_id")).first()
    if person is None:
        raise refusal(
            "people.person.denied",
            by=member,
            message=_("No such person."),
            data={"person": pk or None, "write": write},
        )
    if not write:
        record("people.person.viewed", by=member, target=person)
    return person
