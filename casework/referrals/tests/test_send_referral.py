"""Sending a referral: only what the client's consent covers, a snapshot of only what was chosen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from casework.audit.models import AuditEntry
from casework.cases import services as case_services
from casework.cases.models import Case, Status
from casework.core.errors import CaseworkError, ConsentRequired, FieldErrors
from casework.referrals import services
from casework.referrals.models import Referral, ReferralEvent, Service


def test_it_sends_with_consent_and_keeps_a_snapshot_of_only_the_chosen_information(
    referral: Referral, case: Case, amina: Any
) -> None:
    assert referral.status == Referral.Status.SENT
    assert referral.information == ["case_summary"]
    assert referral.consent is not None and not referral.consent_overridden
    shared = referral.shared_information
    assert set(shared["sections"]) == {"case_summary"}
    assert shared["sections"]["case_summary"]["summary"] == "Needs a check-up after an injury."
    assert "Fatima" not in referral.shared and "Traoré" not in referral.shared
    event = ReferralEvent.objects.get(referral=referral)
    assert (event.status, event.by) == ("sent", amina)
    entry = AuditEntry.objects.get(action="referrals.referral.sent")
    assert entry.case_id == case.pk and entry.data["information"] == ["case_summary"]


def test_the_snapshot_is_encrypted_at_rest(referral: Referral) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT shared FROM referrals_referral WHERE id = %s", [referral.pk])
        (raw,) = cursor.fetchone()
    assert raw.startswith("cw1$") and "check-up" not in raw


def test_it_shares_identity_and_contact_only_when_chosen_and_agreed(
    case: Case, amina: Any, clinic_care: Service, consent_to: Callable[..., Any], refer: Any
) -> None:
    consent_to(case, amina, "PRT", ("case_summary", "identity", "contact"))
    referral = refer(case, amina, clinic_care, information=["identity", "case_summary"])
    sections = referral.shared_information["sections"]
    assert sections["identity"]["given_name"] == "Fatima"
    assert "contact" not in sections
    assert referral.information == ["case_summary", "identity"]


def _no_consent(case: Case, amina: Any, consent_to: Any) -> None:
    pass


def _withdrawn(case: Case, amina: Any, consent_to: Any) -> None:
    consent = consent_to(case, amina, "PRT", ("case_summary",))
    case_services.withdraw_consent(consent, by=amina)


def _other_organisation(case: Case, amina: Any, consent_to: Any) -> None:
    consent_to(case, amina, "LAW", ("case_summary", "identity"))


def _less_than_asked(case: Case, amina: Any, consent_to: Any) -> None:
    consent_to(case, amina, "PRT", ("case_summary",))


@pytest.mark.parametrize(
    "situation", [_no_consent, _withdrawn, _other_organisation, _less_than_asked]
)
def test_it_refuses_without_a_consent_that_covers_the_release_and_writes_nothing(
    case: Case,
    amina: Any,
    clinic_care: Service,
    consent_to: Callable[..., Any],
    refer: Any,
    situation: Callable[..., None],
) -> None:
    situation(case, amina, consent_to)
    with pytest.raises(ConsentRequired):
        refer(case, amina, clinic_care, information=["case_summary", "identity"])
    assert not Referral.objects.exists()
    assert not ReferralEvent.objects.exists()
    # The refusal itself stays on record even though the attempt wrote nothing.
    assert AuditEntry.objects.filter(action="cases.release.refused", case_id=case.pk).exists()


def test_a_supervisor_overrides_with_a_written_reason(
    case: Case, sam: Any, clinic_care: Service, refer: Any
) -> None:
    referral = refer(
        case, sam, clinic_care, override_reason="Life-threatening injury; client unconscious."
    )
    assert referral.consent_overridden and referral.consent is None
    assert referral.override_reason.startswith("Life-threatening")
    overridden = AuditEntry.objects.get(action="cases.release.overridden")
    assert overridden.actor == sam and "Life" not in str(overridden.data)
    assert AuditEntry.objects.get(action="referrals.referral.sent").data["overridden"] is True


def test_a_caseworker_cannot_override(
    case: Case, amina: Any, clinic_care: Service, refer: Any
) -> None:
    with pytest.raises(ConsentRequired):
        refer(case, amina, clinic_care, override_reason="I think it is fine.")
    assert not Referral.objects.exists()
    assert AuditEntry.objects.filter(action="cases.release.override_denied").exists()


def test_the_default_shares_the_case_summary_only(
    case: Case, amina: Any, clinic_care: Service, consent_to: Any, refer: Any
) -> None:
    consent_to(case, amina, "PRT", ("case_summary", "identity", "contact", "health"))
    referral = refer(case, amina, clinic_care)
    assert referral.information == ["case_summary"]


def test_text_written_for_an_item_not_chosen_is_refused_not_dropped(
    case: Case, amina: Any, clinic_care: Service, consent_to: Any, refer: Any
) -> None:
    consent_to(case, amina)
    with pytest.raises(FieldErrors) as error:
        refer(case, amina, clinic_care, health_notes="HIV positive")
    assert "health_notes" in error.value.errors
    assert not Referral.objects.exists()


def test_a_childs_referral_records_the_accompanying_adult(
    register: Any, amina: Any, clinic_care: Service, consent_to: Any, refer: Any
) -> None:
    child = register(amina, given_name="Awa", age=12)
    consent_to(child, amina, "PRT", ("case_summary",))
    with pytest.raises(FieldErrors) as error:
        refer(child, amina, clinic_care)
    assert {"accompanied_by", "accompanied_by_name"} <= set(error.value.errors)
    referral = refer(
        child, amina, clinic_care, accompanied_by="caregiver", accompanied_by_name="Hawa Traoré"
    )
    assert referral.accompanied_by == "caregiver"
    assert referral.accompanied_by_name == "Hawa Traoré"
    # Identity was not shared, so the partner learns who comes, not their name.
    assert referral.shared_information["accompanied_by"] == {
        "relationship": "caregiver",
        "name": "",
    }


def test_a_closed_case_is_not_referred(
    case: Case, amina: Any, clinic_care: Service, consent_to: Any, refer: Any
) -> None:
    consent_to(case, amina)
    Case.objects.filter(pk=case.pk).update(status=Status.CLOSED)
    case.refresh_from_db()
    with pytest.raises(CaseworkError):
        refer(case, amina, clinic_care)


def test_an_open_referral_for_the_same_need_and_service_is_not_sent_twice(
    referral: Referral, case: Case, amina: Any, clinic_care: Service, refer: Any
) -> None:
    with pytest.raises(CaseworkError) as error:
        refer(case, amina, clinic_care)
    assert error.value.code == "duplicate_referral"


def test_the_answer_is_due_after_the_services_agreed_time(referral: Referral) -> None:
    assert (referral.answer_due_at - referral.sent_at).days == 3


def test_a_caseworker_of_another_team_cannot_send(
    case: Case, omar: Any, clinic_care: Service, amina: Any, consent_to: Any
) -> None:
    consent_to(case, amina)
    with pytest.raises(CaseworkError):
        services.send_referral(
            case, by=omar, details=services.ReferralDetails(service=clinic_care, need_code="health")
        )
