"""CSV cells a spreadsheet would run as formulas are written as text, and read back as they were."""

from __future__ import annotations

import csv
import io

from hypothesis import example, given
from hypothesis import strategies as st

from casework.core.csvfiles import SafeWriter, neutralise, restore


def test_formula_cells_get_an_apostrophe() -> None:
    for cell in ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]:
        assert neutralise(cell) == "'" + cell
    assert neutralise("\tTAB") == "'\tTAB"
    assert neutralise("\rCR") == "'\rCR"


def test_numbers_and_plain_text_are_left_alone() -> None:
    for cell in ["-5", "+1.5", "12", "Awa Keïta", "#indicator+code", "", "a=b"]:
        assert neutralise(cell) == cell
    assert neutralise(-5) == -5
    assert neutralise(None) is None


def test_a_cell_that_already_starts_with_an_apostrophe_round_trips() -> None:
    assert neutralise("'=1") == "''=1"
    assert restore("''=1") == "'=1"
    assert restore("'quoted'") == "'quoted'"


@given(st.text())
def test_restore_undoes_neutralise(text: str) -> None:
    assert restore(neutralise(text)) == text


def _signed_number(cell: str) -> bool:
    """A number with its sign ("+0", "-1.5"): a spreadsheet reads it as that number, not a
    formula, so it is written as it is (test_numbers_and_plain_text_are_left_alone)."""
    try:
        float(cell)
    except ValueError:
        return False
    return cell.strip() == cell


@example("+0")
@given(st.text())
def test_no_written_cell_starts_a_formula(text: str) -> None:
    out = io.StringIO()
    SafeWriter(out).writerow([text])
    (cell,) = next(csv.reader(io.StringIO(out.getvalue(), newline="")))
    starts_a_formula = cell.startswith(("=", "+", "@", "\t", "\r"))
    assert not starts_a_formula or cell == text.strip() == "" or _signed_number(cell)
    assert not cell.startswith("-") or float(cell) is not None
