"""Agency settings: registered by the app they belong to, changed by the agency administrator,
kept as history rows (`AgencySettingChange`: who, when, old → new, why).

Each app declares its settings in its own `agency_settings.py` (found by `registry()`), so the
administration area lists them all without `accounts` importing any domain app. A setting knows
how to check a value (`clean`, the one rule for the screen and the API), how to show it, and —
when code reads it on every request — how to keep its current value in its own model's column
(`apply`, in the same transaction as the history row; `read` gives that value back).

`value_on(agency_id, key, on)` answers what was in force at a moment: the newest change on or
before it, else the `previous` of the first change after it, else the current value. Reports of
a past period list the settings in force on its last day (`in_force`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.accounts.access import agency_of, check_perm
from casework.accounts.models import Agency, AgencySettingChange, User
from casework.accounts.roles import Perm
from casework.audit.log import record
from casework.core.errors import CaseworkError, FieldErrors

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
else:
    StrOrPromise = Any


@dataclass(frozen=True)
class Setting:
    """One setting. Subclasses say what kind of value it holds."""

    key: str  # "<app>.<name>", stable: it is stored in the history rows
    label: StrOrPromise
    help_text: StrOrPromise
    section: StrOrPromise
    default: Any
    # The current value kept where code reads it on every request (both or neither).
    read: Callable[[int], Any] | None = None
    apply: Callable[[int, Any], None] | None = None
    order: int = 100

    def clean(self, value: Any) -> Any:
        """The value in its stored form, or ValidationError saying what is wrong."""
        return value

    def form_fields(self) -> dict[str, forms.Field]:
        return {"value": self.form_field()}

    def form_field(self) -> forms.Field:
        return forms.CharField(label=self.label, help_text=self.help_text)

    def from_form(self, cleaned: dict[str, Any]) -> Any:
        return cleaned["value"]

    def initial(self, value: Any) -> dict[str, Any]:
        return {"value": value}

    def show(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class IntegerSetting(Setting):
    minimum: int = 0
    maximum: int = 1_000_000
    unit: StrOrPromise = ""

    def clean(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError(_("Enter a whole number."))
        try:
            number = int(value)
        except ValueError:
            raise ValidationError(_("Enter a whole number.")) from None
        if not self.minimum <= number <= self.maximum:
            raise ValidationError(
                _("Enter a number from %(minimum)s to %(maximum)s.")
                % {"minimum": self.minimum, "maximum": self.maximum}
            )
        return number

    def form_field(self) -> forms.Field:
        return forms.IntegerField(
            label=self.label,
            help_text=self.help_text,
            min_value=self.minimum,
            max_value=self.maximum,
        )

    def show(self, value: Any) -> str:
        return f"{value} {self.unit}".strip()


@dataclass(frozen=True)
class BooleanSetting(Setting):
    def clean(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(_("Answer yes or no (true or false)."))
        return value

    def form_field(self) -> forms.Field:
        return forms.BooleanField(label=self.label, help_text=self.help_text, required=False)

    def show(self, value: Any) -> str:
        return str(_("Yes") if value else _("No"))


@dataclass(frozen=True)
class ChoicesSetting(Setting):
    """Several codes out of a list (e.g. the closure reasons that need approval)."""

    choices: Callable[[], Iterable[tuple[str, Any]]] = tuple

    def clean(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
            raise ValidationError(_("Give a list of codes."))
        known = dict(self.choices())
        unknown = [code for code in value if code not in known]
        if unknown:
            raise ValidationError(
                _("Not in the list: %(codes)s.") % {"codes": ", ".join(sorted(unknown))}
            )
        return [code for code in known if code in value]

    def form_field(self) -> forms.Field:
        return forms.MultipleChoiceField(
            label=self.label,
            help_text=self.help_text,
            choices=list(self.choices()),
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )

    def show(self, value: Any) -> str:
        names = dict(self.choices())
        return ", ".join(str(names.get(code, code)) for code in value) or str(_("none"))


@dataclass(frozen=True)
class LimitsSetting(Setting):
    """A number for each of some codes (e.g. a reasonable caseload per programme); codes left
    out have no limit of their own. Written on the screen one per line: CODE = number."""

    choices: Callable[[], Iterable[tuple[str, Any]]] = tuple
    minimum: int = 1
    maximum: int = 1000

    def clean(self, value: Any) -> dict[str, int]:
        if not isinstance(value, dict):
            raise ValidationError(_("Give a number for each code."))
        known = dict(self.choices())
        cleaned: dict[str, int] = {}
        for code, number in value.items():
            if code not in known:
                raise ValidationError(_("Not in the list: %(codes)s.") % {"codes": code})
            if isinstance(number, bool) or not isinstance(number, int):
                raise ValidationError(_("%(code)s: enter a whole number.") % {"code": code})
            if not self.minimum <= number <= self.maximum:
                raise ValidationError(
                    _("%(code)s: enter a number from %(minimum)s to %(maximum)s.")
                    % {"code": code, "minimum": self.minimum, "maximum": self.maximum}
                )
            cleaned[code] = number
        return dict(sorted(cleaned.items()))

    def form_field(self) -> forms.Field:
        codes = ", ".join(code for code, _name in self.choices())
        return forms.CharField(
            label=self.label,
            help_text=f"{self.help_text} "
            + _("One per line, e.g. CP = 15. Codes: %(codes)s.") % {"codes": codes},
            required=False,
            widget=forms.Textarea(attrs={"rows": 4}),
        )

    def from_form(self, cleaned: dict[str, Any]) -> Any:
        limits: dict[str, Any] = {}
        for number, line in enumerate(str(cleaned["value"]).splitlines(), start=1):
            if not line.strip():
                continue
            code, sep, amount = line.partition("=")
            if not sep or not amount.strip().isdigit():
                raise ValidationError(
                    _("Line %(number)s: write CODE = number.") % {"number": number}
                )
            limits[code.strip()] = int(amount.strip())
        return limits

    def initial(self, value: Any) -> dict[str, Any]:
        return {"value": "\n".join(f"{code} = {number}" for code, number in value.items())}

    def show(self, value: Any) -> str:
        return ", ".join(f"{code} {number}" for code, number in value.items()) or str(_("none"))


_REGISTRY: dict[str, Setting] = {}
_DISCOVERED = False


def register(setting: Setting) -> Setting:
    if setting.key in _REGISTRY and _REGISTRY[setting.key] != setting:
        raise ValueError(f"two settings named {setting.key}")
    _REGISTRY[setting.key] = setting
    return setting


def registry() -> dict[str, Setting]:
    """Every app's settings, ordered by section and order (each app's `agency_settings`)."""
    global _DISCOVERED
    if not _DISCOVERED:
        autodiscover_modules("agency_settings")
        _DISCOVERED = True
    return dict(sorted(_REGISTRY.items(), key=lambda item: (item[1].order, item[0])))


def get(key: str) -> Setting:
    try:
        return registry()[key]
    except KeyError:
        raise CaseworkError(_("There is no such setting."), code="not_found") from None


def current(agency_id: int, key: str) -> Any:
    setting = get(key)
    if setting.read is not None:
        return setting.read(agency_id)
    latest = (
        AgencySettingChange.objects.filter(agency_id=agency_id, key=key)
        .values_list("value", flat=True)
        .first()
    )
    return setting.default if latest is None else latest


def value_on(agency_id: int, key: str, on: datetime.datetime) -> Any:
    """What was in force at `on`."""
    rows = AgencySettingChange.objects.filter(agency_id=agency_id, key=key)
    before = rows.filter(set_at__lte=on).values_list("value", flat=True).first()
    if before is not None:
        return before
    after = rows.filter(set_at__gt=on).order_by("set_at", "id").first()
    if after is not None:
        return get(key).default if after.previous is None else after.previous
    return current(agency_id, key)


@dataclass(frozen=True)
class InForce:
    setting: Setting
    value: Any
    since: datetime.datetime | None  # None: never changed since the history began
    shown: str = field(default="")


def in_force(agency_id: int, on: datetime.datetime | None = None) -> list[InForce]:
    """Every setting's value at `on` (now when None), with the time it was set: `value_on` for
    each, read from one query of the agency's history (a report lists them all)."""
    on = on or timezone.now()
    changes: dict[str, list[AgencySettingChange]] = {}
    for row in AgencySettingChange.objects.filter(agency_id=agency_id).only(
        "key", "value", "previous", "set_at"
    ):  # newest first
        changes.setdefault(row.key, []).append(row)
    found = []
    for key, setting in registry().items():
        rows = changes.get(key, [])
        before = next((row for row in rows if row.set_at <= on), None)
        since = before.set_at if before is not None else None
        if before is not None:
            value = before.value
        elif rows:  # every change came later: what the oldest one replaced
            value = setting.default if rows[-1].previous is None else rows[-1].previous
        else:
            value = current(agency_id, key)
        found.append(InForce(setting, value, since, setting.show(value)))
    return found


