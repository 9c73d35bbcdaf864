"""Uploaded spreadsheets measured before anything parses them.

A 450 KB workbook can unpack to hundreds of megabytes (a zip bomb), and a tiny sheet can make a
spreadsheet reader produce millions of empty rows (one cell on row 1,048,576) or millions of
columns (one cell in column XFD). Every importer (cases, questionnaires, the service directory)
calls `check_upload` or `check_contents` first; a file over a limit is refused with
`UploadTooLarge` (HTTP 413) before a parser sees it, so nothing is read, locked or written.

What is measured, without trusting what the file declares:
- the file as sent (`CASEWORK_UPLOAD_MAX_BYTES`; the screens and the API);
- for a ZIP (XLSX): the number of parts, each part's declared compression ratio and the sum of
  declared sizes, then every part really decompressed through a counting reader that stops as
  soon as the total passes `CASEWORK_UPLOAD_MAX_UNCOMPRESSED_BYTES`. A parser reading the file
  afterwards decompresses the same bytes, so it cannot get more than was counted;
- rows, columns and cells as a reader would produce them (`CASEWORK_UPLOAD_MAX_ROWS`): for XLSX
  from the sheets' XML (row numbers, cell references, the declared dimension), for CSV by
  counting records in one streaming pass, for the old XLS format through xlrd's sparse rows;
- for XLSX, the formats, styles and names a reader turns into objects one by one.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from xml.parsers import expat

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from casework.core.errors import CaseworkError

# A workbook holds a few parts per sheet; thousands of parts are a way to make a reader work.
MAX_PARTS = 1000
# Sheet XML compresses about 10:1 (20:1 when very repetitive); a zip bomb, several hundred to
# a thousand to one. Parts under RATIO_FROM bytes unpacked are too small to matter.
MAX_RATIO = 100
RATIO_FROM = 1024 * 1024
# Readers pad every row to the widest one, so the cost of a sheet is rows × columns: a file may
# span CELLS_PER_ROW cells for each row it may have (12.8 million for 200,000 rows).
MAX_COLUMNS = 1024
CELLS_PER_ROW = 64
# openpyxl builds an object for every cell format, font, fill, border, defined name and custom
# property, even in read-only mode; Excel itself allows 64,000 cell formats.
MAX_FORMATS = 64_000
FORMAT_ELEMENTS = frozenset(
    {"xf", "font", "fill", "border", "numFmt", "dxf", "cellStyle", "definedName", "property"}
)
CHUNK = 64 * 1024

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls
_DIGITS = re.compile(r"\d+")
_LETTERS = re.compile(r"[A-Za-z]{1,4}")


class UploadTooLarge(CaseworkError):
    """A file over one of the upload limits; says which file and which limit."""

    code = "upload_too_large"
    status = 413


@dataclass(frozen=True)
class Limits:
    max_bytes: int  # the file as sent
    max_uncompressed_bytes: int  # what a workbook unpacks to (a text file: itself)
    max_rows: int

    @property
    def max_cells(self) -> int:
        return self.max_rows * CELLS_PER_ROW


def limits(**tighter: int) -> Limits:
    """The configured limits; an importer with its own smaller ones passes them as `tighter`
    (a value above the configured one is ignored)."""
    configured = Limits(
        max_bytes=getattr(settings, "CASEWORK_UPLOAD_MAX_BYTES", 10 * 1024 * 1024),
        max_uncompressed_bytes=getattr(
            settings, "CASEWORK_UPLOAD_MAX_UNCOMPRESSED_BYTES", 50 * 1024 * 1024
        ),
        max_rows=getattr(settings, "CASEWORK_UPLOAD_MAX_ROWS", 200_000),
    )
    lowered = {name: min(value, getattr(configured, name)) for name, value in tighter.items()}
    return replace(configured, **lowered)


@dataclass(frozen=True)
class Shape:
    """What a file holds as a reader would see it (sums over sheets, for a workbook)."""

    kind: str  # "zip", "xls" or "text"
    uncompressed_bytes: int
    rows: int
    columns: int
    cells: int


def _size(value: int) -> str:
    return str(filesizeformat(value))


def _count(value: int) -> str:
    return str(number_format(value, force_grouping=True))


def check_size(size: int, *, what: str, field: str | None = None, limit: int | None = None) -> None:
    """Refuse a file larger than the upload limit. `what` names the file as the subject of a
    sentence ("The cases file"); `field` is the form field or API parameter it came in."""
    maximum = limits().max_bytes if limit is None else limit
    if size > maximum:
        raise UploadTooLarge(
            _("%(what)s is %(size)s; a file may be at most %(limit)s.")
            % {"what": what, "size": _size(size), "limit": _size(maximum)},
            code="file_too_large",
            field=field,
        )


def check_upload(
    data: bytes,
    *,
    what: str,
    field: str | None = None,
    encoding: str = "utf-8",
    delimiter: str = ",",
    within: Limits | None = None,
) -> Shape:
    """`check_size` and `check_contents` together, for a file that came through an upload."""
    within = within or limits()
    check_size(len(data), what=what, field=field, limit=within.max_bytes)
    return check_contents(
        data, what=what, field=field, encoding=encoding, delimiter=delimiter, within=within
    )


def check_contents(
    data: bytes,
    *,
    what: str,
    field: str | None = None,
    encoding: str = "utf-8",
    delimiter: str = ",",
    within: Limits | None = None,
) -> Shape:
    """Measure a CSV, XLSX or XLS file and refuse it (UploadTooLarge) over a limit.

    A file that is not what it seems (a damaged workbook) is measured as far as it can be and
    left to its reader to refuse as unreadable; whatever part was read counted toward the limits.
    """
    within = within or limits()
    measure = _Measure(what=what, field=field, within=within)
    shape = None
    if zipfile.is_zipfile(io.BytesIO(data)):
        # Also when it does not start like one: zipfile finds an archive at the end of any file.
        shape = measure.workbook(data)
    elif data.startswith(OLE2):
        shape = measure.xls(data)
    if not data.startswith((b"PK", OLE2)):
        # Whatever does not start as a workbook may be read as text: count it as text too.
        text = measure.text(data, encoding=encoding, delimiter=delimiter)
        if shape is None or text.cells > shape.cells:
            shape = text
    return shape or Shape(kind="text", uncompressed_bytes=len(data), rows=0, columns=0, cells=0)


@dataclass
class _Sheet:
    """One part of a workbook as expat reads it: rows and columns as openpyxl would fill them."""

    rows: int = 0  # <row> elements
    last_row: int = 0  # the highest row number: a reader fills the rows before it
    columns: int = 0  # the widest row, or the declared dimension
    formats: int = 0  # FORMAT_ELEMENTS, in whatever part
    _row: int = 0
    _column: int = 0

    @property
    def height(self) -> int:
        return max(self.rows, self.last_row)

    def start(self, name: str, attributes: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        if local == "row":
            self.rows += 1
            self._row = _row_number(attributes.get("r")) or self._row + 1
            self.last_row = max(self.last_row, self._row)
            self._column = 0
        elif local == "c":
            reference = attributes.get("r", "")
            letters = _LETTERS.match(reference)
            self._column = _column_number(letters.group()) if letters else self._column + 1
            self.columns = max(self.columns, self._column)
            number = _DIGITS.search(reference)
            if number:
                self.last_row = max(self.last_row, int(number.group()))
        elif local in FORMAT_ELEMENTS:
            self.formats += 1
        elif local == "dimension":
            # openpyxl pads every row to the declared width.
            last = attributes.get("ref", "").rpartition(":")[2]
            letters = _LETTERS.match(last)
            if letters:
                self.columns = max(self.columns, _column_number(letters.group()))


def _row_number(value: str | None) -> int | None:
    """A row's number as openpyxl reads it ("7", " 7", "7.0" and "7e0" are all row 7)."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


