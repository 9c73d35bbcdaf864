"""/api/v1/settings: the agency administrator's settings, as on the screen
(/administration/settings/), through the same registry and service."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema

from casework.accounts import agency_settings
from casework.accounts.access import agency_of, require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.roles import Perm
from casework.core.api import answers
from casework.core.errors import FieldErrors

router = Router(tags=["settings"])


class SettingOut(Schema):
    key: str
    section: str
    label: str
    help_text: str
    value: Any
    shown: str
    since: datetime.datetime | None


class ChangeOut(Schema):
    key: str
    value: Any
    previous: Any
    reason: str
    set_by: str | None
    set_at: datetime.datetime


class SettingIn(Schema):
    value: Any
    reason: str = ""


def _out(row: agency_settings.InForce) -> dict[str, Any]:
    return {
        "key": row.setting.key,
        "section": str(row.setting.section),
        "label": str(row.setting.label),
        "help_text": str(row.setting.help_text),
        "value": row.value,
        "shown": row.shown,
        "since": row.since,
    }


@router.get("", response=answers(list[SettingOut], 400, 404), summary="The agency's settings")
def list_settings(request: AuthenticatedHttpRequest, on: str = "") -> Any:
    """Every setting with the value in force now, or at the end of the day `on` (YYYY-MM-DD)."""
    user = require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    moment = None
    if on:
        try:
            day = datetime.date.fromisoformat(on)
        except ValueError:
            raise FieldErrors({"on": [_("Enter a date as YYYY-MM-DD.")]}) from None
        moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time.max))
    return [_out(row) for row in agency_settings.in_force(agency_of(user), moment)]


@router.get("/history", response=answers(list[ChangeOut], 404), summary="Changes of the settings")
def setting_history(request: AuthenticatedHttpRequest, key: str = "") -> Any:
    """The newest 200 changes (of one setting with `key`): who, when, old → new and why."""
    user = require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    return [
        {
            "key": row.key,
            "value": row.value,
            "previous": row.previous,
            "reason": row.reason,
            "set_by": row.set_by.username if row.set_by else None,
            "set_at": row.set_at,
        }
        for row in agency_settings.history(agency_of(user), key or None)[:200]
    ]


@router.put(
    "/{key}",
    response=answers(SettingOut, 400, 403, 404),
    summary="Change one setting",
)
def change_setting(request: AuthenticatedHttpRequest, key: str, payload: SettingIn) -> Any:
    """The value in the setting's own form (a number, true/false, a list of codes, or an object
    for the risk follow-up); refused with the reason when the setting's rule says no."""
    user = require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    if key not in agency_settings.registry():
        raise Http404(_("Not found."))
    agency_settings.change(by=user, key=key, value=payload.value, reason=payload.reason)
    found = next(r for r in agency_settings.in_force(agency_of(user)) if r.setting.key == key)
    return _out(found)
