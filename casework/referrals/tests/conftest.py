"""The directory every referral test uses.

- areas: North region ⊃ Lakeside district ⊃ Harbour ward; South region apart.
- clinic (code PRT): priya's organisation (the `partner_agency`), health care in the North region.
- lawyers (code LAW): another partner organisation with its own partner user, pablo; legal aid
  nationwide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from casework.cases import services as case_services
from casework.cases.models import Case
from casework.reference.services import add_location
from casework.referrals import services
from casework.referrals.models import Organisation, Referral, Service


@pytest.fixture
def areas(db: Any) -> dict[str, Any]:
    north = add_location(code="NR", name="North region")
    lakeside = add_location(code="NR-LK", name="Lakeside district", parent=north)
    harbour = add_location(code="NR-LK-HB", name="Harbour ward", parent=lakeside)
    south = add_location(code="SR", name="South region")
    return {"north": north, "lakeside": lakeside, "harbour": harbour, "south": south}


@pytest.fixture
def clinic(partner_agency: Any) -> Organisation:
    return Organisation.objects.create(
        code="PRT", name="Partner Clinic", agency=partner_agency, referral_method="form"
    )


@pytest.fixture
def clinic_care(clinic: Organisation, areas: dict[str, Any]) -> Service:
    service = Service.objects.create(
        organisation=clinic,
        name="General health care",
        sector="health",
        answer_within_days=3,
        languages="English, French",
    )
    service.locations.set([areas["north"]])
    return service


@pytest.fixture
def other_partner_agency(db: Any) -> Any:
    from casework.accounts.models import Agency

    return Agency.objects.create(
        code="LAW", name="Lawyers", kind=Agency.Kind.SERVICE_PROVIDER, require_mfa=False
    )


@pytest.fixture
def pablo(make_user: Any, other_partner_agency: Any) -> Any:
    return make_user("pablo", agency=other_partner_agency, role="partner")


@pytest.fixture
def lawyers(other_partner_agency: Any) -> Organisation:
    return Organisation.objects.create(code="LAW", name="Lawyers", agency=other_partner_agency)


@pytest.fixture
def legal_aid(lawyers: Organisation) -> Service:
    return Service.objects.create(
        organisation=lawyers, name="Legal aid", sector="legal", nationwide=True
    )


@pytest.fixture
def consent_to() -> Callable[..., Any]:
    """Record the client's consent to share `information` with the organisation `code` (a
    child's through the caregiver, with the child's assent)."""

    def consent(
        case: Case, by: Any, code: str = "PRT", information: tuple[str, ...] = ("case_summary",)
    ) -> Any:
        child = services.is_child(case)
        return case_services.record_consent(
            case,
            by=by,
            details=case_services.ConsentDetails(
                receive_services=True,
                given_by="caregiver" if child else "client",
                child_assent=True if child else None,
                share_for_referral=True,
                recipients=[
                    case_services.RecipientDetails(
                        organisation_name=code.title(),
                        organisation_code=code,
                        information=list(information),
                    )
                ],
            ),
        )

    return consent


@pytest.fixture
def refer() -> Callable[..., Referral]:
    def send(case: Case, by: Any, service: Service, **details: Any) -> Referral:
        details.setdefault("need_code", service.sector)
        return services.send_referral(
            case, by=by, details=services.ReferralDetails(service=service, **details)
        )

    return send


@pytest.fixture
def referral(
    case: Case,
    amina: Any,
    clinic_care: Service,
    consent_to: Callable[..., Any],
    refer: Callable[..., Referral],
) -> Referral:
    """Amina's case referred to priya's clinic, sharing the case summary only."""
    consent_to(case, amina, "PRT", ("case_summary",))
    return refer(case, amina, clinic_care, summary="Needs a check-up after an injury.")
