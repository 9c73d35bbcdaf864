"""Consent for release, rule by rule (seed 004: what, to whom, why, until when): the last day of a
consent, the referral flag, an organisation named by hand or by code, the most recent consent of
each case, and what an override needs."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.cases import services
from casework.cases.models import Case, ReleasePurpose
from casework.cases.release import authorise_release, covering_consents
from casework.core.errors import ConsentRequired


def _consent_to(case: Case, by: Any, *, share_for_referral: bool = True, **recipient: Any) -> Any:
    return services.record_consent(
        case,
        by=by,
        details=services.ConsentDetails(
            receive_services=True,
            share_for_referral=share_for_referral,
            recipients=[services.RecipientDetails(**recipient)],
        ),
    )


def _allowed(case: Case, by: Any, **ask: Any) -> bool:
    try:
        authorise_release(case, by=by, **{"purpose": ReleasePurpose.REFERRAL, **ask})
    except ConsentRequired:
        return False
    return True


def test_a_consent_still_covers_its_last_day(case: Case, amina: Any) -> None:
    _consent_to(case, amina, organisation_name="Hope Clinic", valid_until=timezone.localdate())
    assert _allowed(case, amina, organisation_name="Hope Clinic")


def test_a_consent_not_shared_for_referrals_covers_other_purposes_only(
    case: Case, amina: Any
) -> None:
    for purpose in (ReleasePurpose.REFERRAL, ReleasePurpose.TRANSFER):
        _consent_to(
            case, amina, share_for_referral=False, organisation_name="Hope", purpose=purpose
        )
    assert not _allowed(case, amina, organisation_name="Hope")
    assert _allowed(case, amina, organisation_name="Hope", purpose=ReleasePurpose.TRANSFER)


@pytest.mark.parametrize(
    ("recipient", "ask", "allowed"),
    [
        # Both sides have a code: the code decides, whatever the names say.
        (
            {"organisation_name": "Hope", "organisation_code": "HOPE"},
            {"organisation_code": "hope", "organisation_name": "Other"},
            True,
        ),
        (
            {"organisation_name": "Hope", "organisation_code": "HOPE"},
            {"organisation_code": "CARE", "organisation_name": "Hope"},
            False,
        ),
        # A recipient written by hand, without a code: its name, or a code written as its name.
        (
            {"organisation_name": "Hope Clinic"},
            {"organisation_code": "HOPE-01", "organisation_name": "hope clinic"},
            True,
        ),
        ({"organisation_name": "HOPE-01"}, {"organisation_code": "hope-01"}, True),
        ({"organisation_name": "Hope Clinic"}, {"organisation_name": "Care Clinic"}, False),
        # A code the recipient lacks does not stand in for a name.
        ({"organisation_name": "Hope Clinic"}, {"organisation_code": "HOPE"}, False),
        # A recipient with neither name nor code is no one, even for a request that names no one.
        ({"organisation_name": ""}, {}, False),
        ({"organisation_name": "Hope Clinic"}, {}, False),
    ],
)
def test_the_organisation_is_the_one_the_client_named(
    case: Case, amina: Any, recipient: dict[str, str], ask: dict[str, str], allowed: bool
) -> None:
    _consent_to(case, amina, **dict[str, Any](recipient))
    assert _allowed(case, amina, **ask) is allowed


def test_each_case_is_answered_by_its_most_recent_covering_consent(
    register: Any, amina: Any
) -> None:
    first, second, third = (register(amina, given_name=name) for name in ("Ana", "Bea", "Cy"))
    older = _consent_to(first, amina, organisation_name="Hope")
    newer = _consent_to(first, amina, organisation_name="Hope")
    only = _consent_to(second, amina, organisation_name="Hope")
    _consent_to(third, amina, organisation_name="Care")
    found = covering_consents(
        [third.pk, second.pk, first.pk, first.pk],
        organisation_name="Hope",
        purpose=ReleasePurpose.REFERRAL,
    )
    assert {case_id: consent.pk for case_id, (consent, _) in found.items()} == {
        first.pk: newer.pk,
        second.pk: only.pk,
    }
    assert newer.pk > older.pk


def test_a_consent_given_after_the_day_asked_about_does_not_cover_it(
    case: Case, amina: Any
) -> None:
    _consent_to(case, amina, organisation_name="Hope")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    found = covering_consents(
        [case.pk], organisation_name="Hope", purpose=ReleasePurpose.REFERRAL, on=yesterday
    )
    assert found == {}


def test_an_override_needs_a_reason_and_a_role_that_may_override(
    case: Case, amina: Any, sam: Any
) -> None:
    # A blank reason is no reason: refused as without one, not as an override.
    assert not _allowed(case, sam, organisation_name="Hope", override_reason="   ")
    refused = AuditEntry.objects.filter(case_id=case.pk, outcome="denied")
    assert [entry.action for entry in refused] == ["cases.release.refused"]
    assert refused.get().data == {"purpose": "referral"}
    # A caseworker's override is refused, and that refusal is audited as such.
    assert not _allowed(case, amina, organisation_name="Hope", override_reason="Urgent")
    denied = AuditEntry.objects.get(action="cases.release.override_denied")
    assert denied.actor == amina and denied.outcome == "denied" and denied.case_id == case.pk
    # The supervisor's override: no consent, no recipient, and the audit says what went out.
    release = authorise_release(
        case,
        by=sam,
        purpose=ReleasePurpose.EXPORT,
        organisation_name="Hope",
        information=["case_summary"],
        override_reason="Life-threatening injury",
    )
    assert (release.consent, release.recipient, release.overridden) == (None, None, True)
    entry = AuditEntry.objects.get(action="cases.release.overridden")
    assert entry.data == {"purpose": "export", "information": ["case_summary"]}
    assert entry.outcome == "ok"


def test_a_covering_consent_needs_no_override(case: Case, sam: Any) -> None:
    consent = _consent_to(case, sam, organisation_name="Hope", information=["case_summary"])
    release = authorise_release(
        case,
        by=sam,
        purpose=ReleasePurpose.REFERRAL,
        organisation_name="Hope",
        information=["case_summary"],
        override_reason="Not needed",
    )
    assert (release.consent, release.overridden) == (consent, False)
    assert release.recipient is not None and release.recipient.organisation_name == "Hope"
    assert not AuditEntry.objects.filter(action="cases.release.overridden").exists()


def test_every_recipient_and_every_consent_is_weighed_in_turn(register: Any, amina: Any) -> None:
    """One consent's recipients are read in order until one covers the release (a recipient that
    does not is passed over, never the end of the search), the first that covers it is the one
    kept; each case's consents newest first (a newest one without the referral flag passes to the
    older), and every case of the batch is answered."""
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    hope = {"organisation_name": "Hope Clinic", "organisation_code": "HOPE"}
    everything = ["identity", "case_summary"]
    first, second, third = (register(amina, given_name=name) for name in ("Awa", "Binta", "Coumba"))

    def consent(case: Case, *recipients: dict[str, Any], share: bool = True) -> Any:
        return services.record_consent(
            case,
            by=amina,
            details=services.ConsentDetails(
                receive_services=True,
                share_for_referral=share,
                recipients=[services.RecipientDetails(**r) for r in recipients],
            ),
        )

    # The first case: four recipients that do not cover the release, then two that do.
    consent(
        first,
        {**hope, "purpose": ReleasePurpose.TRANSFER, "information": everything},
        {**hope, "valid_until": yesterday, "information": everything},
        {
            "organisation_name": "Other Clinic",
            "organisation_code": "OTH",
            "information": everything,
        },
        {**hope, "information": ["case_summary"]},
        {**hope, "information": everything},
        {**hope, "information": [*everything, "health"]},
    )
    # The second case: an older consent that covers it, and a newer one that covers it too.
    consent(second, {**hope, "information": everything})
    newer = consent(second, {**hope, "information": everything})
    # The third case: its newest consent refuses referrals; the older one allows them.
    older = consent(third, {**hope, "information": everything})
    consent(third, {**hope, "information": everything}, share=False)

    found = covering_consents(
        [first.pk, second.pk, third.pk],
        organisation_code="HOPE",
        purpose=ReleasePurpose.REFERRAL,
        information=everything,
    )
    assert set(found) == {first.pk, second.pk, third.pk}
    assert found[first.pk][1].information == everything  # the first that covers it
    assert found[second.pk][0].pk == newer.pk
    assert found[third.pk][0].pk == older.pk


@pytest.mark.parametrize(("cases", "queries"), [(2000, 1), (2001, 2), (4000, 2)])
def test_consents_are_read_two_thousand_cases_at_a_time(
    cases: int, queries: int, django_assert_num_queries: Any
) -> None:
    """A bulk release (an export of thousands of cases) reads consents in batches of 2,000 case
    ids: one statement each when no consent is found, so no IN-list grows without bound."""
    with django_assert_num_queries(queries):
        assert covering_consents(range(1, cases + 1), purpose=ReleasePurpose.REFERRAL) == {}


def test_the_authority_for_a_release_cannot_be_changed_after_it_is_given(
    case: Case, amina: Any
) -> None:
    _consent_to(case, amina, organisation_name="Hope Clinic", purpose=ReleasePurpose.REFERRAL)
    release = authorise_release(
        case, by=amina, purpose=ReleasePurpose.REFERRAL, organisation_name="Hope Clinic"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        release.overridden = True  # type: ignore[misc]
