"""Every upload is measured before a parser sees it: the file as sent, what a workbook really
unpacks to, its compression, its parts, and the rows, columns and cells a reader would make."""

from __future__ import annotations

import io
import zipfile
from types import SimpleNamespace
from typing import Any

import pytest

from casework.core import uploads
from casework.core.tests.hostile_files import (
    far_row_workbook,
    plain_workbook,
    sheet,
    xlsx,
    zip_bomb,
)
from casework.core.uploads import UploadTooLarge, check_contents, check_size, check_upload


def _refusal(data: bytes, **options: Any) -> UploadTooLarge:
    with pytest.raises(UploadTooLarge) as refused:
        check_contents(data, what="The cases file", field="cases", **options)
    return refused.value


def test_it_refuses_the_zip_bomb_of_the_finding_from_its_directory() -> None:
    bomb = zip_bomb()
    assert len(bomb) < 450 * 1024  # 120 MB of rows once unpacked
    error = _refusal(bomb)
    assert error.code == "compression_ratio" and error.status == 413
    assert error.field == "cases"
    assert str(error.message).startswith("The cases file is compressed more than 100 to 1")
    # A smaller one, within the unpacked limit, for its ratio alone.
    assert _refusal(zip_bomb(20)).code == "compression_ratio"


def test_a_workbook_that_unpacks_past_the_limit_is_refused(settings: Any) -> None:
    settings.CASEWORK_UPLOAD_MAX_UNCOMPRESSED_BYTES = 64 * 1024
    rows = [[f"row {number}", f"{number * 7919 % 100003}"] for number in range(3000)]
    error = _refusal(plain_workbook(rows))
    assert error.code == "file_unpacks_too_large"
    assert "64.0\xa0KB" in str(error.message)


def test_declared_sizes_are_not_trusted_parts_are_counted_as_they_unpack(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Take away the checks of the zip directory: the counting reader alone must still stop.
    monkeypatch.setattr(uploads._Measure, "_check_declared", lambda self, parts: None)
    settings.CASEWORK_UPLOAD_MAX_UNCOMPRESSED_BYTES = 2 * 1024 * 1024
    unpacked = 0
    original = zipfile.ZipExtFile.read

    def counted(self: zipfile.ZipExtFile, size: int = -1) -> bytes:
        nonlocal unpacked
        chunk = original(self, size)
        unpacked += len(chunk)
        return chunk

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counted)
    error = _refusal(zip_bomb())
    assert error.code == "file_unpacks_too_large"
    # Stopped within one chunk of the limit, not after the 120 MB the sheet holds.
    assert unpacked <= 2 * 1024 * 1024 + uploads.CHUNK


def test_a_zip_of_thousands_of_parts_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(uploads.MAX_PARTS + 1):
            archive.writestr(f"part{number}.xml", b"<a/>")
    assert _refusal(buffer.getvalue()).code == "too_many_parts"


def test_one_cell_on_the_last_row_is_a_million_rows() -> None:
    data = far_row_workbook()
    assert len(data) < 10 * 1024
    error = _refusal(data)
    assert error.code == "too_many_rows"
    assert "200,000 rows" in str(error.message)


def test_row_numbers_are_read_as_a_reader_reads_them() -> None:
    for number in (b"1048576", b" 1048576", b"1.048576e6"):
        data = xlsx(sheet(b'<row r="' + number + b'"><c t="inlineStr"><is><t>x</t></is></c></row>'))
        assert _refusal(data).code == "too_many_rows", number


def test_one_cell_in_the_last_column_is_sixteen_thousand_columns() -> None:
    data = xlsx(sheet(b'<row r="1"><c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>'))
    assert _refusal(data).code == "too_many_columns"
    declared = xlsx(
        sheet(b"<row><c><v>1</v></c></row>").replace(
            b"<sheetData>", b'<dimension ref="A1:AMK1"/><sheetData>'
        )
    )
    assert _refusal(declared).code == "too_many_columns"


def test_a_workbook_of_a_hundred_thousand_styles_is_refused() -> None:
    # Each one an object openpyxl builds before the first row is read; Excel allows 64,000.
    data = plain_workbook([["x"]])
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in source.infolist():
            content = source.read(part)
            if part.filename == "xl/styles.xml":
                styles = b"".join(b'<xf numFmtId="%d"/>' % (n % 150) for n in range(100_000))
                start = content.index(b">", content.index(b"<cellXfs")) + 1
                content = content[:start] + styles + content[start:]
            archive.writestr(part, content)
    assert _refusal(buffer.getvalue()).code == "too_many_formats"


