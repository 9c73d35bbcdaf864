"""HTML forms for plans. They parse and check the shape of input; the rules live in services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from casework.core.forms import DateInput, ServiceForm, choice_field
from casework.plans import services
from casework.plans.models import (
    CasePlan,
    GoalProgress,
    NeedDomain,
    Participation,
    ParticipationWay,
    PlanAction,
    PlanGoal,
    PlanMatch,
)

YES_NO_UNKNOWN = [("", _("Not recorded")), ("yes", _("Yes")), ("no", _("No"))]


def _text(label: Any, *, rows: int = 3, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _as_yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


class PlanForm(ServiceForm):
    """The prose parts of the plan (seed 003) and the roles of client and caseworker (seed 004)."""

    planned_on = forms.DateField(label=_("Date of the plan"), widget=DateInput())
    summary = _text(
        _("Summary and check-in"),
        help_text=_("Where things stand, and how the client is today, in a few lines."),
    )
    client_responsibilities = _text(_("What the client will do"), rows=2)
    caseworker_responsibilities = _text(_("What the caseworker will do"), rows=2)
    safety_plan = _text(
        _("Safety plan"), help_text=_("Risks, warning signs, who to call, where to go.")
    )
    referrals = _text(_("Referrals and accompaniment"), rows=2)
    follow_up_schedule = _text(
        _("Follow-up schedule"),
        rows=2,
        help_text=_("For example: phone call weekly, home visit monthly."),
    )
    next_review_on = forms.DateField(label=_("Next review"), required=False, widget=DateInput())
    supervision_notes = _text(_("Supervision"), rows=2)
    is_group = forms.BooleanField(
        label=_("This plan was written for a group of survivors, not for this person alone"),
        required=False,
    )
    revision = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def initial_from(self, plan: CasePlan) -> None:
        for name in (
            *services.PROSE_FIELDS,
            "planned_on",
            "next_review_on",
            "is_group",
            "revision",
        ):
            self.initial[name] = getattr(plan, name)


class NeedForm(forms.Form):
    id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    domain = forms.ChoiceField(
        label=_("Domain"), choices=[("", "—"), *NeedDomain.choices], required=False
    )
    description = _text(_("The need, as the client and the caseworker see it"), rows=2)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.has_changed() and not data.get("DELETE") and not data.get("domain"):
            self.add_error("domain", _("Choose the domain of this need."))
        return data


class GoalForm(forms.Form):
    id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    text = _text(_("Goal"), rows=2)
    term = forms.ChoiceField(
        label=_("Term"), choices=PlanGoal.Term.choices, initial=PlanGoal.Term.SHORT
    )
    domain = forms.ChoiceField(
        label=_("Domain"), choices=[("", "—"), *NeedDomain.choices], required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.has_changed() and not data.get("DELETE") and not (data.get("text") or "").strip():
            self.add_error("text", _("Write the goal, or tick “Delete”."))
        return data


class ActionForm(forms.Form):
    id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    description = _text(_("Action"), rows=2)
    goal = forms.ChoiceField(label=_("For goal"), choices=[("", "—")], required=False)
    responsible = forms.ChoiceField(
        label=_("Who is responsible"),
        choices=[("", "—"), *PlanAction.Responsible.choices],
        required=False,
    )
    responsible_name = forms.CharField(
        label=_("Organisation (and contact)"), max_length=200, required=False
    )
    due_on = forms.DateField(label=_("Due"), required=False, widget=DateInput())
    status = forms.ChoiceField(
        label=_("Status"), choices=PlanAction.Status.choices, initial=PlanAction.Status.PLANNED
    )

    def __init__(self, *args: Any, goal_count: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "goal").choices = [("", "—")] + [
            (str(number), _("Goal %(number)s") % {"number": number})
            for number in range(1, goal_count + 1)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.has_changed() and not data.get("DELETE"):
            if not (data.get("description") or "").strip():
                self.add_error("description", _("Describe the action, or tick “Delete”."))
            if not data.get("responsible"):
                self.add_error("responsible", _("Say who is responsible."))
        return data


NeedFormSet = forms.formset_factory(NeedForm, extra=1, can_delete=True)
GoalFormSet = forms.formset_factory(GoalForm, extra=2, can_delete=True)
ActionFormSet = forms.formset_factory(ActionForm, extra=2, can_delete=True)


class PlanEditor:
    """The plan form and its three lists (needs, goals, actions), read and written together."""

    def __init__(self, data: Any = None, *, plan: CasePlan | None = None) -> None:
        initial_needs: list[dict[str, Any]] = []
        initial_goals: list[dict[str, Any]] = []
        initial_actions: list[dict[str, Any]] = []
        self.form = PlanForm(data)
        if plan is not None:
            self.form.initial_from(plan)
            goals = list(plan.goals.all())
            numbers = {goal.pk: str(position) for position, goal in enumerate(goals, start=1)}
            initial_needs = [
                {"id": n.pk, "domain": n.domain, "description": n.description}
                for n in plan.needs.all()
            ]
            initial_goals = [
                {"id": g.pk, "text": g.text, "term": g.term, "domain": g.domain} for g in goals
            ]
            initial_actions = [
                {
                    "id": a.pk,
                    "description": a.description,
                    "goal": numbers.get(a.goal_id or 0, ""),
                    "responsible": a.responsible,
                    "responsible_name": a.responsible_name,
                    "due_on": a.due_on,
                    "status": a.status,
                }
                for a in plan.actions.all()
            ]
            if not goals and not initial_actions and plan.text.strip():
                # An imported plan: its text as written, as a first goal to split up.
                initial_goals = [{"text": plan.text, "term": PlanGoal.Term.LONG}]
        self.needs = NeedFormSet(data, initial=initial_needs or None, prefix="needs")
        self.goals = GoalFormSet(data, initial=initial_goals or None, prefix="goals")
        goal_count = self.goals.total_form_count()
        self.actions = ActionFormSet(
            data,
            initial=initial_actions or None,
            prefix="actions",
            form_kwargs={"goal_count": goal_count},
        )

    def is_valid(self) -> bool:
        # Evaluate all four so every error shows at once.
        results = [self.form.is_valid(), self.needs.is_valid(), self.goals.is_valid()]
        results.append(self.actions.is_valid())
        return all(results)

    @property
    def has_errors(self) -> bool:
        return bool(
            self.form.errors
            or any(self.needs.errors)
            or any(self.goals.errors)
            or any(self.actions.errors)
            or self.needs.non_form_errors()
            or self.goals.non_form_errors()
            or self.actions.non_form_errors()
        )

    @staticmethod
    def _kept(formset: Any) -> list[tuple[int, dict[str, Any]]]:
        kept = []
        for index, form in enumerate(formset.forms):
            data = form.cleaned_data
            # An untouched blank row has no cleaned data (formsets skip validating it).
            if data and not data.get("DELETE"):
                kept.append((index, data))
        return kept

    def content(self) -> services.PlanContent:
        data = self.form.cleaned_data
        return services.PlanContent(
            planned_on=data["planned_on"],
            is_group=data["is_group"],
            next_review_on=data.get("next_review_on"),
            **{name: data.get(name) or "" for name in services.PROSE_FIELDS},
            needs=[
                services.NeedInput(
                    domain=item["domain"],
                    description=item.get("description") or "",
                    id=item.get("id"),
                )
                for _index, item in self._kept(self.needs)
            ],
            goals=[
                services.GoalInput(
                    text=item.get("text") or "",
                    term=item["term"],
                    domain=item.get("domain") or "",
                    id=item.get("id"),
                    ref=str(index + 1),
                )
                for index, item in self._kept(self.goals)
            ],
            actions=[
                services.ActionInput(
                    description=item.get("description") or "",
                    responsible=item.get("responsible") or "",
                    responsible_name=item.get("responsible_name") or "",
                    due_on=item.get("due_on"),
                    status=item["status"],
                    goal_ref=item.get("goal") or "",
                    id=item.get("id"),
                )
                for _index, item in self._kept(self.actions)
            ],
        )

    def add_service_errors(self, error: Any) -> None:
        for name, messages in error.errors.items():
            target = name if name in self.form.fields else None
            for message in messages:
                self.form.add_error(target, message)


class RevisionForm(forms.Form):
    planned_on = forms.DateField(
        label=_("Date of the new version"), required=False, widget=DateInput()
    )


class ParticipationForm(ServiceForm):
    ways = forms.MultipleChoiceField(
        label=_("How the client took part"),
        choices=ParticipationWay.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    client_views = _text(_("The client's views, in their words"))
    told_right_to_decline = forms.BooleanField(
        label=_("The client was told they may decline any service without losing the others"),
        required=False,
    )
    declined_services = _text(_("Services the client declined"), rows=2)
    client_agreed = forms.ChoiceField(
        label=_("The client agreed the plan"), choices=YES_NO_UNKNOWN, required=False
    )
    agreed_on = forms.DateField(label=_("Agreed on"), required=False, widget=DateInput())
    caregiver_involved = forms.ChoiceField(
        label=_("The caregiver took part"), choices=YES_NO_UNKNOWN, required=False
    )
    caregiver_ways = forms.MultipleChoiceField(
        label=_("How the caregiver took part"),
        choices=ParticipationWay.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    caregiver_agreed = forms.ChoiceField(
        label=_("The caregiver agreed the plan"), choices=YES_NO_UNKNOWN, required=False
    )
    caregiver_agreed_on = forms.DateField(
        label=_("Caregiver agreed on"), required=False, widget=DateInput()
    )
    caregiver_not_involved_reason = _text(
        _("Why the caregiver took no part"),
        rows=2,
        help_text=_(
            "For example, when involving the caregiver is not in the child's best interests."
        ),
    )

    CAREGIVER_FIELDS = (
        "caregiver_involved",
        "caregiver_ways",
        "caregiver_agreed",
        "caregiver_agreed_on",
        "caregiver_not_involved_reason",
    )

    def __init__(self, *args: Any, child: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.child = child
        if not child:
            for name in self.CAREGIVER_FIELDS:
                del self.fields[name]

    def initial_from(self, participation: Participation) -> None:
        self.initial.update(
            {
                "ways": participation.ways,
                "client_views": participation.client_views,
                "told_right_to_decline": participation.told_right_to_decline,
                "declined_services": participation.declined_services,
                "client_agreed": _as_yes_no(participation.client_agreed),
                "agreed_on": participation.agreed_on,
                "caregiver_involved": _as_yes_no(participation.caregiver_involved),
                "caregiver_ways": participation.caregiver_ways,
                "caregiver_agreed": _as_yes_no(participation.caregiver_agreed),
                "caregiver_agreed_on": participation.caregiver_agreed_on,
                "caregiver_not_involved_reason": participation.caregiver_not_involved_reason,
            }
        )

    def details(self) -> services.ParticipationDetails:
        data = self.cleaned_data
        return services.ParticipationDetails(
            ways=list(data.get("ways") or []),
            client_views=data.get("client_views") or "",
            told_right_to_decline=bool(data.get("told_right_to_decline")),
            declined_services=data.get("declined_services") or "",
            client_agreed=_yes_no(data.get("client_agreed") or ""),
            agreed_on=data.get("agreed_on"),
            caregiver_involved=_yes_no(data.get("caregiver_involved") or ""),
            caregiver_ways=list(data.get("caregiver_ways") or []),
            caregiver_agreed=_yes_no(data.get("caregiver_agreed") or ""),
            caregiver_agreed_on=data.get("caregiver_agreed_on"),
            caregiver_not_involved_reason=data.get("caregiver_not_involved_reason") or "",
        )


class DecisionForm(ServiceForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve the plan")), ("return", _("Return it with comments"))],
        widget=forms.RadioSelect,
    )
    comment = _text(_("Comments"), help_text=_("Required when you return the plan."))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "return" and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Say what should change in the plan."))
        return data


class ReviewForm(ServiceForm):
    reviewed_on = forms.DateField(label=_("Reviewed on"), widget=DateInput())
    summary = _text(_("What changed: services received, new needs, new risks"))
    next_review_on = forms.DateField(label=_("Next review"), required=False, widget=DateInput())

    def __init__(
        self, *args: Any, goals: list[PlanGoal], actions: list[PlanAction], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.goals = goals
        self.actions = actions
        for number, goal in enumerate(goals, start=1):
            self.fields[f"goal_{goal.pk}"] = forms.ChoiceField(
                label=_("Progress on goal %(number)s") % {"number": number},
                choices=[("", "—"), *GoalProgress.Progress.choices],
            )
            self.fields[f"goal_{goal.pk}_note"] = forms.CharField(
                label=_("Note on goal %(number)s") % {"number": number},
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        for number, action in enumerate(actions, start=1):
            self.fields[f"action_{action.pk}"] = forms.ChoiceField(
                label=_("Status of action %(number)s") % {"number": number},
                choices=PlanAction.Status.choices,
                initial=action.status,
            )

    def goal_rows(self) -> list[tuple[PlanGoal, Any, Any]]:
        return [
            (goal, self[f"goal_{goal.pk}"], self[f"goal_{goal.pk}_note"]) for goal in self.goals
        ]

    def action_rows(self) -> list[tuple[PlanAction, Any]]:
        return [(action, self[f"action_{action.pk}"]) for action in self.actions]

    def details(self) -> services.ReviewDetails:
        data = self.cleaned_data
        return services.ReviewDetails(
            reviewed_on=data["reviewed_on"],
            summary=data.get("summary") or "",
            next_review_on=data.get("next_review_on"),
            goals=[
                services.GoalProgressInput(
                    goal_id=goal.pk,
                    progress=data[f"goal_{goal.pk}"],
                    note=data.get(f"goal_{goal.pk}_note") or "",
                )
                for goal in self.goals
            ],
            action_statuses={action.pk: data[f"action_{action.pk}"] for action in self.actions},
        )


class MatchDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (PlanMatch.Decision.CONFIRMED, _("Confirm: this plan is not individualised")),
            (PlanMatch.Decision.DISMISSED, _("Dismiss: the plans are individual")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Why"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
