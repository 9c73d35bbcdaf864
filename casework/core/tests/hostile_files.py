"""Hostile spreadsheets, built in memory by the tests (nothing of the kind is checked in).

`zip_bomb` is a genuine one: a valid XLSX whose one sheet is a few hundred kilobytes compressed
and tens of megabytes of rows once unpacked, as in the finding (450 KB → 48–82 s of parsing).
"""

from __future__ import annotations

import functools
import io
import zipfile

from openpyxl import Workbook

_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" '
    b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b"</Types>"
)
_ROOT_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def _workbook_xml(sheet_name: str) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        b'<sheets><sheet name="' + sheet_name.encode() + b'" sheetId="1" r:id="rId1"/></sheets>'
        b"</workbook>"
    )


def _row(cells: list[str]) -> bytes:
    return (
        b"<row>"
        + b"".join(b'<c t="inlineStr"><is><t>' + cell.encode() + b"</t></is></c>" for cell in cells)
        + b"</row>"
    )


def xlsx(sheet_xml: bytes, *, sheet_name: str = "cases") -> bytes:
    """A minimal valid workbook around one sheet's XML (as openpyxl reads it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _workbook_xml(sheet_name))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return buffer.getvalue()


def sheet(rows: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData>" + rows + b"</sheetData></worksheet>"
    )


@functools.cache
def zip_bomb(
    unpacked_megabytes: int = 120,
    *,
    header: tuple[str, ...] = ("type", "name", "label"),
    sheet_name: str = "cases",
) -> bytes:
    """A workbook whose sheet repeats one row until it unpacks to about that many megabytes
    (120 MB: a file of about 430 KB, as in the finding)."""
    first = _row(list(header))
    row = _row(["text", "x", "y"])
    count = unpacked_megabytes * 1024 * 1024 // len(row)
    return xlsx(sheet(first + row * count), sheet_name=sheet_name)


def far_row_workbook(sheet_name: str = "cases") -> bytes:
    """A few kilobytes whose one cell on the last row makes a reader fill a million rows."""
    book = Workbook()
    worksheet = book.active
    worksheet.title = sheet_name
    worksheet["A1"] = "type"
    worksheet["A1048576"] = "text"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def plain_workbook(rows: list[list[str]], sheet_name: str = "cases") -> bytes:
    book = Workbook()
    worksheet = book.active
    worksheet.title = sheet_name
    for row in rows:
        worksheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
