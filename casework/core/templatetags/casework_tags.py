"""Template helpers shared by every screen."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField, Form

register = template.Library()


@register.filter
def sections(form: Form) -> list[tuple[Any, list[BoundField]]]:
    """A form's fields grouped as its `sections` attribute says: [(legend, [field names])].

    Fields not named in any section come last, without a legend, so none is ever lost.
    """
    groups: list[tuple[Any, list[str]]] = list(getattr(form, "sections", []))
    named = {name for _, names in groups for name in names}
    rest = [f.name for f in form.visible_fields() if f.name not in named]
    if rest:
        groups.append(("", rest))
    return [
        (legend, [form[name] for name in names if name in form.fields]) for legend, names in groups
    ]


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None
