"""Exporting cases in the interchange format: `export_cases()`, behind the command, the export
screen and the API.

De-identified by default: no names and no date of birth (age at registration instead), the
organisation's own person_ref kept (it is their number, not a name), and each plan's text
replaced by a marker with a token equal for equal texts, so indicators computed from the export
are the same as from the cases (../shared/contracts/case-interchange.md, INDIVIDUAL_PLAN).

An export with names needs Perm.EXPORT_PERSONAL_DATA and, for every case, the client's consent
to release it for export to the named organisation (cases.release.authorise_release, purpose
"export": identity and case summary); cases without it are refused, unless an allowed role gives
an override reason. It comes out only as an encrypted .cwx container (container.py), which the
screen and the API keep for its maker to download until it expires (services.py).

Only programme managers and supervisors export rows, and only the cases the access gate shows
them: M&E officers see no case files, so they read aggregates (casework.indicators) instead.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.access import Requester, is_member, refusal
from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm, Role
from casework.audit import log as audit
from casework.audit.log import record
from casework.cases import access
from casework.cases.models import Case, Consent, ReleaseInformation, ReleasePurpose
from casework.cases.release import authorise_release, covering_consents
from casework.core.csvfiles import SafeWriter
from casework.core.errors import CaseworkError, ConsentRequired, NotAllowed
from casework.feedback.models import ParticipationSurvey
from casework.interchange import container
from casework.interchange.columns import (
    CASE_COLUMNS,
    LINK_COLUMNS,
    NAME_COLUMNS,
    SURVEY_COLUMNS,
    WITHHELD_PLAN_MARKER,
    format_links,
)
from casework.interchange.models import ExportRun
from casework.interchange.periods import Period
from casework.people.models import Person, Relationship
from casework.plans.models import CasePlan

EXPORT_ROLES = (Role.SUPERVISOR, Role.PROGRAMME_MANAGER)
FORMATS = ("csv", "xlsx")
# What an export with names discloses, in the terms consents are recorded in.
NAMED_INFORMATION = [ReleaseInformation.IDENTITY.value, ReleaseInformation.CASE_SUMMARY.value]
Q3_FIELDS = (
    "expressed_needs",
    "chose_services",
    "set_goals",
    "agreed_plan",
    "declined_services",
    "other",
)


class ConsentMissing(ConsentRequired):
    """Some cases' consent does not cover this export; nothing was exported."""

    def __init__(self, case_refs: list[str]) -> None:
        super().__init__(
            _(
                "The client's consent does not cover this export for %(count)d case(s). "
                "Leave them out, or record their consent first."
            )
            % {"count": len(case_refs)}
        )
        self.case_refs = case_refs

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "case_refs": self.case_refs}


def may_export(user: Requester) -> bool:
    """Row exports: programme managers and supervisors of an agency (see the module notes)."""
    return is_member(user) and user.role in EXPORT_ROLES


def require_exporter(user: Requester) -> None:
    """404 (audited) for anyone who may not export rows, as access.require_perm does."""
    if not may_export(user):
        raise refusal("access.denied", by=user, data={"perm": "export_cases"})


