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
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from casework.accounts.models import User
    from casework.cases.models import Case

ContextFunction = Callable[["Case", "User", bool], dict[str, Any]]
TeamContextFunction = Callable[["User"], dict[str, Any]]
Context = TypeVar("Context", ContextFunction, TeamContextFunction)


@dataclass(frozen=True)
class Section(Generic[Context]):
    name: str
    template: str
    context: Context
    order: int = 100


class Sections(Generic[Context]):
    """The sections one page shows, by name (registering a name again replaces it)."""

    def __init__(self) -> None:
        self._by_name: dict[str, Section[Context]] = {}

    def register(self, name: str, template: str, context: Context, *, order: int = 100) -> None:
        self._by_name[name] = Section(name, template, context, order)

    def in_order(self) -> list[Section[Context]]:
        return sorted(self._by_name.values(), key=lambda section: (section.order, section.name))


_PANELS: Sections[ContextFunction] = Sections()
_TEAM_LINES: Sections[TeamContextFunction] = Sections()


def register_panel(name: str, template: str, context: ContextFunction, *, order: int = 100) -> None:
    _PANELS.register(name, template, context, order=order)


def register_team_line(
    name: str, template: str, context: TeamContextFunction, *, order: int = 100
) -> None:
    _TEAM_LINES.register(name, template, context, order=order)


def render_context(case: Case, user: User, can_write: bool) -> list[dict[str, Any]]:
    """[{"name", "template", **context}] for every registered panel, in order."""
    return [
        {"name": panel.name, "template": panel.template, **panel.context(case, user, can_write)}
        for panel in _PANELS.in_order()
    ]


def team_lines(user: User) -> list[dict[str, Any]]:
    """[{"name", "template", **context}] for every registered line of the team page, in order."""
    return [
        {"name": line.name, "template": line.template, **line.context(user)}
        for line in _TEAM_LINES.in_order()
    ]
