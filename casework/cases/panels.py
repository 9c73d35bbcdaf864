"""Sections that other apps add to the case page (assessments, plan, referrals, surveys …) and
lines they add to the supervisor's team page (plans waiting for approval, overdue tasks …).

Each app registers its panel in its AppConfig.ready(); the page renders them in order, so the
case app shows what later steps offer without importing them. A panel's context function
receives the case (already loaded through the access gate), the user and whether the user may
write, and must keep its own query count bounded. A team line's function receives the supervisor
and returns its template's context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casework.accounts.models import User
    from casework.cases.models import Case

ContextFunction = Callable[["Case", "User", bool], dict[str, Any]]
TeamContextFunction = Callable[["User"], dict[str, Any]]


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: ContextFunction
    order: int = 100


_PANELS: dict[str, Panel] = {}


def register_panel(name: str, template: str, context: ContextFunction, *, order: int = 100) -> None:
    _PANELS[name] = Panel(name, template, context, order)


def render_context(case: Case, user: User, can_write: bool) -> list[dict[str, Any]]:
    """[{"name", "template", **context}] for every registered panel, in order."""
    panels = sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.name))
    return [
        {"name": panel.name, "template": panel.template, **panel.context(case, user, can_write)}
        for panel in panels
    ]


@dataclass(frozen=True)
class TeamLine:
    name: str
    template: str
    context: TeamContextFunction
    order: int = 100


_TEAM_LINES: dict[str, TeamLine] = {}


def register_team_line(
    name: str, template: str, context: TeamContextFunction, *, order: int = 100
) -> None:
    _TEAM_LINES[name] = TeamLine(name, template, context, order)


def team_lines(user: User) -> list[dict[str, Any]]:
    """[{"name", "template", **context}] for every registered line of the team page, in order."""
    lines = sorted(_TEAM_LINES.values(), key=lambda line: (line.order, line.name))
    return [{"name": line.name, "template": line.template, **line.context(user)} for line in lines]
