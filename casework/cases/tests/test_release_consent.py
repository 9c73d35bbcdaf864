"""Consent for release, checked on the server: what, to whom, why, until when."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.cases import services
from casework.cases.models import Case
from casework.cases.release import authorise_release
from casework.core.errors import ConsentRequired


def _consent_to(case: Case, by: Any, **recipient: Any) -> Any:
    return services.record_consent(
        case,
        by=by,
        details=services.ConsentDetails(
            receive_services=True,
            share_for_referral=True,
            recipients=[services.RecipientDetails(**recipient)],
        ),
    )


def test_it_allows_what_the_client_agreed(case: Case, amina: Any) -> None:
    _consent_to(
        case,
        amina,
        organisation_name="Hope Clinic",
        organisation_code="HOPE",
        information=["case_summary"],
    )
    release = authorise_release(
        case, by=amina, purpose="referral", organisation_code="hope", information=["case_summary"]
    )
    assert release.consent is not None and not release.overridden


@pytest.mark.parametrize(
    "ask",
    [
        {"organisation_code": "OTHER", "information": ["case_summary"]},  # another organisation
        {"organisation_code": "HOPE", "information": ["health"]},  # more than agreed
        {"organisation_code": "HOPE", "information": [], "purpose": "export"},  # another purpose
    ],
)
def test_it_refuses_anything_else_and_audits_the_refusal(
    case: Case, amina: Any, ask: dict[str, Any]
) -> None:
    _consent_to(
        case,
        amina,
        organisation_name="Hope Clinic",
        organisation_code="HOPE",
        information=["case_summary"],
    )
    purpose = ask.pop("purpose", "referral")
    with pytest.raises(ConsentRequired):
        authorise_release(case, by=amina, purpose=purpose, **ask)
    assert AuditEntry.objects.filter(action="cases.release.refused", case_id=case.pk).exists()


def test_withdrawal_and_expiry_stop_future_disclosure(case: Case, amina: Any) -> None:
    consent = _consent_to(case, amina, organisation_name="Hope Clinic", information=[])
    authorise_release(case, by=amina, purpose="referral", organisation_name="hope clinic")
    services.withdraw_consent(consent, by=amina)
    with pytest.raises(ConsentRequired):
        authorise_release(case, by=amina, purpose="referral", organisation_name="Hope Clinic")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    _consent_to(case, amina, organisation_name="Hope Clinic", valid_until=yesterday)
    with pytest.raises(ConsentRequired):
        authorise_release(case, by=amina, purpose="referral", organisation_name="Hope Clinic")


def test_only_an_allowed_role_overrides_with_a_reason(case: Case, amina: Any, sam: Any) -> None:
    with pytest.raises(ConsentRequired):
        authorise_release(
            case, by=amina, purpose="referral", organisation_name="Hope", override_reason="urgent"
        )
    release = authorise_release(
        case,
        by=sam,
        purpose="referral",
        organisation_name="Hope",
        override_reason="Life-threatening injury",
    )
    assert release.overridden
    entry = AuditEntry.objects.get(action="cases.release.overridden")
    assert entry.actor == sam and "Life" not in str(entry.data)
