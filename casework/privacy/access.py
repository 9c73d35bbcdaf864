"""The gate to the data-protection officer's desk: the audit log, clients' requests and the
packages an access request compiles.

- The audit log is read with VIEW_AUDIT_LOG (the officer, the agency's administrators), and only
  the agency's own entries (`audit_entries_for`); reading it is audited by its selectors.
- Requests are handled with HANDLE_DATA_REQUESTS, in the handler's agency (`get_request_for_user`).
- A package holds case content, which the officer otherwise never sees: it is read only through an
  open request of the reader's agency, or by its reviewer, and every read is audited under each
  case it holds (`record_package_read`), as a case file's read is by casework/cases/access.py.
- Its reviewer is someone other than its compiler: another officer, or a supervisor who may see
  every case it holds through the case gate (`may_review`).

Anything else, like a record that does not exist, is the same 404, audited as a refusal.
"""

from __future__ import annotations

from django.db.models import QuerySet

from casework.accounts.access import Requester, agency_of, is_member, refusal, require_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm, Role
from casework.audit.log import append, entry
from casework.audit.models import AuditEntry
from casework.cases.access import visible_cases
from casework.cases.models import Case
from casework.core.http import as_id
from casework.privacy.models import AccessPackage, DataRequest, DataRequestQuerySet, ReadAlert


def audit_entries_for(user: Requester, *, case_id: int | None = None) -> QuerySet[AuditEntry]:
    """The audit entries `user` may read (404 without VIEW_AUDIT_LOG): the agency's own, written
    by its users and its jobs; or, for one case of the agency, every entry about that case,
    whoever wrote it (a partner who read a referral, the agency it came from before a transfer),
    as the case's own access log shows them to its supervisor."""
    member = require_perm(user, Perm.VIEW_AUDIT_LOG)
    agency_id = agency_of(member)
    if case_id is None:
        return AuditEntry.objects.filter(agency_id=agency_id)
    agencys_case = Case.objects.filter(pk=case_id, agency_id=agency_id).values("pk")
    return AuditEntry.objects.filter(case_id=case_id, case_id__in=agencys_case)


def case_id_for_reference(user: Requester, reference: str) -> int | None:
    """The id of the agency's case with this reference, to filter the log by: a reference is
    the agency's own number, not personal data, and nothing of the case is read."""
    member = require_perm(user, Perm.VIEW_AUDIT_LOG)
    return (
        Case.objects.filter(agency_id=agency_of(member), reference=reference.strip())
        .values_list("pk", flat=True)
        .first()
    )


def require_handler(user: Requester) -> User:
    """A member who handles clients' requests (the same 404 as for a missing page otherwise)."""
    return require_perm(user, Perm.HANDLE_DATA_REQUESTS)


def requests_for(user: Requester) -> DataRequestQuerySet:
    """The data requests of `user`'s agency, for a handler."""
    return DataRequest.objects.filter(agency_id=agency_of(require_handler(user)))


def get_request_for_user(user: Requester, request_id: int | str | None) -> DataRequest:
    """The request, if `user` handles requests of its agency; otherwise the same 404 as for none."""
    pk = as_id(request_id)
    found = requests_for(user).select_related("person", "handler").filter(pk=pk).first()
    if found is None:
        raise refusal("privacy.request.denied", by=user, data={"request": pk or None})
    return found


def require_reviewer(user: Requester) -> User:
    """An officer or a supervisor: those who may review a package (404 for anyone else)."""
    if is_member(user) and (
        user.has_casework_perm(Perm.HANDLE_DATA_REQUESTS) or user.role == Role.SUPERVISOR
    ):
        return user
    raise refusal("access.denied", by=user, data={"perm": "review_access_packages"})


def get_alert_for_user(user: Requester, alert_id: int | str | None) -> ReadAlert:
    """An unusual-reading alert of the agency, for whoever reads its audit log."""
    member = require_perm(user, Perm.VIEW_AUDIT_LOG)
    pk = as_id(alert_id)
    alert = ReadAlert.objects.filter(pk=pk, agency_id=agency_of(member)).first()
    if alert is None:
        raise refusal("privacy.alert.denied", by=user, data={"alert": pk or None})
    return alert


def may_review(user: Requester, package: AccessPackage) -> bool:
    """Someone other than the compiler: an officer of the agency, or a supervisor who may read
    every case the package holds (so the review shows them nothing they could not read)."""
    if not is_member(user) or user.pk == package.compiled_by_id:
        return False
    if package.status != AccessPackage.Status.TO_REVIEW or not package.request.is_open:
        return False
    if user.agency_id != package.request.agency_id:
        return False
    if user.has_casework_perm(Perm.HANDLE_DATA_REQUESTS):
        return True
    if user.role != Role.SUPERVISOR or not package.case_ids:
        return False
    wanted = set(package.case_ids)
    seen = set(visible_cases(user).filter(pk__in=wanted).values_list("pk", flat=True))
    return seen == wanted


def may_read_package(user: Requester, package: AccessPackage) -> bool:
    """A handler while the request is open, or the package's reviewer."""
    if not is_member(user) or user.agency_id != package.request.agency_id:
        return False
    if user.has_casework_perm(Perm.HANDLE_DATA_REQUESTS) and package.request.is_open:
        return True
    return may_review(user, package)


def get_package_for_user(user: Requester, package_id: int | str | None) -> AccessPackage:
    """The package, if `user` may read it. Showing it is audited with `record_package_read`."""
    pk = as_id(package_id)
    package = (
        AccessPackage.objects.select_related("request", "request__person", "compiled_by")
        .filter(pk=pk)
        .first()
    )
    if package is None or not may_read_package(user, package):
        raise refusal("privacy.package.denied", by=user, data={"package": pk or None})
    return package


def record_package_read(package: AccessPackage, *, by: User, action: str, **data: str) -> None:
    """One audit entry per case the package holds, so each case's access log shows the read."""
    details = {"package": package.pk, "request": package.request_id, **data}
    append(
        [
            entry(action, by=by, target=package, case_id=case_id, data=details)
            for case_id in package.case_ids
        ]
        or [entry(action, by=by, target=package, data=details)]
    )
