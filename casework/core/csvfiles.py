"""CSV that a spreadsheet cannot run: every cell a program like Excel would read as a formula
(`=`, `+`, `-`, `@`, a tab or a carriage return at its start) is written with a leading
apostrophe, which spreadsheets show as text. Numbers stay numbers ("-5" is a number, not a
formula). Importers call `restore` on each cell, so a file exported by Casework reads back as the
values it holds: `restore(neutralise(v)) == v` for every text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class _Output(Protocol):
    def write(self, text: str, /) -> Any: ...


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text


def _dangerous(text: str) -> bool:
    return text.lstrip("'").startswith(TRIGGERS) and not _is_number(text)


def neutralise(value: Any) -> Any:
    """The cell as written: a text a spreadsheet would run gets an apostrophe in front."""
    if isinstance(value, str) and _dangerous(value):
        return "'" + value
    return value


def restore(text: str) -> str:
    """The value a neutralised cell held (anything else is returned as it is)."""
    if text.startswith("'") and _dangerous(text[1:]):
        return text[1:]
    return text


class SafeWriter:
    """`csv.writer` whose every cell goes through `neutralise`."""

    def __init__(self, output: _Output, **options: Any) -> None:
        options.setdefault("lineterminator", "\n")
        self._writer = csv.writer(output, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
