"""Reading CSV and XLSX files into rows of the interchange format.

A reader only turns cells into stripped strings under contract column names (through a saved
mapping for an organisation's own spreadsheet); checking the values is validation.py's job.
Line numbers are those a person sees: the CSV line (header = 1) or the spreadsheet row.

Every file is measured first (casework/core/uploads.py: what it unpacks to, its rows, columns
and cells), so a zip bomb or a sheet of a million empty rows is refused before a parser runs.
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from casework.core.csvfiles import restore
from casework.core.errors import CaseworkError
from casework.core.uploads import check_contents
from casework.interchange.columns import KNOWN_CASE_COLUMNS, KNOWN_SURVEY_COLUMNS
from casework.interchange.models import ColumnMapping


class FileError(CaseworkError):
    """The file as a whole cannot be read (not CSV/XLSX, not UTF-8, a broken header)."""

    code = "unreadable_file"


@dataclass
class Table:
    kind: str  # "cases" or "surveys"
    columns: list[str]  # contract (or extra) column names, in file order
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    # Source columns the mapping renamed, for the summary: {source: contract}.
    mapped: dict[str, str] = field(default_factory=dict)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).strip()


def _header(kind: str, cells: Iterable[Any], mapping: ColumnMapping | None) -> Table:
    known = KNOWN_CASE_COLUMNS if kind == "cases" else KNOWN_SURVEY_COLUMNS
    columns: list[str] = []
    table = Table(kind=kind, columns=columns)
    for position, cell in enumerate(cells, start=1):
        source = _cell_text(cell).lstrip("\ufeff")
        if not source:
            # A header cell left empty (often trailing commas): keep its values under a name.
            source = f"column_{position}"
        target = mapping.target_for(source) if mapping else None
        if target is not None and target in known:
            table.mapped[source] = target
            name = target
        elif source.lower() in known:
            name = source.lower()
        else:
            name = source
            table.extra_columns.append(name)
        if name in columns:
            raise FileError(
                _("The %(kind)s file names the column “%(column)s” twice.")
                % {"kind": kind, "column": name}
            )
        columns.append(name)
    return table


def _apply_values(row: dict[str, str], mapping: ColumnMapping | None) -> dict[str, str]:
    if mapping is None or not mapping.values:
        return row
    for column, table in mapping.values.items():
        if column in row:
            value = row[column]
            if value in table:
                row[column] = str(table[value]).strip()
    return row


def _rows(
    table: Table, records: Iterator[tuple[int, list[Any]]], mapping: ColumnMapping | None
) -> Table:
    width = len(table.columns)
    for line, cells in records:
        texts = [cell.strip() if isinstance(cell, str) else _cell_text(cell) for cell in cells]
        if not any(texts):
            continue  # blank lines carry nothing
        if len(texts) < width:
            texts += [""] * (width - len(texts))
        elif len(texts) > width and any(texts[width:]):
            # Values beyond the header would be silently lost: keep them as extra columns.
            for position in range(width, len(texts)):
                name = f"column_{position + 1}"
                table.columns.append(name)
                table.extra_columns.append(name)
            width = len(table.columns)
            for _line, row in table.rows:
                for name in table.columns:
                    row.setdefault(name, "")
        table.rows.append(
            (line, _apply_values(dict(zip(table.columns, texts, strict=True)), mapping))
        )
    return table


def read_csv(data: bytes, *, kind: str, mapping: ColumnMapping | None = None) -> Table:
    encoding = mapping.encoding if mapping else "utf-8"
    try:
        text = data.decode(
            "utf-8-sig" if encoding.lower().replace("_", "-") == "utf-8" else encoding
        )
    except (UnicodeDecodeError, LookupError) as error:
        raise FileError(
            _("The %(kind)s file is not text in the expected encoding (UTF-8).") % {"kind": kind}
        ) from error
    delimiter = mapping.delimiter if mapping else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration as error:
        raise FileError(_("The %(kind)s file is empty.") % {"kind": kind}) from error
    except csv.Error as error:
        raise FileError(_("The %(kind)s file is not valid CSV.") % {"kind": kind}) from error
    table = _header(kind, header, mapping)

    def records() -> Iterator[tuple[int, list[Any]]]:
        start = reader.line_num + 1
        try:
            for cells in reader:
                yield start, [restore(cell) for cell in cells]
                start = reader.line_num + 1
        except csv.Error as error:
            raise FileError(
                _("The %(kind)s file is not valid CSV near line %(line)d.")
                % {"kind": kind, "line": start}
            ) from error

    return _rows(table, records(), mapping)


def is_xlsx(data: bytes) -> bool:
    return data[:2] == b"PK" and zipfile.is_zipfile(io.BytesIO(data))


def read_xlsx(
    data: bytes, *, mapping: ColumnMapping | None = None, first_sheet_is: str = "cases"
) -> tuple[Table | None, Table | None]:
    """The `cases` and `surveys` sheets. A workbook with neither (an organisation's own) is read
    from its first sheet, as `first_sheet_is`."""
    from openpyxl import load_workbook

    try:
        # data_only: a formula cell gives its last computed value, never the formula.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise FileError(_("The workbook cannot be read as XLSX.")) from error
    try:
        names = {name.strip().lower(): name for name in workbook.sheetnames}
        tables: dict[str, Table | None] = {"cases": None, "surveys": None}
        for kind in tables:
            name = names.get(kind)
            if name is None and kind == first_sheet_is and not ({"cases", "surveys"} & set(names)):
                name = workbook.sheetnames[0] if workbook.sheetnames else None
            if name is None:
                continue
            rows = workbook[name].iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                continue
            table = _header(kind, header, mapping)
            tables[kind] = _rows(
                table, ((line, list(cells)) for line, cells in enumerate(rows, start=2)), mapping
            )
        return tables["cases"], tables["surveys"]
    finally:
        workbook.close()


def read_files(
    cases: bytes, surveys: bytes | None = None, *, mapping: ColumnMapping | None = None
) -> tuple[Table, Table | None]:
    """The cases table and, if given (or a sheet of the workbook), the surveys table.

    Raises UploadTooLarge for a file over the upload limits, before parsing anything."""
    encoding = mapping.encoding if mapping else "utf-8"
    delimiter = mapping.delimiter if mapping else ","
    check_contents(
        cases, what=_("The cases file"), field="cases", encoding=encoding, delimiter=delimiter
    )
    if surveys is not None:
        check_contents(
            surveys,
            what=_("The surveys file"),
            field="surveys",
            encoding=encoding,
            delimiter=delimiter,
        )
    if is_xlsx(cases):
        case_table, survey_table = read_xlsx(cases, mapping=mapping)
    else:
        case_table, survey_table = read_csv(cases, kind="cases", mapping=mapping), None
    if case_table is None:
        raise FileError(_("The workbook has no “cases” sheet."))
    if surveys is not None:
        if is_xlsx(surveys):
            _cases, survey_table = read_xlsx(surveys, mapping=mapping, first_sheet_is="surveys")
            if survey_table is None:
                raise FileError(_("The surveys workbook has no “surveys” sheet."))
        else:
            survey_table = read_csv(surveys, kind="surveys", mapping=mapping)
    return case_table, survey_table
