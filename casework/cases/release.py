"""Consent for release: may this case's information go to this organisation, for this purpose?

Seed 004: a release of information says what, to whom, why and until when. Every disclosure
outside the owning team (referral, transfer to another agency, export with personal data) asks
`authorise_release()` on the server before anything leaves. A role allowed to override may do so
with a written reason; the override is audited. A withdrawn consent permits nothing from the day
it was withdrawn.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.cases.models import Case, Consent, ConsentRecipient, ReleasePurpose
from casework.core.errors import ConsentRequired
from casework.core.text import fold


@dataclass(frozen=True)
class Release:
    """The authority for one disclosure: the consent (and recipient) that covers it, or an
    override with its reason."""

    consent: Consent | None
    recipient: ConsentRecipient | None
    overridden: bool = False


def _same_organisation(recipient: ConsentRecipient, code: str, name: str) -> bool:
    if code and recipient.organisation_code:
        return recipient.organisation_code.lower() == code.lower()
    # A recipient typed by hand may be the organisation's name or its directory code.
    written = fold(recipient.organisation_name)
    return bool(written) and written in {fold(name), fold(code)} - {""}


def covering_consent(
    case: Case,
    *,
    organisation_code: str = "",
    organisation_name: str = "",
    purpose: str,
    information: Iterable[str] = (),
    on: datetime.date | None = None,
) -> tuple[Consent, ConsentRecipient] | None:
    """The active consent and named recipient that cover this release, if any (two queries)."""
    return covering_consents(
        [case.pk],
        organisation_code=organisation_code,
        organisation_name=organisation_name,
        purpose=purpose,
        information=information,
        on=on,
    ).get(case.pk)


CHUNK = 2000


def covering_consents(
    case_ids: Iterable[int],
    *,
    organisation_code: str = "",
    organisation_name: str = "",
    purpose: str,
    information: Iterable[str] = (),
    on: datetime.date | None = None,
) -> dict[int, tuple[Consent, ConsentRecipient]]:
    """For each case whose consent covers the release: the consent and named recipient (the most
    recent consent first). Two queries per 2,000 cases, however many cases."""
    day = on or timezone.localdate()
    wanted = set(information)
    ids = sorted(set(case_ids))
    found: dict[int, tuple[Consent, ConsentRecipient]] = {}
    for start in range(0, len(ids), CHUNK):
        consents = (
            Consent.objects.filter(
                case_id__in=ids[start : start + CHUNK], withdrawn_on=None, given_on__lte=day
            )
            .prefetch_related(
                Prefetch("recipients", queryset=ConsentRecipient.objects.order_by("id"))
            )
            .order_by("case_id", "-given_on", "-id")
        )
        for consent in consents:
            if consent.case_id in found:
                continue
            if purpose == ReleasePurpose.REFERRAL and not consent.share_for_referral:
                continue
            for recipient in consent.recipients.all():
                if recipient.purpose != purpose:
                    continue
                if recipient.valid_until is not None and recipient.valid_until < day:
                    continue
                if not _same_organisation(recipient, organisation_code, organisation_name):
                    continue
                if not wanted.issubset(set(recipient.information or [])):
                    continue
                found[consent.case_id] = (consent, recipient)
                break
    return found


def authorise_release(
    case: Case,
    *,
    by: User,
    purpose: str,
    organisation_code: str = "",
    organisation_name: str = "",
    information: Iterable[str] = (),
    override_reason: str = "",
) -> Release:
    """Allow the release or raise ConsentRequired (403). Call inside the disclosing transaction."""
    information = list(information)
    found = covering_consent(
        case,
        organisation_code=organisation_code,
        organisation_name=organisation_name,
        purpose=purpose,
        information=information,
    )
    if found is not None:
        return Release(consent=found[0], recipient=found[1])
    if override_reason.strip():
        if not by.has_casework_perm(Perm.OVERRIDE_CONSENT):
            record(
                "cases.release.override_denied",
                by=by,
                target=case,
                data={"purpose": purpose},
                outcome="denied",
            )
            raise ConsentRequired(_("Your role cannot override the client's consent."))
        record(
            "cases.release.overridden",
            by=by,
            target=case,
            data={"purpose": purpose, "information": information},
        )
        return Release(consent=None, recipient=None, overridden=True)
    record(
        "cases.release.refused",
        by=by,
        target=case,
        data={"purpose": purpose},
        outcome="denied",
    )
    raise ConsentRequired(
        _(
            "The client's consent does not cover sharing this information with this "
            "organisation for this purpose. Record a new consent first."
        )
    )
