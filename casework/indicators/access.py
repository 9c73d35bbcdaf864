"""Who may see a frozen report: the only way to load one.

A frozen report holds aggregates only, the same as the indicators page: everyone who may see the
agency's indicators (Perm.VIEW_INDICATORS: supervisors, programme managers, M&E officers) may see
its frozen reports and download them again. Anyone else, and any other agency, gets the same 404
as for a report that does not exist. Freezing one is Perm.FREEZE_REPORTS (frozen.py).
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from casework.accounts.access import agency_of, require_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.indicators.models import FrozenReport


def frozen_reports_for(user: User) -> QuerySet[FrozenReport]:
    """The frozen reports of the user's agency, newest first (404 without the permission)."""
    require_perm(user, Perm.VIEW_INDICATORS)
    return FrozenReport.objects.filter(agency_id=agency_of(user)).select_related(
        "agency", "frozen_by"
    )


def get_frozen_report_for_user(user: User, frozen_id: int) -> FrozenReport:
    found = frozen_reports_for(user).filter(pk=frozen_id).first()
    if found is None:
        raise Http404(_("Not found."))
    return found