class _Stop(Exception):
    """A part that is not plain XML (a DTD, an image): stop reading its structure."""


@dataclass
class _Measure:
    what: str
    field: str | None
    within: Limits

    def _refuse(self, message: str, code: str, **values: Any) -> UploadTooLarge:
        return UploadTooLarge(message % {"what": self.what, **values}, code=code, field=self.field)

    def _check_table(self, rows: int, columns: int, cells: int) -> None:
        if rows > self.within.max_rows:
            raise self._refuse(
                _("%(what)s has more than %(limit)s rows; split it into smaller files."),
                "too_many_rows",
                limit=_count(self.within.max_rows),
            )
        if columns > MAX_COLUMNS:
            raise self._refuse(
                _("%(what)s has more than %(limit)s columns."),
                "too_many_columns",
                limit=_count(MAX_COLUMNS),
            )
        if cells > self.within.max_cells:
            raise self._refuse(
                _(
                    "%(what)s spans more than %(limit)s cells (rows × columns, empty ones "
                    "included); split it into smaller files."
                ),
                "too_many_cells",
                limit=_count(self.within.max_cells),
            )

    def _too_large_unpacked(self) -> UploadTooLarge:
        return self._refuse(
            _("%(what)s unpacks to more than %(limit)s; a workbook may hold at most that."),
            "file_unpacks_too_large",
            limit=_size(self.within.max_uncompressed_bytes),
        )

    # --- XLSX and any other ZIP --------------------------------------------------------------

    def workbook(self, data: bytes) -> Shape | None:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
            return None
        with archive:
            parts = archive.infolist()
            self._check_declared(parts)
            unpacked, rows, columns, cells, formats = 0, 0, 0, 0, 0
            for part in parts:
                sheet = _Sheet()
                for chunk in self._sheet_chunks(archive, part, sheet):
                    unpacked += len(chunk)
                    if unpacked > self.within.max_uncompressed_bytes:
                        # The declared sizes lied: the counting reader stops here.
                        raise self._too_large_unpacked()
                    self._check_table(
                        rows + sheet.height,
                        max(columns, sheet.columns),
                        cells + sheet.height * sheet.columns,
                    )
                    if formats + sheet.formats > MAX_FORMATS:
                        raise self._refuse(
                            _("%(what)s holds more than %(limit)s formats, styles or names."),
                            "too_many_formats",
                            limit=_count(MAX_FORMATS),
                        )
                rows += sheet.height
                columns = max(columns, sheet.columns)
                cells += sheet.height * sheet.columns
                formats += sheet.formats
        return Shape("zip", unpacked, rows, columns, cells)

    def _check_declared(self, parts: list[zipfile.ZipInfo]) -> None:
        if len(parts) > MAX_PARTS:
            raise self._refuse(
                _("%(what)s holds more than %(limit)s parts; a workbook holds far fewer."),
                "too_many_parts",
                limit=_count(MAX_PARTS),
            )
        for part in parts:
            if part.file_size > RATIO_FROM and part.file_size > MAX_RATIO * max(
                part.compress_size, 1
            ):
                raise self._refuse(
                    _(
                        "%(what)s is compressed more than %(ratio)s to 1, as a decompression "
                        "bomb is; it was not opened."
                    ),
                    "compression_ratio",
                    ratio=_count(MAX_RATIO),
                )
        if sum(part.file_size for part in parts) > self.within.max_uncompressed_bytes:
            raise self._too_large_unpacked()

    def _sheet_chunks(
        self, archive: zipfile.ZipFile, part: zipfile.ZipInfo, sheet: _Sheet
    ) -> Iterator[bytes]:
        """The part's bytes as decompressed, each chunk also fed to the sheet's XML reader."""
        parser = expat.ParserCreate()
        parser.StartElementHandler = sheet.start

        def no_doctype(*args: Any) -> None:
            raise _Stop  # entity tricks; openpyxl (defusedxml) refuses such a part anyway

        parser.StartDoctypeDeclHandler = no_doctype
        reading = True
        try:
            with archive.open(part) as member:
                while chunk := member.read(CHUNK):
                    if reading:
                        try:
                            parser.Parse(chunk, False)
                        except (expat.ExpatError, _Stop):
                            reading = False  # not XML, or broken here: a reader stops here too
                    yield chunk
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
            return  # damaged or encrypted: its reader will refuse it
        except RuntimeError:
            return  # "File is encrypted": likewise

    # --- the old binary XLS ------------------------------------------------------------------

    def xls(self, data: bytes) -> Shape | None:
        import xlrd

        try:
            # Sparse rows: memory in proportion to the cells there are, not to the sheet's size.
            book = xlrd.open_workbook(file_contents=data, on_demand=True, ragged_rows=True)
        except Exception:  # xlrd raises many kinds for a damaged file; its reader will say so
            return None
        try:
            rows, columns, cells = 0, 0, 0
            for index in range(book.nsheets):
                try:
                    sheet = book.sheet_by_index(index)
                except Exception:  # a damaged sheet, as above
                    return None
                rows += sheet.nrows
                columns = max(columns, sheet.ncols)
                cells += sheet.nrows * sheet.ncols
                self._check_table(rows, columns, cells)
                book.unload_sheet(index)
        finally:
            book.release_resources()
        return Shape("xls", len(data), rows, columns, cells)

    # --- CSV and other text ------------------------------------------------------------------

    def text(self, data: bytes, *, encoding: str, delimiter: str) -> Shape:
        if len(data) > self.within.max_uncompressed_bytes:
            raise self._too_large_unpacked()
        try:
            codecs.lookup(encoding)
        except LookupError:
            encoding = "latin-1"  # an unknown encoding: line breaks are still where they are
        stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace", newline="")
        rows, columns = 0, 0
        try:
            for record in csv.reader(stream, delimiter=delimiter or ","):
                if not record:
                    continue  # blank lines are skipped by every reader
                rows += 1
                columns = max(columns, len(record))
                if rows > self.within.max_rows or columns > MAX_COLUMNS:
                    self._check_table(rows, columns, rows * columns)
        except csv.Error:
            pass  # the reader stops at the same place and says why
        self._check_table(rows, columns, rows * columns)
        return Shape("text", len(data), rows, columns, rows * columns)
