"""Plan screens: the plan editor, a version's page, participation, approval, reviews, the queue.

Each view loads the case through the access gate (writes with write=True), then the plan within
that case, validates a form, calls one service, and redirects (or re-renders with the errors).
Deciding on a plan needs APPROVE_PLANS in the case's own team; anyone else gets the same 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm, Sensitive
from casework.cases import access
from casework.cases.models import Case
from casework.core.errors import CaseworkError, FieldErrors
from casework.core.views import render_form, run_service_form, then_redirect
from casework.plans import access as plan_access
from casework.plans import services
from casework.plans.forms import (
    DecisionForm,
    MatchDecisionForm,
    ParticipationForm,
    PlanEditor,
    ReviewForm,
    RevisionForm,
)
from casework.plans.models import (
    CasePlan,
    GoalProgress,
    Participation,
    PlanDecision,
    PlanMatch,
)

PAGE_SIZE = 25


# --- writing the plan ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    case = access.get_case_for_user(user, pk, write=True)
    existing = services.latest_plan(case)
    if existing is not None:
        return redirect("plans:detail", pk=case.pk, plan_pk=existing.pk)
    editor = PlanEditor(request.POST or None)
    if request.method == "GET":
        editor.form.initial["planned_on"] = timezone.localdate()
    if request.method == "POST" and editor.is_valid():
        try:
            plan = services.create_plan(case, by=user, content=editor.content())
        except FieldErrors as error:
            editor.add_service_errors(error)
        except CaseworkError as error:
            editor.form.add_error(None, str(error.message))
        else:
            messages.success(request, _("Plan saved as a draft."))
            return redirect("plans:detail", pk=case.pk, plan_pk=plan.pk)
    return render_form(
        request,
        "plans/plan_form.html",
        {"case": case, "editor": editor, "plan": None},
        invalid=editor.has_errors,
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: AuthenticatedHttpRequest, pk: int, plan_pk: int) -> HttpResponse:
    user = request.user
    case = access.get_case_for_user(user, pk, write=True)
    plan = plan_access.plan_of_case(case, plan_pk)
    if not plan.is_open or not services.is_current(plan):
        messages.error(request, _("This version can no longer be changed."))
        return redirect("plans:detail", pk=case.pk, plan_pk=plan.pk)
    editor = PlanEditor(request.POST or None, plan=plan)
    if request.method == "POST" and editor.is_valid():
        try:
            services.update_plan(
                plan,
                by=user,
                content=editor.content(),
                expected_revision=editor.form.cleaned_data["revision"] or 0,
            )
        except FieldErrors as error:
            editor.add_service_errors(error)
        except CaseworkError as error:
            editor.form.add_error(None, str(error.message))
        else:
            messages.success(request, _("Plan saved."))
            return redirect("plans:detail", pk=case.pk, plan_pk=plan.pk)
    return render_form(
        request,
        "plans/plan_form.html",
        {
            "case": case,
            "editor": editor,
            "plan": plan,
            "returned": plan.decisions.filter(kind=PlanDecision.Kind.RETURNED)
            .select_related("by")
            .order_by("-at", "-id")
            .first()
            if plan.status == CasePlan.Status.RETURNED
            else None,
        },
        invalid=editor.has_errors,
    )


@login_required
@require_http_methods(["POST"])
def revise(request: AuthenticatedHttpRequest, pk: int, plan_pk: int) -> HttpResponse:
    user = request.user
    case = access.get_case_for_user(user, pk, write=True)
    plan = plan_access.plan_of_case(case, plan_pk)
    form = RevisionForm(request.POST)
    planned_on = form.cleaned_data.get("planned_on") if form.is_valid() else None
    try:
        new = services.revise_plan(plan, by=user, planned_on=planned_on)
    except CaseworkError as error:
        messages.error(request, str(error.message))
        return redirect("plans:detail", pk=case.pk, plan_pk=plan.pk)
    messages.success(
        request,
        _("Version %(version)s started from the previous one; the earlier version is kept.")
        % {"version": new.version},
    )
    return redirect("plans:edit", pk=case.pk, plan_pk=new.pk)


# --- a version's page ---------------------------------------------------------------------------


@login_required
def detail(request: AuthenticatedHttpRequest, pk: int, plan_pk: int) -> HttpResponse:
    user = request.user
    case = access.get_case_for_user(user, pk)
    plan = plan_access.plan_of_case(case, plan_pk)
    can_write = access.may_write(user, case)
    versions = list(case.plans.only("pk", "version", "status", "planned_on").order_by("-version"))
    current = versions[0].pk == plan.pk
    goals = list(
        plan.goals.prefetch_related(
            Prefetch("progress", queryset=GoalProgress.objects.select_related("review"))
        )
    )
    actions = list(plan.actions.select_related("goal"))
    flags = services.individualisation(plan)
    other_case_ids = {m.other_plan.case_id for m in flags.matches} | {
        m.plan.case_id for m in flags.matches
    }
    other_case_ids |= set(flags.same_as_case_ids)
    other_case_ids.discard(case.pk)
    # Another person's case is named only to those who may open it.
    visible_others = dict(
        access.visible_cases(user).filter(pk__in=other_case_ids).values_list("pk", "reference")
    )
    can_decide = plan_access.can_decide(case, user)
    context = {
        "case": case,
        "plan": plan,
        "versions": versions,
        "is_current": current,
        "needs": list(plan.needs.all()),
        "goals": goals,
        "actions": actions,
        "participation": Participation.objects.filter(plan=plan)
        .select_related("recorded_by")
        .first(),
        "decisions": list(plan.decisions.select_related("by")),
        "reviews": list(
            plan.reviews.select_related("by").prefetch_related(
                Prefetch("progress", queryset=GoalProgress.objects.select_related("goal")),
                "action_updates__action",
            )
        ),
        "flags": flags,
        "visible_others": visible_others,
        "show_text": user.sees(Sensitive.FREE_TEXT),
        "can_write": can_write,
        "can_edit": can_write and current and plan.is_open and case.is_open,
        "can_revise": can_write and current and plan.status == CasePlan.Status.APPROVED,
        "can_review": can_write and current and plan.status == CasePlan.Status.APPROVED,
        "can_decide": can_decide and plan.status == CasePlan.Status.SUBMITTED,
        "can_decide_matches": can_decide,
        "missing": services.missing_for_submission(plan)
        if can_write and current and plan.is_open
        else [],
        "match_form": MatchDecisionForm() if can_decide else None,
        "revision_form": RevisionForm(),
        "is_child": services.is_child(case),
        # A need the plan names that no service answers is recorded as an unmet need (the
        # referrals app's screen, reached by its URL).
        "record_gaps": can_write and current and case.is_open,
    }
    return render(request, "plans/plan_detail.html", context)


# --- participation ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def participation(request: AuthenticatedHttpRequest, pk: int, plan_pk: int) -> HttpResponse:
    user = request.user
    case = access.get_case_for_user(user, pk, write=True)
    plan = plan_access.plan_of_case(case, plan_pk)
    child = services.is_child(case)
    form = ParticipationForm(request.POST or None, child=child)
    existing = Participation.objects.filter(plan=plan).first()
    if existing is not None and request.method == "GET":
        form.initial_from(existing)
    return run_service_form(
        request,
        form,
        lambda data: services.record_participation(plan, by=user, details=form.details()),
        success=_("Participation recorded."),
        redirect_to=then_redirect("plans:detail", pk=case.pk, plan_pk=plan.pk),
        template="plans/participation_form.html",
        context={"case": case, "plan": plan, "child": child},
    )


# --- approval -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["POST"])
def submit(request: AuthenticatedHttpRequest, pk: int, plan_pk: int) -> HttpResponse:
    user = request.user
    case = access.get_case_for_user(user, pk, write=True)
    plan = plan_access.plan_of_case(case, plan_pk)
    try:
        services.submit_plan(plan, by=user)
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Plan sent to the supervisor for approval."))
    return redirect("plans:detail", pk=case.pk, plan_pk=plan.pk)


@login_required
@require_http_methods(["GET", "POST"])
def decide(request: AuthenticatedHttpRequest, pk: int, plan_pk: int) -> HttpResponse:
    user = request.user
    case = plan_access.get_case_for_decider(user, pk)
    plan = plan_access.plan_of_case(case, plan_pk)

    def decide_plan(data: dict[str, Any]) -> str:
        """Approve or return; the message to show after."""
        if data["decision"] == "approve":
            services.approve_plan(plan, by=user, comment=data["comment"])
            return _("Plan approved.")
        services.return_plan(plan, by=user, comment=data["comment"])
        return _("Plan returned to the caseworker with your comments.")

    return run_service_form(
        request,
        DecisionForm(request.POST or None),
        decide_plan,
        success=lambda message: message,
        redirect_to=then_redirect("plans:approvals"),
        template="plans/decide_form.html",
        context={
            "case": case,
            "plan": plan,
            "needs": list(plan.needs.all()),
            "goals": list(plan.goals.all()),
            "actions": list(plan.actions.select_related("goal")),
            "participation": Participation.objects.filter(plan=plan)
            .select_related("recorded_by")
            .first(),
            "flags": services.individualisation(plan),
            "decisions": list(plan.decisions.select_related("by")),
            "show_text": user.sees(Sensitive.FREE_TEXT),
        },
    )


@login_required
def approvals(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The supervisor's queue: plans of their team waiting for a decision, oldest first."""
    user = request.user
    require_perm(user, Perm.APPROVE_PLANS)
    same_text_elsewhere = (
        Case.objects.filter(
            agency_id=OuterRef("case__agency_id"), plan_fold_hash=OuterRef("fold_hash")
        )
        .exclude(plan_fold_hash="")
        .exclude(person_id=OuterRef("case__person_id"))
    )
    plans = (
        CasePlan.objects.waiting_for(user)
        .select_related("case", "case__person", "case__caseworker", "created_by")
        .annotate(
            same_text=Exists(same_text_elsewhere),
            possible_copy=Exists(
                PlanMatch.objects.filter(
                    plan_id=OuterRef("pk"), decision=PlanMatch.Decision.PENDING
                )
            ),
        )
        .order_by("submitted_at", "id")
    )
    page = Paginator(plans, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "plans/approvals.html",
        {"page": page, "show_names": user.sees(Sensitive.NAMES)},
    )


