"""The service-gap report as files: JSON, CSV (formula-safe) and XLSX, all written from the same
suppressed GapReport, so a figure hidden on the page is empty and flagged in every file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from casework.core.csvfiles import SafeWriter
from casework.indicators.exports import ExportError
from casework.indicators.gaps import OUTCOMES, Figure, GapReport, OutcomeRow

FORMATS = {
    "json": ("application/json", "json"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}

CSV_HEADER = [
    "table",
    "period_start",
    "period_end",
    "admin_level",
    "need",
    "area",
    "reason",
    "organisation",
    "figure",
    "value",
    "suppressed",
]


@dataclass(frozen=True)
class FlatRow:
    table: str  # "unmet_needs" or "referral_outcomes"
    need: str
    area: str
    reason: str
    organisation: str
    figure: str
    value: Figure


def _outcome_rows(row: OutcomeRow) -> Iterator[FlatRow]:
    organisation = row.organisation or "*"
    yield FlatRow("referral_outcomes", "", "", "", organisation, "sent", row.sent)
    for name in OUTCOMES:
        yield FlatRow("referral_outcomes", "", "", "", organisation, name, row.counts[name])
    yield FlatRow(
        "referral_outcomes", "", "", "", organisation, "median_days_to_service", row.median_days
    )
    yield FlatRow(
        "referral_outcomes", "", "", "", organisation, "mean_days_to_service", row.mean_days
    )


def flat_rows(report: GapReport) -> Iterator[FlatRow]:
    """Every published figure once; "*" is "all" (a total over that column)."""
    yield FlatRow("unmet_needs", "*", "*", "*", "", "persons", report.persons)
    for area, _label in report.areas:
        yield FlatRow("unmet_needs", "*", area, "*", "", "persons", report.area_totals[area])
    for reason, _label in report.reasons:
        yield FlatRow("unmet_needs", "*", "*", reason, "", "persons", report.reason_totals[reason])
    for need in report.needs:
        for figure, value in (
            ("persons", need.persons),
            ("cases", need.cases),
            ("new_in_period", need.new_in_period),
            ("open_at_end", need.open_at_end),
        ):
            yield FlatRow("unmet_needs", need.need, "*", "*", "", figure, value)
        for area, value in need.by_area.items():
            yield FlatRow("unmet_needs", need.need, area, "*", "", "persons", value)
        for reason, value in need.by_reason.items():
            yield FlatRow("unmet_needs", need.need, "*", reason, "", "persons", value)
    for row in report.outcomes:
        yield from _outcome_rows(row)
    yield from _outcome_rows(report.outcome_total)
    if report.left_out.value != 0:
        yield FlatRow("left_out", "", "", "", "", "persons", report.left_out)


def _value(figure: Figure) -> int | float | str:
    return "" if figure.value is None else figure.value


def to_csv(report: GapReport) -> str:
    output = io.StringIO()
    writer = SafeWriter(output)
    writer.writerow(CSV_HEADER)
    start, end = report.period.start.isoformat(), report.period.end.isoformat()
    for row in flat_rows(report):
        writer.writerow(
            [
                row.table,
                start,
                end,
                report.level,
                row.need,
                row.area,
                row.reason,
                row.organisation,
                row.figure,
                _value(row.value),
                "yes" if row.value.suppressed else "",
            ]
        )
    return output.getvalue()


def to_xlsx(report: GapReport) -> bytes:
    """Two sheets, unmet needs and referral outcomes, with the suppression rule on top."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    rows = list(flat_rows(report))
    sheets = (
        ("unmet_needs", _("Unmet needs"), [_("Need"), _("Area"), _("Reason")]),
        ("referral_outcomes", _("Referral outcomes"), [_("Organisation")]),
    )
    for table, title, keys in sheets:
        sheet = workbook.create_sheet(title=table)
        sheet.append([title])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append([_("Period"), str(report.period), report.period.start, report.period.end])
        sheet.append(
            [
                _("Counts from 1 to %(k)s are suppressed (empty, marked 'yes').")
                % {"k": report.min_cell - 1}
                if report.min_cell > 1
                else _("No small-cell suppression (unsuppressed figures: do not publish).")
            ]
        )
        sheet.append([_("'*' stands for all (a total over that column).")])
        sheet.append([])
        sheet.append([*keys, _("Figure"), _("Value"), _("Suppressed")])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for row in rows:
            if row.table != table:
                continue
            values = (
                [row.need, row.area, row.reason] if table == "unmet_needs" else [row.organisation]
            )
            sheet.append(
                [*values, row.figure, row.value.value, "yes" if row.value.suppressed else ""]
            )
        sheet.freeze_panes = "A7"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render(report: GapReport, output_format: str) -> bytes:
    if output_format == "json":
        return (json.dumps(report.as_json(), indent=1, ensure_ascii=False) + "\n").encode()
    if output_format == "csv":
        return to_csv(report).encode()
    if output_format == "xlsx":
        return to_xlsx(report)
    raise ExportError(
        _("Choose a format among %(formats)s.") % {"formats": ", ".join(FORMATS)}, field="format"
    )


def filename(report: GapReport, output_format: str) -> str:
    extension = FORMATS[output_format][1]
    name = f"service-gaps-{report.agency_code}-{report.period}.{extension}"
    return name.replace("..", "_to_")
