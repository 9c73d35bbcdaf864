"""Sections that other apps add to the case page (assessments, plan, referrals, surveys …).

Each app registers its panel in its AppConfig.ready(); the case page renders them in order. A
panel's context function receives the case (already loaded through the access gate), the user
and whether the user may write, and must keep its own query count bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ContextFunction = Callable[[Any, Any, bool], dict[str, Any]]


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: ContextFunction
    order: int = 100


_PANELS: dict[str, Panel] = {}


def register_panel(name: str, template: str, context: ContextFunction, *, order: int = 100) -> None:
    _PANELS[name] = Panel(name, template, context, order)


def render_context(case: Any, user: Any, can_write: bool) -> list[dict[str, Any]]:
    """[{"name", "template", **context}] for every registered panel, in order."""
    panels = sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.name))
    return [
        {"name": panel.name, "template": panel.template, **panel.context(case, user, can_write)}
        for panel in panels
    ]
