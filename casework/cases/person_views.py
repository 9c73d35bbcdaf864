"""A person's page (the cases of theirs the user may see) and opening another case for them.

Persons are seen through their cases (casework/cases/access.get_person_for_user): a person with
no case the user may see is the same 404 as no person at all.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm, Sensitive
from casework.cases import access, screening, services
from casework.cases.forms import OpeningForm
from casework.cases.models import Case, Screening
from casework.core.views import run_service_form


@login_required
def person(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    found = access.get_person_for_user(user, pk)
    cases = (
        access.visible_cases(user)
        .filter(person_id=found.pk)
        .select_related("programme", "caseworker", "team")
        .order_by("registered_on", "id")
    )
    writable = access.writable_cases(user).filter(person_id=found.pk).exists()
    context: dict[str, Any] = {
        "person": found,
        "cases": cases,
        "may_open": writable and user.has_casework_perm(Perm.REGISTER_CASES),
        "show_names": user.sees(Sensitive.NAMES),
        "show_contact": user.sees(Sensitive.CONTACT),
        "show_birth_date": user.sees(Sensitive.BIRTH_DATE),
    }
    return render(request, "cases/person.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def open_case(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Another case for this person (e.g. MHPSS beside case management): counted once."""
    user = request.user
    require_perm(user, Perm.REGISTER_CASES)
    found = access.get_person_for_user(user, pk, write=True)
    form = OpeningForm(
        request.POST or None, user=user, initial={"screening": request.GET.get("screening")}
    )

    @transaction.atomic
    def open_for(data: dict[str, Any]) -> Case:
        details, consent, caregiver = form.opening()
        case = services.open_case(
            found, by=user, details=details, consent=consent, caregiver=caregiver
        )
        screening.settle_screening(
            data.get("screening"), by=user, case=case, choice=Screening.Choice.EXISTING_PERSON
        )
        return case

    return run_service_form(
        request,
        form,
        open_for,
        success=lambda case: (
            _("Case %(ref)s opened for %(person)s.")
            % {"ref": case.reference, "person": found.reference}
        ),
        redirect_to=lambda case: redirect("cases:detail", pk=case.pk),
        template="cases/open_case.html",
        context={"person": found, "show_names": user.sees(Sensitive.NAMES)},
    )
