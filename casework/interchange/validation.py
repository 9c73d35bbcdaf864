"""Checking rows of the interchange format against the contract, before anything is written.

Everything the checks need from the database (agencies, lists, users, the cases and people an
import would update) is loaded up front in a few queries, never per row. An error names the
line, the column and the reason; it never repeats the value, which may be personal.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.translation import gettext as _

from casework.accounts.models import Agency, User
from casework.accounts.roles import Role
from casework.cases.models import Case
from casework.interchange.columns import (
    CASE_DATE_COLUMNS,
    CHOICES,
    DATE_ORDER,
    LINK_KINDS,
    MAX_LENGTHS,
    NAME_COLUMNS,
    Q3_CODES,
    REQUIRED_CASE_COLUMNS,
    REQUIRED_SURVEY_COLUMNS,
    WITHHELD_PLAN_MARKER,
    parse_links,
)
from casework.interchange.readers import Table
from casework.people.models import Person
from casework.reference.models import Location, Programme, ProtectionConcern

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
AGENCY_CODE = re.compile(r"^[A-Z0-9]{2,12}$")
USERNAME = re.compile(UnicodeUsernameValidator.regex)
CHUNK = 5000
MAX_AGE = 130
DEFAULT_DATE_FORMAT = "%Y-%m-%d"

# Columns whose empty cell means "unknown" (the model's value for it), not "not given".
UNKNOWN_WHEN_EMPTY = {"sex": "unknown", "disability": "unknown", "mobility_status": "unknown"}
PERSON_COLUMNS = ("sex", "date_of_birth", "disability", "mobility_status", *NAME_COLUMNS)


@dataclass(slots=True)
class RowError:
    file: str
    line: int
    column: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.message,
        }


@dataclass(slots=True)
class CaseRow:
    line: int
    agency_code: str
    case_ref: str
    person_ref: str
    # Typed values of the columns the file has (a column the file lacks is left as it is).
    values: dict[str, Any]
    extras: dict[str, str]
    caseworker: str  # username, "" for none

    @property
    def key(self) -> tuple[str, str]:
        return (self.agency_code, self.case_ref)


@dataclass(slots=True)
class SurveyRow:
    line: int
    case_key: tuple[str, str]
    surveyed_on: datetime.date
    q1_aware: bool
    q2_involved: bool | None
    q3: frozenset[str]
    extras: dict[str, str]


@dataclass
class Lookups:
    """What the database already holds, keyed the way rows refer to it."""

    agencies: dict[str, Agency] = field(default_factory=dict)
    programmes: dict[str, Programme] = field(default_factory=dict)
    concerns: dict[str, ProtectionConcern] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    cases: dict[tuple[str, str], Case] = field(default_factory=dict)
    persons: dict[tuple[str, str], Person] = field(default_factory=dict)


@dataclass
class Checked:
    cases: list[CaseRow] = field(default_factory=list)
    surveys: list[SurveyRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    case_rows: int = 0
    survey_rows: int = 0
    case_columns: list[str] = field(default_factory=list)
    survey_columns: list[str] = field(default_factory=list)
    extra_case_columns: list[str] = field(default_factory=list)
    extra_survey_columns: list[str] = field(default_factory=list)
    new_agencies: list[str] = field(default_factory=list)
    new_locations: list[str] = field(default_factory=list)
    # username → agency code, for caseworkers the instance does not know yet.
    new_caseworkers: dict[str, str] = field(default_factory=dict)
    lookups: Lookups = field(default_factory=Lookups)


def _chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Checker:
    """Validates a cases table (and a surveys table) for one import."""

    def __init__(
        self,
        *,
        forced_agency: str | None,
        date_format: str = DEFAULT_DATE_FORMAT,
        allow_new_agencies: bool = True,
    ) -> None:
        self.forced_agency = forced_agency.strip().upper() if forced_agency else None
        self.date_format = date_format or DEFAULT_DATE_FORMAT
        self.allow_new_agencies = allow_new_agencies
        self.result = Checked()
        self._new_agency_codes: set[str] = set()
        self._new_location_codes: dict[str, str] = {}

    # --- messages -------------------------------------------------------------------------------

    def _error(self, file: str, line: int, column: str, code: str, message: str) -> None:
        self.result.errors.append(RowError(file, line, column, code, message))

    # --- loading --------------------------------------------------------------------------------

    def _row_agency(self, row: dict[str, str]) -> str:
        return (row.get("agency") or "").strip().upper() or (self.forced_agency or "")

    def _preload(self, cases: Table, surveys: Table | None) -> None:
        lookups = self.result.lookups
        agency_codes = {self._row_agency(row) for _line, row in cases.rows}
        if self.forced_agency:
            agency_codes.add(self.forced_agency)
        agency_codes.discard("")
        lookups.agencies = {a.code: a for a in Agency.objects.filter(code__in=agency_codes)}
        lookups.programmes = {p.code.lower(): p for p in Programme.objects.all()}
        lookups.concerns = {c.code.lower(): c for c in ProtectionConcern.objects.all()}
        # Admin areas are a short list: load them all and match codes whatever their case.
        lookups.locations = {
            loc.code.upper(): loc for loc in Location.objects.only("id", "code", "level")
        }
        usernames = sorted({row.get("caseworker", "") for _line, row in cases.rows} - {""})
        lookups.users = {
            u.username: u
            for chunk in _chunks(usernames)
            for u in User.objects.filter(username__in=chunk).only(
                "id", "username", "agency_id", "team_id", "role", "is_active"
            )
        }
        # The cases and people this import would update, per agency that exists already.
        case_refs: dict[str, set[str]] = {}
        person_refs: dict[str, set[str]] = {}
        for _line, row in cases.rows:
            code = self._row_agency(row)
            case_refs.setdefault(code, set()).add(row.get("case_ref", ""))
            person_refs.setdefault(code, set()).add(row.get("person_ref", ""))
        if surveys is not None:
            for _line, row in surveys.rows:
                for code in agency_codes or {""}:
                    case_refs.setdefault(code, set()).add(row.get("case_ref", ""))
        for code, agency in lookups.agencies.items():
            for chunk in _chunks(sorted(case_refs.get(code, set()) - {""})):
                for case in Case.objects.filter(agency=agency, reference__in=chunk):
                    lookups.cases[(code, case.reference)] = case
            for chunk in _chunks(sorted(person_refs.get(code, set()) - {""})):
                people = Person.objects.filter(agency=agency, reference__in=chunk).only(
                    "id",
                    "agency_id",
                    "reference",
                    "version",
                    "sex",
                    "date_of_birth",
                    "estimated_age",
                    "age_estimated_on",
                    "disability",
                    "mobility_status",
                    "given_name",
                    "family_name",
                )
                for person in people:
                    lookups.persons[(code, person.reference)] = person

    # --- values ---------------------------------------------------------------------------------

    def _date(self, value: str) -> datetime.date | None:
        if ISO_DATE.match(value):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                return None
        if self.date_format != DEFAULT_DATE_FORMAT:
            try:
                return datetime.datetime.strptime(value, self.date_format).date()  # noqa: DTZ007
            except ValueError:
                return None
        return None

    def _date_message(self) -> str:
        if self.date_format == DEFAULT_DATE_FORMAT:
            return _("Not a date in the form YYYY-MM-DD.")
        return _("Not a date in the form YYYY-MM-DD or in the mapping's date format.")

    # --- cases ----------------------------------------------------------------------------------

    def check(self, cases: Table, surveys: Table | None = None) -> Checked:
        result = self.result
        result.case_columns = list(cases.columns)
        result.extra_case_columns = list(cases.extra_columns)
        for column in REQUIRED_CASE_COLUMNS:
            if column not in cases.columns:
                self._error(
                    "cases", 1, column, "missing_column", _("This required column is missing.")
                )
        if surveys is not None:
            result.survey_columns = list(surveys.columns)
            result.extra_survey_columns = list(surveys.extra_columns)
            for column in REQUIRED_SURVEY_COLUMNS:
                if column not in surveys.columns:
                    self._error(
                        "surveys",
                        1,
                        column,
                        "missing_column",
                        _("This required column is missing."),
                    )
        if result.errors:
            return result
        self._preload(cases, surveys)
        result.case_rows = len(cases.rows)
        extra = set(cases.extra_columns)
        present = [c for c in cases.columns if c not in extra]
        seen: dict[tuple[str, str], int] = {}
        people: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        bad_keys: set[tuple[str, str]] = set()
        for line, row in cases.rows:
            before = len(result.errors)
            parsed = self._check_case(line, row, present, extra)
            if parsed is None:
                continue
            first = seen.get(parsed.key)
            if first is not None:
                self._error(
                    "cases",
                    line,
                    "case_ref",
                    "duplicate_case_ref",
                    _("The same case_ref is on line %(line)d.") % {"line": first},
                )
            else:
                seen[parsed.key] = line
            if len(result.errors) > before:
                bad_keys.add(parsed.key)
                continue
            self._compare_person(parsed, people)
            result.cases.append(parsed)
        bad_keys |= self._check_links()
        # Cases that have no valid row (a survey of one cannot be imported either).
        self._invalid_case_keys = bad_keys - {parsed.key for parsed in result.cases}
        result.new_agencies = sorted(self._new_agency_codes)
        result.new_locations = sorted(self._new_location_codes.values())
        if surveys is not None:
            self._check_surveys(surveys)
        return result

    def _check_case(
        self, line: int, row: dict[str, str], present: list[str], extra: set[str]
    ) -> CaseRow | None:
        lookups = self.result.lookups

        def error(column: str, code: str, message: str) -> None:
            self._error("cases", line, column, code, message)

        values: dict[str, Any] = {}
        for column in present:
            value = row.get(column, "")
            limit = MAX_LENGTHS.get(column)
            if limit is not None and len(value) > limit:
                error(
                    column,
                    "too_long",
                    _("Longer than %(max)d characters.") % {"max": limit},
                )
                continue
            if column in CHOICES:
                if not value:
                    values[column] = UNKNOWN_WHEN_EMPTY.get(column, "")
                    continue
                lowered = value.lower()
                if lowered not in CHOICES[column]:
                    error(
                        column,
                        "invalid_choice",
                        _("Not one of the allowed values: %(allowed)s.")
                        % {"allowed": ", ".join(CHOICES[column])},
                    )
                    continue
                values[column] = lowered
            elif column in CASE_DATE_COLUMNS:
                if not value:
                    values[column] = None
                    continue
                day = self._date(value)
                if day is None:
                    error(column, "invalid_date", self._date_message())
                    continue
                values[column] = day
            elif column == "relationships":
                links = parse_links(value)
                if links is None:
                    error(
                        column,
                        "invalid_relationships",
                        _(
                            "Not a list of person_ref:kind (or person_ref:kind:caregiver) "
                            "separated by “;”, with kinds among: %(kinds)s."
                        )
                        % {"kinds": ", ".join(LINK_KINDS)},
                    )
                    continue
                values[column] = links
            elif column == "age":
                if not value:
                    values[column] = None
                elif not value.isdigit() or int(value) > MAX_AGE:
                    error(
                        column,
                        "invalid_age",
                        _("Not a whole number of years between 0 and %(max)d.") % {"max": MAX_AGE},
                    )
                else:
                    values[column] = int(value)
            else:
                values[column] = value

        case_ref = values.get("case_ref", "")
        person_ref = values.get("person_ref", "")
        for column in REQUIRED_CASE_COLUMNS:
            if column in values and values[column] in ("", None):
                error(column, "required", _("A value is required."))

        # Agency: the row's own, or the one the import is for (they must agree).
        given = (row.get("agency") or "").strip().upper()
        agency_code = given or (self.forced_agency or "")
        if given and self.forced_agency and given != self.forced_agency:
            error(
                "agency",
                "agency_mismatch",
                _("Differs from the agency this import is for."),
            )
            agency_code = self.forced_agency  # check the rest of the row against that one
        elif not agency_code:
            error("agency", "required", _("A value is required."))
        elif not AGENCY_CODE.match(agency_code):
            error(
                "agency",
                "invalid_code",
                _("Not an agency code (2 to 12 capital letters or digits)."),
            )
        elif agency_code not in lookups.agencies:
            if self.allow_new_agencies:
                self._new_agency_codes.add(agency_code)
            else:
                error("agency", "unknown_agency", _("No agency with this code."))
        values.pop("agency", None)

        programme = values.get("programme")
        if programme:
            found = lookups.programmes.get(programme.lower())
            if found is None:
                error(
                    "programme", "unknown_code", _("Not a programme code in the configured list.")
                )
            else:
                values["programme"] = found
        concern = values.get("protection_concern")
        if concern:
            found_concern = lookups.concerns.get(concern.lower())
            if found_concern is None:
                error(
                    "protection_concern",
                    "unknown_code",
                    _("Not a protection concern code in the configured list."),
                )
            else:
                values["protection_concern"] = found_concern
        elif "protection_concern" in values:
            values["protection_concern"] = None
        location = values.get("location_code")
        if location:
            known = lookups.locations.get(location.upper())
            if known is None:
                self._new_location_codes.setdefault(location.upper(), location)
        elif "location_code" in values:
            values["location_code"] = ""

        caseworker = values.pop("caseworker", "") if "caseworker" in values else ""
        if caseworker:
            self._check_caseworker(line, caseworker, agency_code)

        self._check_dates(line, values)
        if values.get("plan_text") and values.get("plan_on") is None:
            error("plan_text", "plan_without_date", _("A plan is given without its plan_on date."))
        if values.get("plan_is_group") == "yes" and values.get("plan_on") is None:
            error(
                "plan_is_group",
                "plan_without_date",
                _("A plan is given without its plan_on date."),
            )
        if values.get("closure_reason") and values.get("closed_on") is None:
            error(
                "closure_reason",
                "reason_without_closure",
                _("A closure reason is given without closed_on."),
            )
        if "plan_text" in values:
            values["plan_text_withheld"] = values["plan_text"].startswith(WITHHELD_PLAN_MARKER)

        extras = {name: row.get(name, "") for name in extra if row.get(name, "")}
        if not case_ref or not agency_code:
            return None
        return CaseRow(
            line=line,
            agency_code=agency_code,
            case_ref=case_ref,
            person_ref=person_ref,
            values=values,
            extras=extras,
            caseworker=caseworker,
        )

    def _check_links(self) -> set[tuple[str, str]]:
        """`relationships` names persons of the file or of the agency; checked once every row is
        read, since a link may name a person whose row comes later."""
        result = self.result
        in_file = {(row.agency_code, row.person_ref) for row in result.cases}
        wanted: dict[str, set[str]] = {}
        for row in result.cases:
            for ref, _kind, _caregiver in row.values.get("relationships") or []:
                if (row.agency_code, ref) not in in_file:
                    wanted.setdefault(row.agency_code, set()).add(ref)
        lookups = result.lookups
        for code, refs in wanted.items():
            agency = lookups.agencies.get(code)
            if agency is None:
                continue
            for chunk in _chunks(sorted(refs)):
                for person in Person.objects.filter(agency=agency, reference__in=chunk).only(
                    "id", "agency_id", "reference"
                ):
                    lookups.persons.setdefault((code, person.reference), person)
        valid = []
        refused: set[tuple[str, str]] = set()
        for row in result.cases:
            unknown = [
                ref
                for ref, _kind, _caregiver in row.values.get("relationships") or []
                if (row.agency_code, ref) not in in_file
                and (row.agency_code, ref) not in lookups.persons
            ]
            itself = any(
                ref == row.person_ref for ref, _k, _c in row.values.get("relationships") or []
            )
            if unknown:
                self._error(
                    "cases",
                    row.line,
                    "relationships",
                    "unknown_person",
                    _("Names a person_ref that is neither in the file nor in the agency."),
                )
            elif itself:
                self._error(
                    "cases",
                    row.line,
                    "relationships",
                    "link_to_itself",
                    _("A person cannot be linked to themselves."),
                )
            else:
                valid.append(row)
                continue
            refused.add(row.key)
        result.cases = valid
        return refused

    def _check_caseworker(self, line: int, username: str, agency_code: str) -> None:
        lookups = self.result.lookups
        if not USERNAME.match(username):
            self._error(
                "cases",
                line,
                "caseworker",
                "invalid_username",
                _("Not a username (letters, digits and @ . + - _ only)."),
            )
            return
        user = lookups.users.get(username)
        agency = lookups.agencies.get(agency_code)
        if user is not None:
            if agency is None or user.agency_id != agency.pk:
                self._error(
                    "cases",
                    line,
                    "caseworker",
                    "other_agency",
                    _("This user belongs to another agency."),
                )
            elif user.role not in (Role.CASEWORKER, Role.SUPERVISOR):
                self._error(
                    "cases",
                    line,
                    "caseworker",
                    "not_a_caseworker",
                    _("This user is not a caseworker or a supervisor."),
                )
            return
        known_agency = self.result.new_caseworkers.setdefault(username, agency_code)
        if known_agency != agency_code:
            self._error(
                "cases",
                line,
                "caseworker",
                "other_agency",
                _("This user belongs to another agency."),
            )

    def _check_dates(self, line: int, values: dict[str, Any]) -> None:
        dates: list[tuple[str, datetime.date]] = [
            (c, values[c]) for c in DATE_ORDER if values.get(c) is not None
        ]
        for (earlier_column, earlier), (column, day) in zip(dates, dates[1:], strict=False):
            if day < earlier:
                self._error(
                    "cases",
                    line,
                    column,
                    "date_order",
                    _("Earlier than %(column)s.") % {"column": earlier_column},
                )
        closed_on = values.get("closed_on")
        if closed_on is not None:
            for column, day in dates:
                if closed_on < day:
                    self._error(
                        "cases",
                        line,
                        "closed_on",
                        "date_order",
                        _("Earlier than %(column)s.") % {"column": column},
                    )
                    break

    def _compare_person(
        self, parsed: CaseRow, people: dict[tuple[str, str], tuple[int, dict[str, Any]]]
    ) -> None:
        """The format repeats a person's attributes on each of their cases; say when they differ
        (the last row wins, as a later registration is the more recent information)."""
        attributes = {c: parsed.values[c] for c in PERSON_COLUMNS if c in parsed.values}
        key = (parsed.agency_code, parsed.person_ref)
        earlier = people.get(key)
        if earlier is None:
            people[key] = (parsed.line, attributes)
            return
        first_line, first = earlier
        for column, value in attributes.items():
            if column in first and first[column] != value:
                self.result.warnings.append(
                    RowError(
                        "cases",
                        parsed.line,
                        column,
                        "person_differs",
                        _(
                            "Differs from line %(line)d for the same person_ref; this later row is used."
                        )
                        % {"line": first_line},
                    )
                )
        people[key] = (parsed.line, {**first, **attributes})

    # --- surveys --------------------------------------------------------------------------------

    def _survey_case_key(
        self, case_ref: str, in_file: dict[str, list[str]]
    ) -> tuple[str, str] | None:
        agencies = in_file.get(case_ref, [])
        if len(agencies) == 1:
            return (agencies[0], case_ref)
        if len(agencies) > 1:
            return None
        candidates = (
            [self.forced_agency] if self.forced_agency else sorted(self.result.lookups.agencies)
        )
        found = [code for code in candidates if (code, case_ref) in self.result.lookups.cases]
        return (found[0], case_ref) if len(found) == 1 else None

    def _check_surveys(self, surveys: Table) -> None:
        result = self.result
        result.survey_rows = len(surveys.rows)
        in_file: dict[str, list[str]] = {}
        for parsed in result.cases:
            in_file.setdefault(parsed.case_ref, []).append(parsed.agency_code)
        for code, ref in self._invalid_case_keys:
            in_file.setdefault(ref, []).append(code)
        extra = set(surveys.extra_columns)
        seen: dict[tuple[tuple[str, str], datetime.date], int] = {}
        for line, row in surveys.rows:
            before = len(result.errors)

            def error(column: str, code: str, message: str, line: int = line) -> None:
                self._error("surveys", line, column, code, message)

            case_ref = row.get("case_ref", "")
            case_key: tuple[str, str] | None = None
            if not case_ref:
                error("case_ref", "required", _("A value is required."))
            else:
                case_key = self._survey_case_key(case_ref, in_file)
                if case_key is None:
                    error(
                        "case_ref",
                        "unknown_case",
                        _("No single case with this case_ref in the file or the agency."),
                    )
                elif case_key in self._invalid_case_keys:
                    error("case_ref", "case_has_errors", _("The row of this case has errors."))
            surveyed_on = None
            raw_date = row.get("surveyed_on", "")
            if not raw_date:
                error("surveyed_on", "required", _("A value is required."))
            else:
                surveyed_on = self._date(raw_date)
                if surveyed_on is None:
                    error("surveyed_on", "invalid_date", self._date_message())
            q1 = row.get("q1_aware", "").lower()
            if not q1:
                error("q1_aware", "required", _("A value is required."))
            elif q1 not in CHOICES["q1_aware"]:
                error("q1_aware", "invalid_choice", _("Not one of the allowed values: yes, no."))
            q2 = row.get("q2_involved", "").lower()
            if q2 and q2 not in CHOICES["q2_involved"]:
                error("q2_involved", "invalid_choice", _("Not one of the allowed values: yes, no."))
            elif q2 and q1 == "no":
                error(
                    "q2_involved",
                    "asked_after_no",
                    _("Must be empty when q1_aware is no."),
                )
            q3 = {code.strip().lower() for code in row.get("q3_how", "").split(";")} - {""}
            if q3 - set(Q3_CODES):
                error(
                    "q3_how",
                    "invalid_choice",
                    _("Not a “;”-separated list of: %(allowed)s.")
                    % {"allowed": ", ".join(Q3_CODES)},
                )
            if case_key is not None and surveyed_on is not None:
                first = seen.get((case_key, surveyed_on))
                if first is not None:
                    error(
                        "surveyed_on",
                        "duplicate_survey",
                        _("Another survey of this case on the same day is on line %(line)d.")
                        % {"line": first},
                    )
                else:
                    seen[(case_key, surveyed_on)] = line
            if len(result.errors) > before or case_key is None or surveyed_on is None:
                continue
            result.surveys.append(
                SurveyRow(
                    line=line,
                    case_key=case_key,
                    surveyed_on=surveyed_on,
                    q1_aware=q1 == "yes",
                    q2_involved=None if not q2 else q2 == "yes",
                    q3=frozenset(q3),
                    extras={name: row.get(name, "") for name in extra if row.get(name, "")},
                )
            )
