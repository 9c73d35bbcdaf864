"""Spot-check screens (seed 001, verification 3): the samples and the form to draw one, a
sample's plans, and the check of one plan.

Only those with Perm.VERIFY_PLANS reach them (an M&E officer for her agency, a supervisor for his
team); a sample or check outside one's scope is the same 404 as one that does not exist. What a
check shows of the plan follows the role (`selectors.plan_as_shown`).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from casework.accounts import agency_settings
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Sensitive
from casework.core.views import run_service_form
from casework.plans import access, selectors, verification
from casework.plans.agency_settings import CHECKLIST, SAMPLE_PERCENT
from casework.plans.models import SpotCheck, SpotCheckSample
from casework.plans.verification_forms import DrawSampleForm, SpotCheckForm

PAGE_SIZE = 25


@login_required
@require_http_methods(["GET", "POST"])
def spot_checks(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    found = selectors.samples(user)  # the gate: 404 without the permission
    form = DrawSampleForm(request.POST or None)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))

    def draw(data: dict[str, Any]) -> SpotCheckSample:
        return verification.draw_sample(by=user, period=data["period"], seed=data["seed"])

    return run_service_form(
        request,
        form,
        draw,
        success=lambda sample: (
            _("Sample drawn: %(size)s plans to check.") % {"size": sample.checks.count()}
        ),
        redirect_to=lambda sample: HttpResponseRedirect(
            reverse("plans:spot_check_sample", kwargs={"sample_pk": sample.pk})
        ),
        template="plans/spot_checks.html",
        context={
            "page": page,
            "percent": agency_settings.current(user.agency_id or 0, SAMPLE_PERCENT.key),
            "team_only": access.verification_team(user) is not None,
        },
    )


@login_required
@require_GET
def sample(request: AuthenticatedHttpRequest, sample_pk: int) -> HttpResponse:
    found = access.get_sample_for_user(request.user, sample_pk)
    return render(
        request,
        "plans/spot_check_sample.html",
        {"sample": found, "checks": list(selectors.checks_of(found))},
    )


@login_required
@require_http_methods(["GET", "POST"])
def check(request: AuthenticatedHttpRequest, check_pk: int) -> HttpResponse:
    user = request.user
    spot_check: SpotCheck = access.get_spot_check_for_user(user, check_pk)
    checklist = (
        spot_check.checklist
        if spot_check.is_done
        else list(agency_settings.current(spot_check.sample.agency_id, CHECKLIST.key))
    )
    form = SpotCheckForm(request.POST or None, checklist=checklist)

    def record(data: dict[str, Any]) -> SpotCheck:
        return verification.record_check(
            spot_check,
            by=user,
            individualised=data["individualised"],
            criteria_met=data["criteria_met"],
            comment=data["comment"],
        )

    return run_service_form(
        request,
        form,
        record,
        success=_("Spot check recorded."),
        redirect_to=lambda done: HttpResponseRedirect(
            reverse("plans:spot_check_sample", kwargs={"sample_pk": done.sample_id})
        ),
        template="plans/spot_check.html",
        context={
            "check": spot_check,
            "plan": selectors.plan_as_shown(user, spot_check),
            "sees_comment": user.sees(Sensitive.FREE_TEXT) or spot_check.checked_by_id == user.pk,
        },
    )