def history(agency_id: int, key: str | None = None) -> Any:
    rows = AgencySettingChange.objects.filter(agency_id=agency_id).select_related("set_by")
    return rows.filter(key=key) if key else rows


@dataclass(frozen=True)
class ShownChange:
    row: AgencySettingChange
    label: StrOrPromise
    before: str
    after: str


def shown_history(agency_id: int, key: str | None = None, *, limit: int = 50) -> list[ShownChange]:
    """The newest changes, each value as people read it (a setting no longer registered shows
    its stored value)."""
    settings = registry()
    shown = []
    for row in history(agency_id, key)[:limit]:
        setting = settings.get(row.key)
        show = setting.show if setting else str
        before = "—" if row.previous is None else show(row.previous)
        shown.append(
            ShownChange(row, setting.label if setting else row.key, before, show(row.value))
        )
    return shown


def _codes(value: Any) -> Any:
    """A value as audit data (codes and numbers only): a mapping becomes "key:value" codes."""
    return _flat(value) if isinstance(value, dict) else value


def _flat(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [f"{key}:{item}" for key, inner in value.items() for item in _flat(inner)]
    return [value]


def change(*, by: User, key: str, value: Any, reason: str = "") -> AgencySettingChange:
    """The agency administrator sets one setting of their agency: checked by the setting's own
    rule, its current value applied where code reads it, the change kept as a row and audited —
    all or nothing. Setting the value it already has changes nothing and adds no row."""
    check_perm(by, Perm.MANAGE_CONFIGURATION)
    setting = get(key)
    try:
        cleaned = setting.clean(value)
    except ValidationError as error:
        raise FieldErrors({"value": list(error.messages)}) from None
    if len(reason) > 300:
        raise FieldErrors({"reason": [_("Keep the reason under 300 characters.")]})
    agency_id = agency_of(by)
    with transaction.atomic():
        # One change at a time per agency: the row read as "previous" is the one replaced.
        Agency.objects.select_for_update().filter(pk=agency_id).first()
        previous = current(agency_id, key)
        if previous == cleaned:
            latest = history(agency_id, key).first()
            if latest is not None:
                return latest
        if setting.apply is not None:
            setting.apply(agency_id, cleaned)
        row = AgencySettingChange.objects.create(
            agency_id=agency_id,
            key=key,
            value=cleaned,
            previous=previous,
            reason=reason.strip(),
            set_by=by,
            set_at=timezone.now(),
        )
        record(
            "accounts.setting.changed",
            by=by,
            target=row,
            agency_id=agency_id,
            data={"key": key, "from": _codes(previous), "to": _codes(cleaned)},
        )
    return row


# --- the settings of accounts itself -----------------------------------------------------------


def _read_mfa(agency_id: int) -> bool:
    return bool(Agency.objects.filter(pk=agency_id).values_list("require_mfa", flat=True).first())


def _apply_mfa(agency_id: int, value: bool) -> None:
    Agency.objects.filter(pk=agency_id).update(require_mfa=value)


REQUIRE_MFA = register(
    BooleanSetting(
        key="accounts.require_mfa",
        label=gettext_lazy("Require two-factor sign-in"),
        help_text=gettext_lazy("For every role that can see personal data."),
        section=gettext_lazy("Sign-in"),
        default=True,
        read=_read_mfa,
        apply=_apply_mfa,
        order=10,
    )
)