# --- reviews ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def review(request: AuthenticatedHttpRequest, pk: int, plan_pk: int) -> HttpResponse:
    user = request.user
    case = access.get_case_for_user(user, pk, write=True)
    plan = plan_access.plan_of_case(case, plan_pk)
    form = ReviewForm(
        request.POST or None,
        goals=list(plan.goals.all()),
        actions=list(plan.actions.all()),
        initial={"reviewed_on": timezone.localdate()},
    )
    return run_service_form(
        request,
        form,
        lambda data: services.review_plan(plan, by=user, details=form.details()),
        success=_("Review recorded."),
        redirect_to=then_redirect("plans:detail", pk=case.pk, plan_pk=plan.pk),
        template="plans/review_form.html",
        context={"case": case, "plan": plan, "show_text": user.sees(Sensitive.FREE_TEXT)},
    )


# --- near-duplicates ----------------------------------------------------------------------------


@login_required
@require_http_methods(["POST"])
def decide_match(
    request: AuthenticatedHttpRequest, pk: int, plan_pk: int, match_pk: int
) -> HttpResponse:
    user = request.user
    case = plan_access.get_case_for_decider(user, pk)
    plan = plan_access.plan_of_case(case, plan_pk)
    match = services.current_matches(plan).filter(pk=match_pk).first() if plan.fold_hash else None
    if match is None:
        raise Http404(_("No such finding."))
    form = MatchDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose confirm or dismiss."))
    else:
        try:
            services.decide_match(
                match,
                by=user,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
            )
        except CaseworkError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Decision recorded."))
    return redirect("plans:detail", pk=case.pk, plan_pk=plan.pk)
