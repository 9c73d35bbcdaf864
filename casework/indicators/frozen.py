"""Reports as submitted: a period's report frozen when it goes to a donor or a cluster.

`freeze_report` (the service) counts the report as the page would show it, at the agency's
smallest count published, and keeps it with what it was counted under: the indicator definitions
(and their hash, the definitions' version), the agency settings in force on the period's last
day, and every file of `exports.FORMATS` rendered then, whose bytes are handed out again as they
were (an XLSX carries its own timestamps: re-rendering would not give the same file). The row is
signed with a key outside the database (`casework.audit.signatures`): `verify` tells whether
someone who could edit the database changed a frozen figure, file, setting or definition.

Nothing changes a frozen report. Corrections, merges, refusals of reporting consent and
verifications change today's figures only; `compare` puts today's figures beside the frozen ones,
figure by figure, so that no difference goes unseen. Freezing the same period and
disaggregations again is a new version, with its reason.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.access import agency_of, require_perm
from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm
from casework.audit import signatures
from casework.audit.log import record
from casework.core.errors import CaseworkError, Conflict
from casework.indicators import exports, selectors, services
from casework.indicators.dimensions import ALL_SINGLE, PAIR_SEPARATOR, parse_by, spec_name
from casework.indicators.models import (
    Dhis2Mapping,
    FrozenExport,
    FrozenReport,
    IndicatorDefinition,
    ReportingPolicy,
)
from casework.indicators.periods import Period
from casework.indicators.queries import GroupingSet
from casework.indicators.report import Report, build_report

logger = logging.getLogger(__name__)

SIGNATURE_PURPOSE = "indicators.frozen_report"
FROZEN = "indicators.report.frozen"
RECIPIENT_LENGTH = 200
REASON_LENGTH = 2000
DEFINITION_FIELDS = (
    "code",
    "names",
    "descriptions",
    "kind",
    "unit",
    "period_semantics",
    "population",
    "numerator",
    "measures",
    "disaggregations",
)


def disaggregation_text(by: list[GroupingSet]) -> str:
    """The disaggregations as the API takes them: "sex,age_group,sex+age_group"."""
    return ",".join(spec_name(dimensions) for dimensions in by)


def in_page_order(by: list[GroupingSet]) -> list[GroupingSet]:
    """The disaggregations in the order the report page asks for them (single dimensions in the
    picker's order, then pairs), each once: "age_group,sex" and "sex,age_group" are one report."""
    order = {name: number for number, name in enumerate(ALL_SINGLE)}
    return sorted(
        dict.fromkeys(by),
        key=lambda dimensions: (
            len(dimensions),
            [(order.get(name, len(order)), name) for name in dimensions],
        ),
    )


def definitions_in_use(agency_id: int) -> list[dict[str, Any]]:
    """The active definitions a report of the agency counts with, by code (shared and own)."""
    rows = IndicatorDefinition.objects.filter(
        Q(agency_id=agency_id) | Q(agency__isnull=True), is_active=True
    ).order_by("code")
    return [dict(values) for values in rows.values(*DEFINITION_FIELDS)]


def definitions_hash(definitions: list[dict[str, Any]]) -> str:
    return hashlib.sha256(signatures.canonical(definitions)).hexdigest()


def _settings(agency_id: int, period: Period) -> dict[str, dict[str, Any]]:
    return {
        row.setting.key: {
            "value": row.value,
            "shown": str(row.shown),
            "label": str(row.setting.label),
            "since": row.since.isoformat() if row.since else None,
        }
        for row in selectors.settings_in_force(agency_id, period)
    }


def signed_content(
    frozen: FrozenReport, files: list[FrozenExport], digests: dict[str, str] | None = None
) -> dict[str, Any]:
    """Everything the signature vouches for, read from the rows as stored. Each file is
    represented by the SHA-256 of its bytes as they are now (or by `digests`, by format, when
    the caller has them), not by its stored hash."""
    return {
        "agency": frozen.agency_id,
        "version": frozen.version,
        "period": [frozen.period_start.isoformat(), frozen.period_end.isoformat()],
        "period_label": frozen.period_label,
        "disaggregations": frozen.disaggregations,
        "min_cell": frozen.min_cell,
        "report": frozen.report,
        "definitions": frozen.definitions,
        "definitions_hash": frozen.definitions_hash,
        "settings": frozen.settings,
        "recipient": frozen.recipient,
        "reason": frozen.reason,
        "frozen_by": frozen.frozen_by_id,
        "frozen_at": frozen.frozen_at.astimezone(datetime.UTC).isoformat(),
        "files": {
            file.file_format: {
                "name": file.name,
                "content_type": file.content_type,
                "sha256": (
                    digests[file.file_format]
                    if digests is not None
                    else hashlib.sha256(bytes(file.content)).hexdigest()
                ),
            }
            for file in sorted(files, key=lambda f: f.file_format)
        },
    }


def verify(frozen: FrozenReport, *, read_files: bool = True) -> bool:
    """Whether the frozen report is exactly as it was signed (figures, files, settings …).

    `read_files=False` (the indicators page, on every load) checks everything but the files'
    bytes, using their stored hashes, which the signature covers: the figures shown are proved
    without reading every file. A file's bytes are checked whenever it is handed out."""
    stored = FrozenReport.objects.get(pk=frozen.pk)
    rows = FrozenExport.objects.filter(frozen_report_id=frozen.pk)
    if read_files:
        files = list(rows)
        digests = {f.file_format: hashlib.sha256(bytes(f.content)).hexdigest() for f in files}
    else:
        files = list(rows.defer("content"))
        digests = {f.file_format: f.sha256 for f in files}
    intact = signatures.matches(
        SIGNATURE_PURPOSE, signed_content(stored, files, digests), stored.signature
    ) and all(digests[f.file_format] == f.sha256 for f in files)
    if not intact:
        # Ids only: the figures are aggregates, but a log line says no more than it must.
        logger.warning("Frozen report %s does not match its signature", frozen.pk)
    return intact


class SignatureMismatch(Conflict):
    code = "signature_mismatch"


def file_as_frozen(frozen: FrozenReport, file_format: str) -> FrozenExport:
    """A file of the frozen report as it was at freezing: 404 for a format it does not have;
    refused (409) when the report no longer matches its signature: it is then not what was
    submitted, and is not handed out as if it were."""
    file = FrozenExport.objects.filter(frozen_report=frozen, file_format=file_format).first()
    if file is None:
        raise Http404(_("Not found."))
    if not verify(frozen):
        raise SignatureMismatch(
            _("This frozen report does not match its signature: it was changed after freezing.")
        )
    return file


def latest_version(agency_id: int, period: Period, disaggregations: str) -> int:
    found = FrozenReport.objects.filter(
        agency_id=agency_id,
        period_start=period.start,
        period_end=period.end,
        disaggregations=disaggregations,
    ).aggregate(latest=Max("version"))["latest"]
    return int(found or 0)


def freeze_report(
    *,
    by: User,
    period: Period,
    disaggregations: list[GroupingSet],
    recipient: str,
    reason: str = "",
) -> FrozenReport:
    """Freeze the agency's report of `period` as it is sent to `recipient` (a donor, a cluster).

    Counted at the agency's smallest count published: a report that leaves Casework is never
    unsuppressed. Only a period that has ended is frozen. A second freeze of the same period and
    disaggregations is the next version and needs its reason.
    """
    require_perm(by, Perm.FREEZE_REPORTS)
    agency = Agency.objects.get(pk=agency_of(by))
    recipient, reason = recipient.strip(), reason.strip()
    if not recipient:
        raise CaseworkError(
            _("Say to whom, or for what, the report is sent (e.g. “UNICEF Q3 donor report”)."),
            field="recipient",
        )
    if len(recipient) > RECIPIENT_LENGTH or any(ord(c) < 32 for c in recipient):
        raise CaseworkError(
            _("Name the recipient in one line of at most %(n)s characters.")
            % {"n": RECIPIENT_LENGTH},
            field="recipient",
        )
    if len(reason) > REASON_LENGTH or "\x00" in reason:
        raise CaseworkError(
            _("Say why in at most %(n)s characters.") % {"n": REASON_LENGTH}, field="reason"
        )
    if period.end > timezone.localdate():
        raise CaseworkError(_("A period is frozen once it has ended."), field="period")
    disaggregations = in_page_order(disaggregations)
    text = disaggregation_text(disaggregations)
    _check_reason(latest_version(agency.pk, period, text), reason)
    # Counted before the transaction, like every report (one grouped statement per reading).
    report = services.report_for(by, period=period, by=disaggregations)
    mappings = list(Dhis2Mapping.objects.filter(agency=agency))
    files = [
        FrozenExport(
            file_format=file_format,
            name=exports.filename(report, file_format),
            content_type=content_type,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
        )
        for file_format, (content_type, _extension) in exports.FORMATS.items()
        for content in [exports.render(report, file_format, dhis2_mappings=mappings)]
    ]
    definitions = definitions_in_use(agency.pk)
    settings_in_force = _settings(agency.pk, period)
    return _store(
        by=by,
        agency=agency,
        report=report,
        text=text,
        recipient=recipient,
        reason=reason,
        files=files,
        definitions=definitions,
        settings_in_force=settings_in_force,
    )


def _check_reason(latest: int, reason: str) -> None:
    if latest and not reason:
        raise CaseworkError(
            _("This report was frozen before (version %(version)s): say why it is frozen again.")
            % {"version": latest},
            field="reason",
        )


@transaction.atomic
def _store(
    *,
    by: User,
    agency: Agency,
    report: Report,
    text: str,
    recipient: str,
    reason: str,
    files: list[FrozenExport],
    definitions: list[dict[str, Any]],
    settings_in_force: dict[str, dict[str, Any]],
) -> FrozenReport:
    # One freeze of an agency at a time, so that two cannot take the same version number.
    Agency.objects.select_for_update().filter(pk=agency.pk).first()
    version = latest_version(agency.pk, report.period, text) + 1
    _check_reason(version - 1, reason)
    frozen = FrozenReport.objects.create(
        agency=agency,
        version=version,
        period_start=report.period.start,
        period_end=report.period.end,
        period_label=str(report.period),
        disaggregations=text,
        min_cell=report.min_cell,
        report=report.as_json(),
        definitions=definitions,
        definitions_hash=definitions_hash(definitions),
        settings=settings_in_force,
        recipient=recipient,
        reason=reason,
        frozen_by=by,
        frozen_at=timezone.now().replace(microsecond=0),
    )
    for file in files:
        file.frozen_report = frozen
    FrozenExport.objects.bulk_create(files)
    # Signed as read back from the database, so that the JSON columns' round trip (key order,
    # number types) is what the signature covers and what `verify` later reads.
    stored = FrozenReport.objects.get(pk=frozen.pk)
    stored_files = list(FrozenExport.objects.filter(frozen_report_id=frozen.pk))
    frozen.signature = signatures.sign(SIGNATURE_PURPOSE, signed_content(stored, stored_files))
    FrozenReport.objects.filter(pk=frozen.pk).update(signature=frozen.signature)
    record(
        FROZEN,
        by=by,
        target=frozen,
        # Codes only: each grouping set as its list of dimension codes.
        data={
            "period": frozen.period_label,
            "version": version,
            "disaggregations": [list(dimensions) for dimensions in parse_by(text, agency.pk)],
        },
        agency_id=agency.pk,
    )
    return frozen


# --- Frozen figures beside today's ------------------------------------------------------------


@dataclass(frozen=True)
class FigurePair:
    """One published figure as frozen and as it would be today (None: suppressed)."""

    indicator: str
    disaggregation: str  # "" for the indicator's total
    key: str
    figure: str  # "value", "numerator", "denominator", "open", "q3:<way>", "left_out" …
    frozen: int | float | None
    today: int | float | None
    in_frozen: bool = True
    in_today: bool = True

    @property
    def changed(self) -> bool:
        return self.in_frozen != self.in_today or self.frozen != self.today

    def as_json(self) -> dict[str, Any]:
        return {
            "indicator": self.indicator,
            "disaggregation": self.disaggregation,
            "key": self.key,
            "figure": self.figure,
            "frozen": self.frozen,
            "today": self.today,
            "in_frozen": self.in_frozen,
            "in_today": self.in_today,
            "changed": self.changed,
        }


FigureKey = tuple[str, str, str, str]


def _is_figure(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def figures_of(report: dict[str, Any]) -> dict[FigureKey, int | float | None]:
    """Every figure of a report in the contract's shape, by (indicator, disaggregation, key,
    figure). Read from the JSON, so a report frozen under older code compares all the same."""
    found: dict[FigureKey, int | float | None] = {}
    for indicator in report.get("indicators", []):
        code = str(indicator.get("code", ""))
        for name, value in indicator.items():
            if name in ("code", "by", "suppressed"):
                continue
            if _is_figure(value):
                found[code, "", "", name] = value
            elif isinstance(value, dict):
                for part, inner in value.items():
                    if part != "suppressed" and _is_figure(inner):
                        found[code, "", "", f"{name}:{part}"] = inner
        for disaggregation, rows in (indicator.get("by") or {}).items():
            for row in rows:
                key = row.get("key")
                key_text = PAIR_SEPARATOR.join(key) if isinstance(key, list) else str(key)
                for name in ("numerator", "denominator", "value"):
                    if name in row:
                        found[code, disaggregation, key_text, name] = row[name]
    return found


def compare(frozen_report: dict[str, Any], today: dict[str, Any]) -> list[FigurePair]:
    """The frozen figures in their order, each beside today's; then figures only today has."""
    before, now = figures_of(frozen_report), figures_of(today)
    pairs = [
        FigurePair(*key, frozen=value, today=now.get(key), in_today=key in now)
        for key, value in before.items()
    ]
    pairs += [
        FigurePair(*key, frozen=None, today=value, in_frozen=False)
        for key, value in now.items()
        if key not in before
    ]
    return pairs


@dataclass
class Comparison:
    frozen: FrozenReport
    today: dict[str, Any]
    today_min_cell: int
    pairs: list[FigurePair]
    signature_ok: bool
    definitions_changed: bool

    @property
    def changed(self) -> list[FigurePair]:
        return [pair for pair in self.pairs if pair.changed]

    def as_json(self) -> dict[str, Any]:
        return {
            "frozen_report": self.frozen.pk,
            "version": self.frozen.version,
            "signature_ok": self.signature_ok,
            "definitions_changed": self.definitions_changed,
            "frozen": self.frozen.report,
            "today": self.today,
            "today_min_cell": self.today_min_cell,
            "figures": [pair.as_json() for pair in self.pairs],
            "changed": len(self.changed),
        }


def comparison(
    frozen: FrozenReport, *, today: Report | None = None, read_files: bool = True
) -> Comparison:
    """The frozen report beside today's figures for the same period and disaggregations.

    Today's are counted at the frozen threshold, or the agency's present one if it was raised
    since (never below what the agency now publishes). Pass `today` when it is already counted
    (the indicators page) to count nothing twice.
    """
    if today is None:
        today_min_cell = max(frozen.min_cell, ReportingPolicy.min_cell_for(frozen.agency_id))
        today = build_report(
            agency_id=frozen.agency_id,
            agency_code=frozen.agency.code,
            period=Period(frozen.period_start, frozen.period_end),
            by=parse_by(frozen.disaggregations, frozen.agency_id),
            min_cell=today_min_cell,
        )
    today_json = today.as_json()
    return Comparison(
        frozen=frozen,
        today=today_json,
        today_min_cell=today.min_cell,
        pairs=compare(frozen.report, today_json),
        signature_ok=verify(frozen, read_files=read_files),
        definitions_changed=(
            definitions_hash(definitions_in_use(frozen.agency_id)) != frozen.definitions_hash
        ),
    )


def beside_report(user: User, report: Report) -> Comparison | None:
    """For the indicators page: the latest frozen version of the report shown (same period and
    disaggregations), beside the figures the page has just counted, at the page's threshold
    (which the page states when it is not the frozen one); else None."""
    if user.agency_id is None:
        return None
    frozen = (
        FrozenReport.objects.filter(
            agency_id=user.agency_id,
            period_start=report.period.start,
            period_end=report.period.end,
            disaggregations=disaggregation_text(in_page_order(report.disaggregations)),
        )
        .select_related("agency", "frozen_by")
        .order_by("-version")
        .first()
    )
    if frozen is None:
        return None
    return comparison(frozen, today=report, read_files=False)
