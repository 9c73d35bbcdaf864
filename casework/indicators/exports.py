"""A report in every format it leaves Casework in: JSON, CSV, HXL-tagged CSV, XLSX and DHIS2.

Every format is written from the same suppressed Report, so a figure hidden on the page is
hidden everywhere (a suppressed figure is empty and flagged, never zero). Aggregates only: no
names, no case references. The persons an indicator leaves out because they refuse anonymised
reporting are one more figure of it, `left_out`, present when there are any.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from casework.core.csvfiles import SafeWriter
from casework.core.errors import CaseworkError
from casework.indicators.dimensions import DIMENSIONS, PAIR_SEPARATOR, spec_name
from casework.indicators.report import Report

FORMATS = {
    "json": ("application/json", "json"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "hxl": ("text/csv; charset=utf-8", "hxl.csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "dhis2": ("application/json", "dhis2.json"),
}


class ExportError(CaseworkError):
    code = "invalid_format"


@dataclass(frozen=True)
class FlatRow:
    """One published figure: a value (with its numerator and denominator) or a beside-figure."""

    indicator: str
    # "value", or "open", "closed", "also_mhpss", "surveyed", "q3:<way>", "left_out"
    figure: str
    dimensions: tuple[str, ...]  # () for the indicator's total
    key: tuple[str, ...]
    numerator: int | None
    denominator: int | None
    value: int | float | None
    suppressed: bool

    @property
    def disaggregation(self) -> str:
        return spec_name(self.dimensions)

    @property
    def key_text(self) -> str:
        return PAIR_SEPARATOR.join(self.key)


def flat_rows(report: Report) -> Iterator[FlatRow]:
    for indicator in report.indicators:
        percentage = indicator.spec.is_percentage
        total = indicator.total
        yield FlatRow(
            indicator.code,
            "value",
            (),
            (),
            total.numerator if percentage else None,
            total.denominator if percentage else None,
            total.value,
            total.suppressed,
        )
        for name, value in indicator.measures.items():
            yield FlatRow(indicator.code, name, (), (), None, None, value, value is None)
        for way, value in (indicator.q3 or {}).items():
            yield FlatRow(indicator.code, f"q3:{way}", (), (), None, None, value, value is None)
        if indicator.left_out != 0:
            # How many persons refusing anonymised reporting the figures leave out (a row only
            # when there are any, as in the JSON).
            left_out = indicator.left_out
            yield FlatRow(
                indicator.code, "left_out", (), (), None, None, left_out, left_out is None
            )
        for dimensions, rows in indicator.by.items():
            for row in rows:
                yield FlatRow(
                    indicator.code,
                    "value",
                    dimensions,
                    row.key,
                    row.numerator if percentage else None,
                    row.denominator if percentage else None,
                    row.value,
                    row.suppressed,
                )


def to_json(report: Report) -> str:
    return json.dumps(report.as_json(), indent=1, ensure_ascii=False) + "\n"


CSV_HEADER = [
    "indicator",
    "period_start",
    "period_end",
    "figure",
    "disaggregation",
    "key",
    "numerator",
    "denominator",
    "value",
    "suppressed",
]


def _blank(value: Any) -> Any:
    return "" if value is None else value


def to_csv(report: Report) -> str:
    output = io.StringIO()
    writer = SafeWriter(output)
    writer.writerow(CSV_HEADER)
    start, end = report.period.start.isoformat(), report.period.end.isoformat()
    for row in flat_rows(report):
        writer.writerow(
            [
                row.indicator,
                start,
                end,
                row.figure,
                row.disaggregation,
                row.key_text,
                _blank(row.numerator),
                _blank(row.denominator),
                _blank(row.value),
                "yes" if row.suppressed else "",
            ]
        )
    return output.getvalue()


def _report_dimensions(report: Report) -> list[str]:
    seen: list[str] = []
    for dimensions in report.disaggregations:
        for name in dimensions:
            if name not in seen:
                seen.append(name)
    return seen


def to_hxl(report: Report) -> str:
    """CSV with a row of HXL hashtags under the headers (https://hxlstandard.org), one column
    per dimension so that HXL tools can filter on #sex, #age+group, #adm1+code …"""
    dimensions = _report_dimensions(report)
    output = io.StringIO()
    writer = SafeWriter(output)
    writer.writerow(
        [
            "Indicator",
            "Period start",
            "Period end",
            "Figure",
            "Disaggregation",
            *[str((report.dimensions.get(name) or DIMENSIONS[name]).label) for name in dimensions],
            "Numerator",
            "Denominator",
            "Value",
            "Suppressed",
        ]
    )
    writer.writerow(
        [
            "#indicator+code",
            "#date+start",
            "#date+end",
            "#indicator+figure",
            "#meta+disaggregation",
            *[(report.dimensions.get(name) or DIMENSIONS[name]).hxl for name in dimensions],
            "#indicator+numerator+num",
            "#indicator+denominator+num",
            "#indicator+value+num",
            "#meta+suppressed",
        ]
    )
    start, end = report.period.start.isoformat(), report.period.end.isoformat()
    for row in flat_rows(report):
        keys = dict(zip(row.dimensions, row.key, strict=True))
        writer.writerow(
            [
                row.indicator,
                start,
                end,
                row.figure,
                row.disaggregation,
                *[keys.get(name, "") for name in dimensions],
                _blank(row.numerator),
                _blank(row.denominator),
                _blank(row.value),
                "yes" if row.suppressed else "",
            ]
        )
    return output.getvalue()


def to_xlsx(report: Report) -> bytes:
    """A workbook with one sheet per indicator (sheet name = the indicator's code)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    rows = list(flat_rows(report))
    for indicator in report.indicators:
        sheet = workbook.create_sheet(title=indicator.code[:31])
        sheet.append([indicator.spec.name])
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
        sheet.append(
            [
                _(
                    "Persons who refuse, on the period's last day, to be counted in anonymised "
                    "reports are in no figure; the figure 'left_out' says how many, when any are."
                )
            ]
        )
        sheet.append([])
        header = [
            _("Figure"),
            _("Disaggregation"),
            _("Key"),
            _("Numerator"),
            _("Denominator"),
            _("Value"),
            _("Suppressed"),
        ]
        sheet.append(header)
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for row in rows:
            if row.indicator != indicator.code:
                continue
            sheet.append(
                [
                    row.figure,
                    row.disaggregation or _("total"),
                    row.key_text,
                    row.numerator,
                    row.denominator,
                    row.value,
                    "yes" if row.suppressed else "",
                ]
            )
        for column, width in zip("ABCDEFG", (22, 30, 30, 12, 12, 10, 11), strict=True):
            sheet.column_dimensions[column].width = width
        sheet.freeze_panes = "A7"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_dhis2(report: Report, mappings: list[Any]) -> dict[str, Any]:
    """DHIS2 dataValueSets JSON for the mapped figures; suppressed figures are not sent."""
    period = report.period.dhis2()
    lookup = {mapping.as_lookup(): mapping for mapping in mappings}
    values: list[dict[str, str]] = []
    for row in flat_rows(report):
        figures = {"value": row.value}
        if row.figure == "value" and row.denominator is not None:
            figures.update(numerator=row.numerator, denominator=row.denominator)
        if row.figure != "value":
            figures = {row.figure: row.value}
        for figure, value in figures.items():
            mapping = lookup.get((row.indicator, row.disaggregation, row.key_text, figure))
            if mapping is None or value is None or row.suppressed:
                continue
            data_value = {
                "dataElement": mapping.data_element,
                "period": period,
                "orgUnit": mapping.org_unit,
                "value": str(value),
            }
            if mapping.category_option_combo:
                data_value["categoryOptionCombo"] = mapping.category_option_combo
            if mapping.attribute_option_combo:
                data_value["attributeOptionCombo"] = mapping.attribute_option_combo
            values.append(data_value)
    return {"dataValues": values}


def render(report: Report, output_format: str, *, dhis2_mappings: list[Any] | None = None) -> bytes:
    """The report as bytes in the format asked for (see FORMATS)."""
    if output_format == "json":
        return to_json(report).encode()
    if output_format == "csv":
        return to_csv(report).encode()
    if output_format == "hxl":
        return to_hxl(report).encode()
    if output_format == "xlsx":
        return to_xlsx(report)
    if output_format == "dhis2":
        payload = to_dhis2(report, dhis2_mappings or [])
        return (json.dumps(payload, indent=1) + "\n").encode()
    raise ExportError(
        _("Choose a format among %(formats)s.") % {"formats": ", ".join(FORMATS)}, field="format"
    )


def filename(report: Report, output_format: str) -> str:
    extension = FORMATS[output_format][1]
    return f"indicators-{report.agency_code}-{report.period}.{extension}".replace("..", "_to_")
