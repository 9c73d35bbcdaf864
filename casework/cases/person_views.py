"""A person's page (the cases of theirs the user may see) and opening another case for them.

Persons are seen through their cases (casework/cases/access.get_person_for_user): a person with
no case the user may see is the same 404 as no person at all.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm, Sensitive
from casework.cases import access, merging, screening, services
from casework.cases.forms import OpeningForm
from casework.cases.models import Case, PersonMerge, Screening
from casework.core.errors import CaseworkError
from casework.core.views import run_service_form
from casework.people import services as people
from casework.people.models import Person


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
    undoable = (
        PersonMerge.objects.filter(
            survivor=found,
            undone_at=None,
            merged_at__gte=timezone.now() - merging.unmerge_window(),
        )
        .order_by("-merged_at")
        .first()
        if user.has_casework_perm(Perm.MERGE_PERSONS) and writable
        else None
    )
    context: dict[str, Any] = {
        "undoable": undoable,
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


# --- duplicates and merging ---------------------------------------------------------------------


@login_required
def duplicates(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Possible duplicates found by the nightly job, for a supervisor to review."""
    user = require_perm(request.user, Perm.MERGE_PERSONS)
    pairs = merging.duplicates_for(user)
    return render(
        request,
        "cases/duplicates.html",
        {"pairs": pairs, "show_names": user.sees(Sensitive.NAMES)},
    )


@login_required
@require_http_methods(["POST"])
def dismiss_duplicate(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = require_perm(request.user, Perm.MERGE_PERSONS)
    pair = merging.pair_for(user, pk)
    merging.dismiss(pair.candidate, by=user)
    messages.success(request, _("Recorded as different persons."))
    return redirect("persons:duplicates")


@login_required
@require_http_methods(["GET", "POST"])
def merge(request: AuthenticatedHttpRequest, pk: int, other_pk: int) -> HttpResponse:
    """Both records side by side; for each detail they disagree on, which to keep."""
    user = require_perm(request.user, Perm.MERGE_PERSONS)
    survivor = access.get_person_for_user(user, pk, write=True)
    merged = access.get_person_for_user(user, other_pk, write=True)
    conflicts = merging.conflicts(survivor, merged)
    if request.method == "POST":
        choices = {name: request.POST.get(name, "") for name in conflicts}
        try:
            merging.merge_persons(survivor, merged, by=user, choices=choices)
        except CaseworkError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(
                request,
                _("Merged. The merge can be undone from this page for %(days)s days.")
                % {"days": merging.unmerge_window().days},
            )
            return redirect("persons:detail", pk=survivor.pk)
    rows = [
        {
            "name": name,
            "label": getattr(Person._meta.get_field(name), "verbose_name", name),
            "survivor": getattr(survivor, name),
            "merged": getattr(merged, name),
            "conflict": name in conflicts,
        }
        for name in people.PERSON_FIELDS
    ]
    context = {
        "survivor": survivor,
        "merged": merged,
        "rows": rows,
        "cases": access.visible_cases(user)
        .filter(person_id__in=[survivor.pk, merged.pk])
        .select_related("programme"),
    }
    return render(request, "cases/merge.html", context, status=200)


@login_required
@require_http_methods(["POST"])
def unmerge(request: AuthenticatedHttpRequest, merge_pk: int) -> HttpResponse:
    user = require_perm(request.user, Perm.MERGE_PERSONS)
    done, survivor = merging.merge_for(user, merge_pk)
    try:
        merging.unmerge(done, by=user)
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The merge was undone: these are two records again."))
    return redirect("persons:detail", pk=survivor.pk)
