"""The case-management settings of an agency (casework/accounts/agency_settings.py keeps their
history): reasonable caseloads (seed 004, standard 9), which closures need a supervisor's
approval, and the risk follow-up windows (seed 003). Their current values live in `CasePolicy`
and `RiskPolicy`, which the code reads on every request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.accounts.agency_settings import (
    ChoicesSetting,
    IntegerSetting,
    LimitsSetting,
    Setting,
    register,
)
from casework.cases import deadlines
from casework.cases.models import CasePolicy, ClosureReason, RiskLevel, RiskPolicy
from casework.core.errors import FieldErrors
from casework.reference.models import Programme

SECTION = gettext_lazy("Case management")


def _policy_field(name: str) -> dict[str, Any]:
    """`read` and `apply` of a setting kept in a column of the agency's CasePolicy."""

    def read(agency_id: int) -> Any:
        return getattr(CasePolicy.for_agency(agency_id), name)

    def apply(agency_id: int, value: Any) -> None:
        CasePolicy.objects.update_or_create(agency_id=agency_id, defaults={name: value})

    return {"read": read, "apply": apply}


def _programmes() -> Iterable[tuple[str, Any]]:
    return [(p.code, p.label) for p in Programme.objects.filter(is_active=True)]


CASELOAD = register(
    IntegerSetting(
        key="cases.caseload_threshold",
        label=gettext_lazy("Reasonable caseload of a caseworker"),
        help_text=gettext_lazy("Open cases; the team page flags a caseworker above it."),
        section=SECTION,
        default=20,
        minimum=1,
        maximum=500,
        unit=gettext_lazy("cases"),
        order=20,
        **_policy_field("caseload_threshold"),
    )
)
SUPERVISOR_CASELOAD = register(
    IntegerSetting(
        key="cases.supervisor_caseload_threshold",
        label=gettext_lazy("Reasonable caseload of a supervisor"),
        help_text=gettext_lazy("A supervisor's own open cases, besides supervising."),
        section=SECTION,
        default=10,
        minimum=1,
        maximum=500,
        unit=gettext_lazy("cases"),
        order=21,
        **_policy_field("supervisor_caseload_threshold"),
    )
)
CASELOAD_BY_PROGRAMME = register(
    LimitsSetting(
        key="cases.caseload_by_programme",
        label=gettext_lazy("Reasonable caseload per programme"),
        help_text=gettext_lazy(
            "Open cases of one programme per caseworker (e.g. fewer for GBV than for general "
            "protection); a caseworker above any of them is flagged too."
        ),
        section=SECTION,
        default={},
        choices=_programmes,
        order=22,
    )
)
CLOSURE_APPROVAL = register(
    ChoicesSetting(
        key="cases.closure_approval_reasons",
        label=gettext_lazy("Closures that need a supervisor's approval"),
        help_text=gettext_lazy(
            "A closure for one of these reasons waits for the supervisor; the others close at "
            "once (a supervisor's own closures never wait)."
        ),
        section=SECTION,
        default=list(ClosureReason.values),
        choices=lambda: ClosureReason.choices,
        order=23,
        **_policy_field("closure_approval_reasons"),
    )
)


_WINDOW_PROBLEMS = {
    "not_positive": lambda: _("Enter at least one hour."),
    "target_after_due": lambda: _("The target cannot be later than the due time."),
    "longer_than_lower_risk": lambda: _("A higher risk cannot wait longer than a lower one."),
}


def windows_value(windows: dict[str, deadlines.Window]) -> dict[str, dict[str, int]]:
    return {
        level: {"due_hours": window.due_hours, "target_hours": window.target_hours}
        for level, window in windows.items()
    }


@dataclass(frozen=True)
class RiskWindowsSetting(Setting):
    """{level: {"due_hours": n, "target_hours": m}} for every risk level."""

    def clean(self, value: Any) -> dict[str, dict[str, int]]:
        if not isinstance(value, dict) or set(value) - set(RiskLevel.values):
            raise FieldErrors({"level": [_("Unknown risk level.")]})
        windows = dict(deadlines.DEFAULT_WINDOWS)
        for level, hours in value.items():
            try:
                windows[level] = deadlines.Window(
                    int(hours["due_hours"]), int(hours["target_hours"])
                )
            except (KeyError, TypeError, ValueError):
                raise FieldErrors(
                    {f"{level}_due_hours": [_("Give the hours as whole numbers.")]}
                ) from None
        problems = deadlines.check_windows(windows)
        if problems:
            raise FieldErrors(
                {
                    f"{level}_due_hours": [_WINDOW_PROBLEMS[code]()]
                    for level, code in problems.items()
                }
            )
        return windows_value(windows)

    def form_fields(self) -> dict[str, forms.Field]:
        fields: dict[str, forms.Field] = {}
        for level, name in RiskLevel.choices:
            fields[f"{level}_due_hours"] = forms.IntegerField(
                label=_("%(level)s risk: due within (hours)") % {"level": name}, min_value=1
            )
            fields[f"{level}_target_hours"] = forms.IntegerField(
                label=_("%(level)s risk: target (hours)") % {"level": name}, min_value=1
            )
        return fields

    def from_form(self, cleaned: dict[str, Any]) -> Any:
        return {
            level: {
                "due_hours": cleaned[f"{level}_due_hours"],
                "target_hours": cleaned[f"{level}_target_hours"],
            }
            for level in RiskLevel.values
        }

    def initial(self, value: Any) -> dict[str, Any]:
        return {
            f"{level}_{part}": hours[part]
            for level, hours in value.items()
            for part in ("due_hours", "target_hours")
        }

    def show(self, value: Any) -> str:
        names = dict(RiskLevel.choices)
        return "; ".join(
            _("%(level)s: %(target)s–%(due)s h")
            % {"level": names.get(level, level), "target": h["target_hours"], "due": h["due_hours"]}
            for level, h in value.items()
        )


def _read_windows(agency_id: int) -> dict[str, dict[str, int]]:
    return windows_value(deadlines.windows_for(agency_id))


def _apply_windows(agency_id: int, value: dict[str, dict[str, int]]) -> None:
    for level, hours in value.items():
        RiskPolicy.objects.update_or_create(
            agency_id=agency_id,
            level=level,
            defaults={"due_hours": hours["due_hours"], "target_hours": hours["target_hours"]},
        )


RISK_FOLLOW_UP = register(
    RiskWindowsSetting(
        key="cases.risk_follow_up",
        label=gettext_lazy("First follow-up after an assessment, by risk"),
        help_text=gettext_lazy(
            "The standard: high risk within 48 hours, moderate 3–5 days, low 10 days. Open tasks "
            "keep their dates; new ones use these."
        ),
        section=SECTION,
        default=windows_value(deadlines.DEFAULT_WINDOWS),
        read=_read_windows,
        apply=_apply_windows,
        order=24,
    )
)