@dataclass
class Export:
    files: dict[str, bytes]
    run: ExportRun
    refused: list[str] = field(default_factory=list)
    sealed: bytes | None = None  # the .cwx container of an export with names

    @property
    def stem(self) -> str:
        stamp = timezone.localtime(self.run.created_at).strftime("%Y%m%d-%H%M")
        return f"casework-{self.run.agency.code}-{stamp}"

    def download(self) -> tuple[str, bytes, str]:
        """(file name, content, content type) of the single file a screen or the API sends."""
        if self.sealed is not None:
            return f"{self.stem}{container.EXTENSION}", self.sealed, "application/octet-stream"
        if len(self.files) == 1:
            name, content = next(iter(self.files.items()))
            return (
                f"{self.stem}.xlsx",
                content,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        return f"{self.stem}.zip", container.zip_files(self.files), "application/zip"


def export_cases(
    *,
    by: User | None,
    agency: Agency | None = None,
    period: Period | None = None,
    file_format: str = "csv",
    with_names: bool = False,
    recipient_name: str = "",
    password: str = "",
    override_reason: str = "",
    leave_out_refused: bool = False,
    keep: Callable[[Export], object] | None = None,
) -> Export:
    """Export the cases `by` may see (the operator at the command line: all of `agency`).
    `keep` is called with the export inside the transaction that records its run.

    Raises NotAllowed for a role that may not export (or not with names), CaseworkError for a
    bad request, and ConsentMissing (with the case references) when consent does not cover some
    cases and `leave_out_refused` is off; the refusals are audited either way.
    """
    if file_format not in FORMATS:
        raise CaseworkError(_("Choose CSV or XLSX."), code="invalid_format", field="file_format")
    if by is not None:
        if not may_export(by):
            raise NotAllowed(_("Your role does not allow exporting cases."))
        agency = by.agency
    if agency is None:
        raise CaseworkError(_("Say which agency to export."), field="agency")
    discloser: User | None = None  # who answers for an export with names
    if with_names:
        if by is None or not by.has_casework_perm(Perm.EXPORT_PERSONAL_DATA):
            raise NotAllowed(_("Your role does not allow exporting personal data."))
        if not recipient_name.strip():
            raise CaseworkError(
                _("Name the organisation the export is for."), field="recipient_name"
            )
        container.check_password(password)
        if override_reason.strip() and not by.has_casework_perm(Perm.OVERRIDE_CONSENT):
            # Refused before anything is read, and audited outside any transaction.
            record(
                "interchange.export.override_denied",
                by=by,
                agency_id=agency.pk,
                outcome="denied",
            )
            raise ConsentRequired(_("Your role cannot override the client's consent."))
        discloser = by

    cases = access.visible_cases(by) if by is not None else Case.objects.all()
    # A case that was never registered has no place in the format (registered_on is required).
    cases = cases.filter(agency=agency, registered_on__isnull=False)
    if period is not None:
        cases = cases.filter(registered_on__lte=period.end).filter(
            Q(closed_on__isnull=True) | Q(closed_on__gte=period.start)
        )

    with transaction.atomic():
        rows = list(_case_rows(cases))
        refused: set[int] = set()
        overridden = False
        if discloser is not None:
            refused, overridden = _authorise(
                [row["pk"] for row in rows],
                by=discloser,
                recipient_name=recipient_name.strip(),
                override_reason=override_reason,
            )
        refused_refs = sorted(row["reference"] for row in rows if row["pk"] in refused)
        if refused and not leave_out_refused:
            record(
                "interchange.export.refused",
                by=by,
                agency_id=agency.pk,
                data={"cases": len(rows), "refused": len(refused)},
                outcome="denied",
            )
            refusal: ConsentMissing | None = ConsentMissing(refused_refs)
        else:
            refusal = None
            rows = [row for row in rows if row["pk"] not in refused]
            survey_rows = _survey_rows([row["pk"] for row in rows])
            files = _files(
                _case_table(rows, with_names=with_names), _survey_table(survey_rows), file_format
            )
            run = ExportRun.objects.create(
                agency=agency,
                created_by=by,
                period_start=period.start if period else None,
                period_end=period.end if period else None,
                file_format=file_format,
                with_names=with_names,
                recipient_name=recipient_name.strip() if with_names else "",
                override_reason=override_reason.strip() if overridden else "",
                cases=len(rows),
                surveys=len(survey_rows),
                refused_case_ids=sorted(refused),
            )
            record(
                "interchange.export.created",
                by=by,
                target=run,
                agency_id=agency.pk,
                data={
                    "cases": run.cases,
                    "surveys": run.surveys,
                    "with_names": with_names,
                    "format": file_format,
                    "left_out": len(refused),
                    "overridden": overridden,
                    "period_start": period.start.isoformat() if period else None,
                    "period_end": period.end.isoformat() if period else None,
                },
            )
            export = Export(files=files, run=run, refused=refused_refs)
            if with_names:
                export.sealed = container.seal(files, password)
            if keep is not None:
                keep(export)  # in the same transaction: no run without what keeps its file
    if refusal is not None:
        # Raised after the transaction, so the refusals stay in the audit log.
        raise refusal
    return export


def _authorise(
    case_ids: list[int], *, by: User, recipient_name: str, override_reason: str
) -> tuple[set[int], bool]:
    """The ids of cases whose consent does not cover the export, and whether any was released
    by an override (export_cases checked beforehand that `by` may override). Consents are read
    for all cases at once; only a case without one goes through `authorise_release`, and only
    to record its override."""
    covered = covering_consents(
        case_ids,
        purpose=ReleasePurpose.EXPORT,
        organisation_name=recipient_name,
        information=NAMED_INFORMATION,
    )
    uncovered = [pk for pk in case_ids if pk not in covered]
    if not uncovered:
        return set(), False
    if not override_reason.strip():
        # Each case's access log shows the refused release, as authorise_release would record
        # it, written in one append rather than one per case.
        audit.append(
            [
                audit.entry(
                    "cases.release.refused",
                    by=by,
                    target=Case(pk=pk),
                    data={"purpose": ReleasePurpose.EXPORT},
                    outcome="denied",
                )
                for pk in uncovered
            ]
        )
        return set(uncovered), False
    refused: set[int] = set()
    overridden = False
    for case in Case.objects.filter(pk__in=uncovered).order_by("pk"):
        try:
            release = authorise_release(
                case,
                by=by,
                purpose=ReleasePurpose.EXPORT,
                organisation_name=recipient_name,
                information=NAMED_INFORMATION,
                override_reason=override_reason,
            )
        except ConsentRequired:
            refused.add(case.pk)
            continue
        overridden = overridden or release.overridden
    return refused, overridden


def _case_rows(cases: Any) -> Iterable[dict[str, Any]]:
    """One dict per case, from the case and person columns in clear (no decryption here)."""
    active_yes = Consent.objects.filter(
        case=OuterRef("pk"), withdrawn_on=None, receive_services=True
    )
    any_consent = Consent.objects.filter(case=OuterRef("pk"))
    return (
        cases.annotate(consent_yes=Exists(active_yes), consent_any=Exists(any_consent))
        .order_by("reference")
        .values(
            "pk",
            "reference",
            "person_id",
            "person__reference",
            "agency__code",
            "programme__code",
            "service_type",
            "person__sex",
            "age_at_registration",
            "person__disability",
            "person__mobility_status",
            "primary_concern__code",
            "risk_level",
            "location__code",
            "caseworker__username",
            "registered_on",
            "consent_yes",
            "consent_any",
            "assessed_on",
            "planned_on",
            "plan_fold_hash",
            "plan_is_group",
            "closed_on",
            "closure_reason",
        )
        .iterator(chunk_size=2000)
    )


def _day(value: datetime.date | None) -> str:
    return value.isoformat() if value else ""


def _case_table(rows: list[dict[str, Any]], *, with_names: bool) -> list[list[str]]:
    columns = [c for c in CASE_COLUMNS if with_names or c != "date_of_birth"]
    if with_names:
        position = columns.index("person_ref") + 1
        columns[position:position] = list(NAME_COLUMNS)
        columns += list(LINK_COLUMNS)
    people: dict[int, Person] = {}
    links: dict[int, list[tuple[str, str, bool]]] = {}
    plan_texts: dict[int, str] = {}
    if with_names:
        person_ids = sorted({row["person_id"] for row in rows})
        for start in range(0, len(person_ids), 5000):
            for person in Person.objects.filter(pk__in=person_ids[start : start + 5000]).only(
                "id", "given_name", "family_name", "date_of_birth", "household_id"
            ):
                people[person.pk] = person
        # Links between persons of this file only: a file names no one it does not hold.
        exported = set(person_ids)
        for start in range(0, len(person_ids), 5000):
            for link in (
                Relationship.objects.filter(person_id__in=person_ids[start : start + 5000])
                .select_related("relative")
                .only("person_id", "kind", "is_caregiver", "relative__reference")
                .order_by("person_id", "relative_id")
            ):
                if link.relative_id in exported:
                    links.setdefault(link.person_id, []).append(
                        (link.relative.reference, link.kind, link.is_caregiver)
                    )
        case_ids = [row["pk"] for row in rows if row["planned_on"]]
        for start in range(0, len(case_ids), 5000):
            plans = CasePlan.objects.filter(case_id__in=case_ids[start : start + 5000]).order_by(
                "case_id", "-version"
            )
            for plan in plans.only("id", "case_id", "version", "text"):
                plan_texts.setdefault(plan.case_id, str(plan.text or ""))
    # A key for this export only: tokens say which plans are equal, and nothing else, and
    # cannot be compared across exports.
    token_key = os.urandom(32)
    table = [columns]
    for row in rows:
        consent = "yes" if row["consent_yes"] else ("no" if row["consent_any"] else "")
        if not row["planned_on"]:
            plan_text, plan_is_group = "", ""
        else:
            plan_is_group = "yes" if row["plan_is_group"] else "no"
            if with_names:
                plan_text = plan_texts.get(row["pk"], "")
            elif row["plan_fold_hash"]:
                token = hmac.new(
                    token_key, row["plan_fold_hash"].encode(), hashlib.sha256
                ).hexdigest()[:24]
                plan_text = f"{WITHHELD_PLAN_MARKER} {token}"
            else:
                plan_text = ""
        values: dict[str, str] = {
            "case_ref": row["reference"],
            "person_ref": row["person__reference"],
            "agency": row["agency__code"],
            "programme": row["programme__code"],
            "service_type": row["service_type"],
            "sex": row["person__sex"],
            "age": "" if row["age_at_registration"] is None else str(row["age_at_registration"]),
            "disability": row["person__disability"],
            "mobility_status": row["person__mobility_status"],
            "protection_concern": row["primary_concern__code"] or "",
            "risk_level": row["risk_level"],
            "location_code": row["location__code"] or "",
            "caseworker": row["caseworker__username"] or "",
            "registered_on": _day(row["registered_on"]),
            "consent_services": consent,
            "assessed_on": _day(row["assessed_on"]),
            "plan_on": _day(row["planned_on"]),
            "plan_text": plan_text,
            "plan_is_group": plan_is_group,
            "closed_on": _day(row["closed_on"]),
            "closure_reason": row["closure_reason"],
        }
        if with_names:
            named = people.get(row["person_id"])
            born: Any = named.date_of_birth if named is not None else None
            values["given_name"] = str(named.given_name or "") if named is not None else ""
            values["family_name"] = str(named.family_name or "") if named is not None else ""
            values["date_of_birth"] = _day(born)
            home = named.household_id if named is not None else None
            values["household_ref"] = f"H{home}" if home else ""
            values["relationships"] = format_links(links.get(row["person_id"], []))
        table.append([values[c] for c in columns])
    return table


def _survey_rows(case_ids: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(case_ids), 5000):
        rows += list(
            ParticipationSurvey.objects.filter(case_id__in=case_ids[start : start + 5000])
            .order_by("case__reference", "surveyed_on", "pk")
            .values(
                "case__reference",
                "surveyed_on",
                "q1_aware",
                "q2_involved",
                *[f"q3_{code}" for code in Q3_FIELDS],
            )
        )
    return rows


def _survey_table(rows: list[dict[str, Any]]) -> list[list[str]]:
    table = [list(SURVEY_COLUMNS)]
    for row in rows:
        q2 = row["q2_involved"]
        table.append(
            [
                row["case__reference"],
                _day(row["surveyed_on"]),
                "yes" if row["q1_aware"] else "no",
                "" if q2 is None else ("yes" if q2 else "no"),
                ";".join(code for code in Q3_FIELDS if row[f"q3_{code}"]),
            ]
        )
    return table


def _files(cases: list[list[str]], surveys: list[list[str]], file_format: str) -> dict[str, bytes]:
    if file_format == "xlsx":
        return {"export.xlsx": _xlsx({"cases": cases, "surveys": surveys})}
    return {"cases.csv": _csv(cases), "surveys.csv": _csv(surveys)}


def _csv(table: list[list[str]]) -> bytes:
    out = io.StringIO()
    SafeWriter(out).writerows(table)
    return out.getvalue().encode("utf-8")


def _xlsx(sheets: dict[str, list[list[str]]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    for name, table in sheets.items():
        sheet = workbook.create_sheet(name)
        for values in table:
            row: list[Any] = []
            for value in values:
                if value.startswith("="):
                    # Text, never a formula: a cell written by a client must not run in Excel.
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"
                    row.append(cell)
                else:
                    row.append(value)
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
