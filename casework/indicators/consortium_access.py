"""Who may see a consortium report, and who may agree to share with a lead.

The consortium report is the lead agency's: its M&E officers and programme managers see it
(Perm.FREEZE_REPORTS: they send reports to donors and clusters). A member's users never see it,
nor any other member's figures: each sees its own agency's report only. Anyone else, and any
agency that leads no consortium, gets the same 404 as for a page that does not exist.
Agreements are an agency's configuration: its administrators (Perm.MANAGE_CONFIGURATION) propose
and revoke them as member, accept or refuse them as lead; they see their agency's agreements,
as member or as lead. The lead's users see the consortium report once it has accepted one.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from casework.accounts.access import agency_of, refusal, require_perm
from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm
from casework.indicators.consortium_models import ConsortiumAgreement


def lead_for(user: User) -> Agency:
    """The user's agency, if it leads a consortium and the user may see its report (else 404)."""
    require_perm(user, Perm.VIEW_INDICATORS)
    require_perm(user, Perm.FREEZE_REPORTS)
    agency_id = agency_of(user)
    if not ConsortiumAgreement.objects.filter(
        lead_id=agency_id, accepted_at__isnull=False
    ).exists():
        raise refusal("access.denied", by=user, data={"page": "consortium"})
    return Agency.objects.get(pk=agency_id)


def agreements_for(user: User) -> QuerySet[ConsortiumAgreement]:
    """The agreements the user's agency made (as member) or received (as lead)."""
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    agency_id = agency_of(user)
    return ConsortiumAgreement.objects.filter(
        Q(member_id=agency_id) | Q(lead_id=agency_id)
    ).select_related("member", "lead", "agreed_by", "revoked_by", "accepted_by", "refused_by")


def get_own_agreement(user: User, pk: int) -> ConsortiumAgreement:
    """An agreement the user's agency made as member (the only side that may revoke it)."""
    found = agreements_for(user).filter(pk=pk, member_id=user.agency_id).first()
    if found is None:
        raise Http404(_("Not found."))
    return found


def get_received_agreement(user: User, pk: int) -> ConsortiumAgreement:
    """An agreement proposed to the user's agency as lead (the only side that may accept it)."""
    found = agreements_for(user).filter(pk=pk, lead_id=user.agency_id).first()
    if found is None:
        raise Http404(_("Not found."))
    return found
