"""The service directory from a spreadsheet (CSV or XLSX): one row per service.

Service mapping is usually kept in a shared spreadsheet before it is kept anywhere else, so the
directory takes that spreadsheet as it is: one row per service, with its organisation's columns
repeated on each of that organisation's rows. An import is all or nothing: every row is checked
first, and if any cell is wrong the report lists each problem (line, column, reason) and nothing
is written. A dry run checks and reports without writing, also when all is well.

Organisations are matched by code and services by (organisation, name): a row for an existing
one updates it. A column left out of the file leaves that field as it is; an empty cell in a
column that is there empties the field.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.core.csvfiles import SafeWriter, restore
from casework.core.errors import CaseworkError, NotAllowed
from casework.core.text import fold
from casework.core.uploads import check_upload, limits
from casework.reference.models import Location
from casework.referrals.models import Organisation, ReferralMethod, Sector, Service
from casework.referrals.services import (
    OrganisationDetails,
    ServiceDetails,
    apply_organisation_details,
    apply_service_details,
    validate_organisation,
    validate_service,
)

# The directory's own limits, below the general upload limits (casework/core/uploads.py).
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000

ORGANISATION_COLUMNS = [
    "organisation_code",
    "organisation_name",
    "partner_agency",
    "contact_person",
    "phone",
    "email",
    "address",
    "referral_method",
    "agreement",
    "quality_notes",
    "organisation_active",
]
SERVICE_COLUMNS = [
    "service_name",
    "sector",
    "description",
    "locations",
    "eligibility",
    "min_age",
    "max_age",
    "languages",
    "capacity_per_month",
    "staffing",
    "answer_within_days",
    "service_active",
]
COLUMNS = ORGANISATION_COLUMNS + SERVICE_COLUMNS
REQUIRED_COLUMNS = ["organisation_code", "organisation_name", "service_name", "sector"]
NATIONWIDE = {"*", "all", "nationwide", "national"}

# Model field → spreadsheet column, to put a model validation message in the right column.
_ORGANISATION_FIELD_COLUMN = {
    "code": "organisation_code",
    "name": "organisation_name",
    "agency": "partner_agency",
    "has_agreement": "agreement",
    "is_active": "organisation_active",
}
_SERVICE_FIELD_COLUMN = {"name": "service_name", "is_active": "service_active"}


@dataclass(frozen=True)
class ImportProblem:
    line: int  # as the spreadsheet numbers it: the header is line 1
    column: str
    message: str


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    organisations_created: int = 0
    organisations_updated: int = 0
    services_created: int = 0
    services_updated: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


class ImportFileError(CaseworkError):
    code = "unreadable_file"


# --- reading ------------------------------------------------------------------------------------


def _header(value: Any) -> str:
    return "_".join(str(value or "").strip().lower().replace("-", " ").split())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise ImportFileError(_("This is not a readable XLSX file.")) from error
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_cell(value) for value in row]
    finally:
        workbook.close()


def _delimiter(first_line: str) -> str:
    return max([",", ";", "\t"], key=first_line.count)


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(_("Save the CSV file as UTF-8 and try again.")) from error
    delimiter = _delimiter(text.split("\n", 1)[0])
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        yield [_cell(restore(value)) for value in row]


def read_spreadsheet(data: bytes, *, filename: str = "") -> list[tuple[int, dict[str, str]]]:
    """[(line, {column: cell})] of the data rows; blank rows skipped. Checks the header.

    The file is measured first: UploadTooLarge, before any parsing, for one over the limits."""
    is_xlsx = filename.lower().endswith(".xlsx") or data[:2] == b"PK"
    first_line = data[: 64 * 1024].split(b"\n", 1)[0].decode("utf-8", errors="replace")
    check_upload(
        data,
        what=_("The file"),
        field="file",
        encoding="utf-8-sig",
        delimiter=_delimiter(first_line),
        within=limits(max_bytes=MAX_BYTES, max_rows=MAX_ROWS + 1),  # and the header
    )
    rows = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    header: list[str] | None = None
    result: list[tuple[int, dict[str, str]]] = []
    for line, cells in enumerate(rows, start=1):
        if header is None:
            header = [_header(cell) for cell in cells]
            while header and not header[-1]:
                header.pop()
            _check_header(header)
            continue
        if not any(cells):
            continue
        if len(result) >= MAX_ROWS:
            raise ImportFileError(
                _("The file has more than %(max)d rows; split it.") % {"max": MAX_ROWS}
            )
        values = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)}
        result.append((line, values))
    if header is None:
        raise ImportFileError(_("The file is empty."))
    return result


def _check_header(header: list[str]) -> None:
    problems = []
    for index, name in enumerate(header, start=1):
        if name not in COLUMNS:
            problems.append(
                ImportProblem(1, name or f"#{index}", _("Unknown column; see the template."))
            )
    for name in REQUIRED_COLUMNS:
        if name not in header:
            problems.append(ImportProblem(1, name, _("This column is required.")))
    seen: set[str] = set()
    for name in header:
        if name in seen and name:
            problems.append(ImportProblem(1, name, _("This column appears twice.")))
        seen.add(name)
    if problems:
        raise HeaderProblems(problems)


class HeaderProblems(CaseworkError):
    code = "bad_header"

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__(problems[0].message)
        self.problems = problems


# --- parsing cells ------------------------------------------------------------------------------


class _CellError(Exception):
    pass


def _choice(value: str, choices: Any, aliases: dict[str, str] | None = None) -> str:
    wanted = fold(value).replace("-", " ").replace("_", " ")
    options: dict[str, str] = {}
    for code, label in choices.choices:
        options[fold(code).replace("_", " ")] = code
        options[fold(str(label))] = code
        with translation.override("en"):
            options[fold(str(choices(code).label))] = code
    for alias, code in (aliases or {}).items():
        options[alias] = code
    if wanted in options:
        return options[wanted]
    raise _CellError(_("Not one of: %(codes)s.") % {"codes": ", ".join(choices.values)})


def _boolean(value: str, default: bool) -> bool:
    folded = fold(value)
    if not folded:
        return default
    if folded in {"yes", "y", "true", "1", "x", "oui", "si", "sí"}:
        return True
    if folded in {"no", "n", "false", "0", "non"}:
        return False
    raise _CellError(_("Enter yes or no."))


def _whole_number(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        number = float(value.strip())
    except ValueError:
        raise _CellError(_("Enter a whole number.")) from None
    if not number.is_integer() or number < 0:
        raise _CellError(_("Enter a whole number."))
    return int(number)


def _location_codes(value: str) -> list[str]:
    return [part for part in value.replace(";", ",").replace("\n", ",").split(",") if part.strip()]


# --- checking and applying ----------------------------------------------------------------------


@dataclass
class _PlannedOrganisation:
    line: int
    values: dict[str, str]
    instance: Organisation | None
    details: OrganisationDetails


@dataclass
class _PlannedService:
    line: int
    organisation_code: str
    instance: Service | None
    details: ServiceDetails


def _organisation_details(
    values: dict[str, str],
    present: set[str],
    existing: Organisation | None,
    agencies: dict[str, Agency],
    problems: list[ImportProblem],
    line: int,
) -> OrganisationDetails:
    current = existing or Organisation()
    details = OrganisationDetails(
        code=values["organisation_code"],
        name=values["organisation_name"],
        agency=current.agency if existing else None,
        contact_person=current.contact_person,
        phone=current.phone,
        email=current.email,
        address=current.address,
        referral_method=current.referral_method or ReferralMethod.FORM,
        has_agreement=current.has_agreement,
        quality_notes=current.quality_notes if existing else "",
        is_active=current.is_active if existing else True,
    )

    def problem(column: str, message: str) -> None:
        problems.append(ImportProblem(line, column, message))

    for column, attribute in (
        ("contact_person", "contact_person"),
        ("phone", "phone"),
        ("email", "email"),
        ("address", "address"),
        ("quality_notes", "quality_notes"),
    ):
        if column in present:
            setattr(details, attribute, values[column])
    if "partner_agency" in present:
        code = values["partner_agency"].strip().upper()
        details.agency = agencies.get(code) if code else None
        if code and details.agency is None:
            problem("partner_agency", _("No agency has this code."))
    try:
        if "referral_method" in present and values["referral_method"]:
            details.referral_method = _choice(
                values["referral_method"],
                ReferralMethod,
                {"e mail": ReferralMethod.EMAIL, "in person": ReferralMethod.IN_PERSON},
            )
    except _CellError as error:
        problem("referral_method", str(error))
    for column, attribute, default in (
        ("agreement", "has_agreement", False),
        ("organisation_active", "is_active", True),
    ):
        if column in present:
            try:
                setattr(details, attribute, _boolean(values[column], default))
            except _CellError as error:
                problem(column, str(error))
    for name, messages in validate_organisation(details, instance=existing).items():
        for message in messages:
            problem(_ORGANISATION_FIELD_COLUMN.get(name, name), message)
    return details


def _service_details(
    values: dict[str, str],
    present: set[str],
    existing: Service | None,
    locations: dict[str, Location],
    problems: list[ImportProblem],
    line: int,
) -> ServiceDetails:
    current = existing or Service()
    details = ServiceDetails(
        name=values["service_name"],
        sector="",
        description=current.description if existing else "",
        nationwide=current.nationwide,
        locations=list(current.locations.all()) if existing else [],
        eligibility=current.eligibility if existing else "",
        min_age=current.min_age,
        max_age=current.max_age,
        languages=current.languages,
        capacity_per_month=current.capacity_per_month,
        staffing=current.staffing if existing else "",
        answer_within_days=current.answer_within_days if existing else 5,
        is_active=current.is_active if existing else True,
    )
    before = len(problems)

    def problem(column: str, message: str) -> None:
        problems.append(ImportProblem(line, column, message))

    try:
        details.sector = _choice(values["sector"], Sector, {"mhpss": Sector.MENTAL_HEALTH})
    except _CellError as error:
        problem("sector", str(error) if values["sector"] else _("Choose the sector."))
    for column in ("description", "eligibility", "languages", "staffing"):
        if column in present:
            setattr(details, column, values[column])
    for column in ("min_age", "max_age", "capacity_per_month", "answer_within_days"):
        if column in present:
            try:
                number = _whole_number(values[column])
            except _CellError as error:
                problem(column, str(error))
                continue
            if column == "answer_within_days":
                details.answer_within_days = number if number is not None else 5
            else:
                setattr(details, column, number)
    if "service_active" in present:
        try:
            details.is_active = _boolean(values["service_active"], True)
        except _CellError as error:
            problem("service_active", str(error))
    if "locations" in present:
        codes = _location_codes(values["locations"])
        folded = {code.strip().lower() for code in codes}
        details.nationwide = bool(folded & NATIONWIDE)
        details.locations = []
        for code in codes:
            if code.strip().lower() in NATIONWIDE:
                continue
            location = locations.get(code.strip())
            if location is None:
                problem("locations", _("Unknown area code “%(code)s”.") % {"code": code.strip()})
            else:
                details.locations.append(location)
    # The model's rules too, except where a cell was already found unreadable.
    reported = {p.column for p in problems[before:]}
    for name, messages in validate_service(details).items():
        column = _SERVICE_FIELD_COLUMN.get(name, name)
        if column not in reported:
            for message in messages:
                problem(column, message)
    return details


def check_rows(
    rows: list[tuple[int, dict[str, str]]],
) -> tuple[list[_PlannedOrganisation], list[_PlannedService], list[ImportProblem]]:
    """Validate every row against the file and the database, without writing anything."""
    problems: list[ImportProblem] = []
    present = set(rows[0][1]) if rows else set()
    codes = {values["organisation_code"].strip().upper() for _line, values in rows}
    existing_organisations = {o.code: o for o in Organisation.objects.filter(code__in=codes)}
    existing_services = {
        (s.organisation.code, s.name): s
        for s in Service.objects.filter(organisation__code__in=codes)
        .select_related("organisation")
        .prefetch_related("locations")
    }
    agencies = {a.code: a for a in Agency.objects.filter(kind=Agency.Kind.SERVICE_PROVIDER)}
    wanted_locations = {
        code.strip()
        for _line, values in rows
        for code in _location_codes(values.get("locations", ""))
    }
    locations = {
        location.code: location
        for location in Location.objects.filter(code__in=wanted_locations, is_active=True)
    }

    organisations: dict[str, _PlannedOrganisation] = {}
    services: dict[tuple[str, str], _PlannedService] = {}
    for line, values in rows:
        code = values["organisation_code"].strip().upper()
        if not code:
            problems.append(ImportProblem(line, "organisation_code", _("Enter the code.")))
            continue
        planned = organisations.get(code)
        if planned is None:
            instance = existing_organisations.get(code)
            details = _organisation_details(values, present, instance, agencies, problems, line)
            planned = _PlannedOrganisation(line, values, instance, details)
            organisations[code] = planned
        else:
            # Each organisation is described once: later rows may repeat it or leave it blank.
            for column in ORGANISATION_COLUMNS[1:]:
                if (
                    column in present
                    and values[column]
                    and values[column] != planned.values[column]
                ):
                    problems.append(
                        ImportProblem(
                            line,
                            column,
                            _("Differs from line %(line)d, this organisation's first row.")
                            % {"line": planned.line},
                        )
                    )
        name = values["service_name"].strip()
        key = (code, name)
        if name and key in services:
            problems.append(
                ImportProblem(
                    line,
                    "service_name",
                    _("This service is already on line %(line)d.") % {"line": services[key].line},
                )
            )
            continue
        existing = existing_services.get(key)
        service_details = _service_details(values, present, existing, locations, problems, line)
        services[key] = _PlannedService(line, code, existing, service_details)
    return list(organisations.values()), list(services.values()), problems


def import_directory(
    data: bytes, *, filename: str = "", by: User | None, dry_run: bool = False
) -> ImportReport:
    """Check the whole file, then (unless a dry run or anything is wrong) write it all at once.

    Measuring, reading and checking run outside any transaction; only the write is one."""
    if by is not None and not by.has_casework_perm(Perm.MANAGE_CONFIGURATION):
        raise NotAllowed(_("Your role does not allow this."))
    report = ImportReport(dry_run=dry_run)
    try:
        rows = read_spreadsheet(data, filename=filename)
    except HeaderProblems as error:
        report.problems = error.problems
        return report
    report.rows = len(rows)
    organisations, services, problems = check_rows(rows)
    report.problems = sorted(
        problems, key=lambda p: (p.line, COLUMNS.index(p.column) if p.column in COLUMNS else 99)
    )
    report.organisations_created = sum(1 for o in organisations if o.instance is None)
    report.organisations_updated = len(organisations) - report.organisations_created
    report.services_created = sum(1 for s in services if s.instance is None)
    report.services_updated = len(services) - report.services_created
    if dry_run or report.problems:
        return report
    with transaction.atomic():
        saved: dict[str, Organisation] = {}
        for planned in organisations:
            organisation = apply_organisation_details(
                planned.details, planned.instance or Organisation()
            )
            organisation.save()
            saved[organisation.code] = organisation
        for planned_service in services:
            service = apply_service_details(
                planned_service.details,
                planned_service.instance
                or Service(organisation=saved[planned_service.organisation_code]),
            )
            service.save()
            service.locations.set(planned_service.details.locations)
        record(
            "referrals.directory.imported",
            by=by,
            data={
                "rows": report.rows,
                "organisations_created": report.organisations_created,
                "organisations_updated": report.organisations_updated,
                "services_created": report.services_created,
                "services_updated": report.services_updated,
            },
        )
    report.applied = True
    return report


def template_csv() -> str:
    """An example file with every column, for the upload screen's "download the template"."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow(
        [
            "HOPE",
            "Hope Clinic",
            "",
            "Dr A. Example",
            "+000 000 000",
            "referrals@hope.example",
            "Main street 1",
            "email",
            "yes",
            "",
            "yes",
            "General health care",
            "health",
            "Consultations and treatment",
            "ADM1-CODE; ADM2-CODE",
            "All ages",
            "",
            "",
            "English, French",
            "40",
            "2 doctors, 3 nurses",
            "3",
            "yes",
        ]
    )
    return buffer.getvalue()