def test_rows_times_columns_are_bounded(settings: Any) -> None:
    settings.CASEWORK_UPLOAD_MAX_ROWS = 100  # so at most 6,400 cells
    wide = [[f"c{column}" for column in range(100)] for _row in range(80)]
    error = _refusal(plain_workbook(wide))
    assert error.code == "too_many_cells"


def test_an_ordinary_workbook_passes_and_is_measured() -> None:
    rows = [["case_ref", "sex"], *[[f"T-{number:04d}", "female"] for number in range(1, 301)]]
    shape = check_contents(plain_workbook(rows), what="The cases file")
    assert (shape.kind, shape.rows, shape.columns, shape.cells) == ("zip", 301, 2, 602)


def test_csv_records_are_counted_in_one_pass(settings: Any) -> None:
    settings.CASEWORK_UPLOAD_MAX_ROWS = 10
    header = b"case_ref,note\n"
    ten = header + b"".join(b"T-%d,plain\n" % number for number in range(9))
    # A quoted line break is one record; blank lines are not records.
    quoted = ten.replace(b"T-0,plain", b'T-0,"two\nlines"') + b"\n\n"
    assert check_contents(quoted, what="The cases file").rows == 10
    error = _refusal(ten + b"T-10,plain\n")
    assert error.code == "too_many_rows" and "10 rows" in str(error.message)


def test_a_csv_header_of_thousands_of_columns_is_refused() -> None:
    error = _refusal(b"," * 5000 + b"\nx\n")
    assert error.code == "too_many_columns"
    # Counted with the file's own delimiter.
    assert check_contents(b"," * 5000 + b"\nx\n", what="The file", delimiter=";").columns == 1


def test_a_csv_larger_than_the_limit_is_refused_before_counting(settings: Any) -> None:
    settings.CASEWORK_UPLOAD_MAX_UNCOMPRESSED_BYTES = 1024
    assert _refusal(b"a,b\n" * 300).code == "file_unpacks_too_large"


def test_a_text_file_with_a_workbook_at_its_end_is_measured_as_both(settings: Any) -> None:
    # zipfile finds an archive at the end of any file; a CSV reader reads the start.
    settings.CASEWORK_UPLOAD_MAX_ROWS = 10
    rows = b"a,b\n" * 50
    assert _refusal(rows + plain_workbook([["x"]])).code == "too_many_rows"


def test_the_file_as_sent_is_limited(settings: Any) -> None:
    settings.CASEWORK_UPLOAD_MAX_BYTES = 2048
    with pytest.raises(UploadTooLarge) as refused:
        check_upload(b"a,b\n" * 1000, what="The workbook", field="file")
    assert refused.value.code == "file_too_large" and refused.value.field == "file"
    assert str(refused.value.message) == (
        "The workbook is 3.9\xa0KB; a file may be at most 2.0\xa0KB."
    )
    check_size(2048, what="The workbook")


def test_an_importer_may_only_lower_the_limits(settings: Any) -> None:
    settings.CASEWORK_UPLOAD_MAX_ROWS = 1000
    assert uploads.limits(max_rows=50).max_rows == 50
    assert uploads.limits(max_rows=5000).max_rows == 1000


def test_old_xls_workbooks_are_measured_through_their_sparse_rows(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xlrd

    settings.CASEWORK_UPLOAD_MAX_ROWS = 100
    opened: dict[str, Any] = {}

    def open_workbook(**options: Any) -> Any:
        opened.update(options)
        sheets = [SimpleNamespace(nrows=60, ncols=5), SimpleNamespace(nrows=60, ncols=3)]
        return SimpleNamespace(
            nsheets=2,
            sheet_by_index=sheets.__getitem__,
            unload_sheet=lambda index: None,
            release_resources=lambda: None,
        )

    monkeypatch.setattr(xlrd, "open_workbook", open_workbook)
    error = _refusal(uploads.OLE2 + b"\0" * 512)
    assert error.code == "too_many_rows"
    assert opened["ragged_rows"] is True and opened["on_demand"] is True


def test_a_damaged_workbook_is_left_to_its_reader() -> None:
    data = plain_workbook([["x"]])
    damaged = data[:100] + b"\0" * 200 + data[300:]
    shape = check_contents(damaged, what="The cases file")
    assert shape.uncompressed_bytes <= 64 * 1024
