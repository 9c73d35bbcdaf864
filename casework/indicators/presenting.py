"""What the report page and the consortium page show alike: the measure labels, the tables
and charts of an indicator, and the report as a downloaded file."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpResponse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.indicators import charts, dhis2, exports
from casework.indicators.labels import Labels
from casework.indicators.models import Dhis2Mapping
from casework.indicators.report import IndicatorReport, Report, Row

MEASURE_LABELS = {
    "open": gettext_lazy("still open at the period end"),
    "closed": gettext_lazy("all their cases closed by the period end"),
    "also_mhpss": gettext_lazy("also have a case in MHPSS during the period"),
    "surveyed": gettext_lazy("answered a participation survey in the period"),
}


@dataclass
class Slice:
    label: str
    row: Row


@dataclass
class Table:
    title: str
    dimensions: tuple[str, ...]
    slices: list[Slice] = field(default_factory=list)
    chart: SafeString | None = None
    # two-way tables: row labels × column labels
    columns: list[str] = field(default_factory=list)
    grid: list[tuple[str, list[Row]]] = field(default_factory=list)


def row_text(row: Row) -> str:
    if row.suppressed:
        return _("suppressed")
    if row.is_percentage:
        value = "—" if row.value is None else f"{row.value} %"
        return f"{value} ({row.numerator} / {row.denominator})"
    return str(row.value)


def tables_of(indicator: IndicatorReport, labels: Labels) -> list[Table]:
    tables = []
    for dimensions, rows in indicator.by.items():
        title = " × ".join(labels.dimension(d) for d in dimensions)
        table = Table(title=title, dimensions=dimensions)
        if len(dimensions) == 1:
            table.slices = [Slice(labels.key(dimensions[0], row.key[0]), row) for row in rows]
            bars = [
                charts.Bar(
                    label=piece.label,
                    value=None if piece.row.suppressed else float(piece.row.value or 0),
                    text=row_text(piece.row),
                )
                for piece in table.slices
            ]
            table.chart = charts.bar_chart(
                bars,
                title=f"{indicator.spec.name}: {title}",
                maximum=100.0 if indicator.spec.is_percentage else None,
            )
        else:
            columns = list(dict.fromkeys(row.key[1] for row in rows))
            table.columns = [labels.key(dimensions[1], key) for key in columns]
            by_row: dict[str, list[Row]] = {}
            for row in rows:
                by_row.setdefault(row.key[0], []).append(row)
            table.grid = [(labels.key(dimensions[0], key), cells) for key, cells in by_row.items()]
        tables.append(table)
    return tables


def report_file(
    report: Report, output_format: str, *, mapping_agency_id: int | None = None
) -> HttpResponse:
    """The report as a file; DHIS2 with the mappings of `mapping_agency_id` (the report's own
    agency by default; a consortium report uses its lead's)."""
    mappings = None
    if output_format == "dhis2":
        rows = Dhis2Mapping.objects.all()
        if mapping_agency_id is None:
            rows = rows.filter(agency__code=report.agency_code)
        else:
            rows = rows.filter(agency_id=mapping_agency_id)
        mappings = list(rows)
    # Nothing mapped: refused with what is missing (dhis2.py), not an empty list.
    unmapped = dhis2.check_exportable(report, mappings) if mappings is not None else 0
    content = exports.render(report, output_format, dhis2_mappings=mappings)
    response = HttpResponse(content, content_type=exports.FORMATS[output_format][0])
    if mappings is not None:
        response["X-Casework-Unmapped-Figures"] = str(unmapped)
    return attached(response, exports.filename(report, output_format))


def attached(response: HttpResponse, name: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
