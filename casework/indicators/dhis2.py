"""DHIS2 mappings: where each published figure goes (indicator × disaggregation × key × figure
→ data element, category option combo, organisation unit), and what a report leaves unmapped.

An export with nothing mapped is refused with the list of what is missing, instead of sending
DHIS2 an empty `dataValues` list with no word of why. A partly mapped export sends what is
mapped and names how many published figures it leaves out (a response header).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from casework.accounts.access import agency_of, check_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.core.errors import CaseworkError, FieldErrors
from casework.indicators.exports import FlatRow, flat_rows
from casework.indicators.models import Dhis2Mapping
from casework.indicators.report import Report

MISSING_SHOWN = 20


class NothingMapped(CaseworkError):
    code = "dhis2_unmapped"
    status = 422


def _figures(row: FlatRow) -> list[str]:
    if row.figure == "value" and row.denominator is not None:
        return ["value", "numerator", "denominator"]
    return [row.figure] if row.figure != "value" else ["value"]


def missing(report: Report, mappings: list[Any]) -> tuple[list[str], int]:
    """(each published figure no mapping sends, as "CODE sex=female value"; how many are sent)."""
    mapped = {mapping.as_lookup() for mapping in mappings}
    unmapped: list[str] = []
    sent = 0
    for row in flat_rows(report):
        if row.suppressed or row.value is None:
            continue
        for figure in _figures(row):
            if (row.indicator, row.disaggregation, row.key_text, figure) in mapped:
                sent += 1
                continue
            where = f"{row.disaggregation}={row.key_text}" if row.disaggregation else "total"
            unmapped.append(f"{row.indicator} {where} {figure}")
    return unmapped, sent


def check_exportable(report: Report, mappings: list[Any]) -> int:
    """How many published figures the DHIS2 export leaves unmapped; raise if it would send none."""
    unmapped, sent = missing(report, mappings)
    if not sent:
        shown = "; ".join(unmapped[:MISSING_SHOWN])
        more = len(unmapped) - MISSING_SHOWN
        message = _(
            "No figure of this report is mapped to a DHIS2 data element, so nothing would be "
            "sent. Map them on the DHIS2 mapping page (Indicators → DHIS2 mapping). Missing: "
            "%(missing)s"
        ) % {"missing": shown or _("the report publishes no figure")}
        if more > 0:
            message += " " + _("and %(count)s more.") % {"count": more}
        raise NothingMapped(message)
    return len(unmapped)


@transaction.atomic
def add_mapping(*, by: User, **fields: Any) -> Dhis2Mapping:
    check_perm(by, Perm.FREEZE_REPORTS)
    mapping = Dhis2Mapping(agency_id=agency_of(by), **fields)
    try:
        mapping.full_clean()
    except Exception as error:  # a ValidationError: shown beside the fields
        errors = getattr(error, "message_dict", {"__all__": [str(error)]})
        raise FieldErrors({name: list(messages) for name, messages in errors.items()}) from error
    mapping.save()
    record(
        "indicators.dhis2.mapped",
        by=by,
        target=mapping,
        agency_id=by.agency_id,
        data={"indicator": mapping.indicator_code, "data_element": mapping.data_element},
    )
    return mapping


@transaction.atomic
def remove_mapping(mapping: Dhis2Mapping, *, by: User) -> None:
    check_perm(by, Perm.FREEZE_REPORTS)
    record(
        "indicators.dhis2.unmapped",
        by=by,
        target=mapping,
        agency_id=by.agency_id,
        data={"indicator": mapping.indicator_code, "data_element": mapping.data_element},
    )
    mapping.delete()
