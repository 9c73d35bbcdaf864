"""The agency-administration area, and everyone's own API tokens.

- `/accounts/tokens/`: a signed-in member's own tokens: make one (after a current two-factor
  code where the agency requires it), see when each was last used, revoke.
- `/administration/`: the agency administrator's home: users, service accounts and every token
  of the agency's accounts (revocable), matching agreements, and the other administration
  screens. Everything here is the administrator's own agency only; anything else is a 404.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from casework.accounts import agency_settings, services, tokens
from casework.accounts.access import agency_of, is_member, refusal, require_perm
from casework.accounts.models import ApiToken, Team, User
from casework.accounts.roles import Perm, Role
from casework.core.errors import CaseworkError
from casework.core.forms import ServiceForm, choice_field, model_choice_field
from casework.core.views import render_form, run_service_form


class TokenForm(ServiceForm):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What the token is for, e.g. “monthly report to the cluster”."),
    )
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("It may"),
        choices=ApiToken.Scope.choices,
        initial=[ApiToken.Scope.READ],
        widget=forms.CheckboxSelectMultiple,
    )
    days = forms.IntegerField(
        label=gettext_lazy("Days until it expires"),
        min_value=1,
        max_value=tokens.MAX_DAYS,
        initial=30,
    )
    code = forms.CharField(
        label=gettext_lazy("Two-factor code"),
        max_length=32,
        required=False,
        help_text=gettext_lazy("The six digits your authenticator app shows now."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off"}),
    )

    def __init__(self, *args: Any, asks_code: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if asks_code:
            self.fields["code"].required = True
        else:
            del self.fields["code"]


def _member(request: HttpRequest) -> User:
    if not is_member(request.user):
        raise refusal("access.denied", by=request.user)
    return request.user


def _make_token(
    request: HttpRequest, *, owner: User, by: User, template: str, context: dict[str, Any]
) -> HttpResponse:
    """The token form for `owner`: on success the token is shown once, never stored or sent."""
    form = TokenForm(request.POST or None, asks_code=by.must_use_mfa)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = tokens.create_token(
                owner=owner,
                by=by,
                name=data["name"],
                scopes=data["scopes"],
                days=data["days"],
                second_factor=data.get("code", ""),
            )
        except CaseworkError as error:
            form.add_refusal(error)
        else:
            response = render_form(
                request, "accounts/token_made.html", {"token": made, "owner": owner}
            )
            response["Cache-Control"] = "no-store"
            return response
    return render_form(request, template, {**context, "form": form, "owner": owner}, form)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def my_tokens(request: HttpRequest) -> HttpResponse:
    user = _member(request)
    rows = list(tokens.tokens_of(user))
    return _make_token(
        request,
        owner=user,
        by=user,
        template="accounts/tokens.html",
        context={"rows": _with_state(rows), "mine": True},
    )


def _with_state(rows: list[ApiToken]) -> list[tuple[ApiToken, str]]:
    """Each token with what it is now: live, expired, revoked (why), or void (signed out)."""
    states = []
    for row in rows:
        if row.revoked_at is not None:
            state = "revoked"
        elif not row.user.is_active:
            state = "revoked"
        elif tokens.is_live(row):
            state = "live"
        elif row.generation != row.user.session_generation:
            state = "void"
        else:
            state = "expired"
        states.append((row, state))
    return states


@login_required
@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    user = _member(request)
    row = get_object_or_404(ApiToken.objects.select_related("user"), pk=token_id)
    if not tokens.may_manage_tokens_of(row.user, by=user):
        raise refusal("accounts.token.denied", by=user)
    tokens.revoke_token(row, by=user)
    messages.success(request, _("The token “%(name)s” no longer works.") % {"name": row.name})
    if row.user_id == user.pk:
        return redirect("accounts:tokens")
    return redirect("administration:tokens")


# --- the administration area ---------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    manager = require_perm(request.user, Perm.MANAGE_USERS)
    return render_form(request, "accounts/administration.html", {"manager": manager})


@login_required
def agency_tokens(request: HttpRequest) -> HttpResponse:
    manager = require_perm(request.user, Perm.MANAGE_USERS)
    rows = list(tokens.tokens_managed_by(manager))
    return render_form(request, "accounts/agency_tokens.html", {"rows": _with_state(rows)})


class ServiceAccountForm(ServiceForm):
    username = forms.RegexField(
        label=gettext_lazy("Username"),
        regex=r"^[a-z0-9][a-z0-9._-]{2,40}$",
        error_messages={
            "invalid": gettext_lazy("3–41 lower-case letters, digits, dots, dashes or underscores.")
        },
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"))
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"), queryset=Team.objects.none(), required=False
    )

    def __init__(self, *args: Any, manager: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = services.roles_for_service_accounts(by=manager)
        choice_field(self, "role").choices = [
            (value, label) for value, label in Role.choices if value in allowed
        ]
        self.fields["role"].help_text = gettext_lazy(
            "Only roles that see no personal data. An integration that reads case files is set "
            "up at the server (casework token service-account)."
        )
        model_choice_field(self, "team").queryset = Team.objects.filter(
            agency_id=manager.agency_id or 0
        )


@login_required
@require_http_methods(["GET", "POST"])
def service_accounts(request: HttpRequest) -> HttpResponse:
    manager = require_perm(request.user, Perm.MANAGE_USERS)
    agency_id = manager.agency_id or 0
    form = ServiceAccountForm(request.POST or None, manager=manager)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.create_service_account(by=manager, **form.cleaned_data)
        except CaseworkError as error:
            form.add_refusal(error)
        else:
            messages.success(
                request,
                _("Service account %(name)s made. Make it a token next.")
                % {"name": account.username},
            )
            return redirect("administration:service_account_token", user_id=account.pk)
    accounts = User.objects.filter(agency_id=agency_id, is_service_account=True).select_related(
        "team"
    )
    return render_form(
        request, "accounts/service_accounts.html", {"form": form, "accounts": accounts}
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def service_account_token(request: HttpRequest, user_id: int) -> HttpResponse:
    manager = require_perm(request.user, Perm.MANAGE_USERS)
    account = get_object_or_404(
        User, pk=user_id, agency_id=manager.agency_id, is_service_account=True
    )
    return _make_token(
        request,
        owner=account,
        by=manager,
        template="accounts/tokens.html",
        context={"rows": _with_state(list(tokens.tokens_of(account))), "mine": False},
    )


# --- agency settings -------------------------------------------------------------------------------


class SettingForm(ServiceForm):
    """One setting's own fields (from its registration) and why it changes."""

    def __init__(self, *args: Any, setting: agency_settings.Setting, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setting = setting
        self.fields.update(setting.form_fields())
        self.fields["reason"] = forms.CharField(
            label=gettext_lazy("Why it changes"),
            max_length=300,
            required=False,
            help_text=gettext_lazy("Kept with the change, e.g. “agreed at the March review”."),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            try:
                cleaned["setting_value"] = self.setting.from_form(cleaned)
            except forms.ValidationError as error:
                self.add_error(next(iter(self.setting.form_fields())), error)
        return cleaned


@login_required
def agency_settings_list(request: HttpRequest) -> HttpResponse:
    manager = require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    agency_id = agency_of(manager)
    return render_form(
        request,
        "accounts/agency_settings.html",
        {
            "rows": agency_settings.in_force(agency_id),
            "changes": agency_settings.shown_history(agency_id),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def agency_setting_change(request: HttpRequest, key: str) -> HttpResponse:
    manager = require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    agency_id = agency_of(manager)
    setting = agency_settings.registry().get(key)
    if setting is None:
        raise refusal("access.denied", by=manager, data={"setting": "unknown"})
    value = agency_settings.current(agency_id, key)
    form = SettingForm(request.POST or None, setting=setting, initial=setting.initial(value))
    return run_service_form(
        request,
        form,
        lambda data: agency_settings.change(
            by=manager, key=key, value=data["setting_value"], reason=data["reason"]
        ),
        success=_("The setting is saved; the change is in its history."),
        redirect_to=lambda _row: redirect("administration:settings"),
        template="accounts/agency_setting.html",
        context={
            "setting": setting,
            "shown": setting.show(value),
            "changes": agency_settings.shown_history(agency_id, key),
        },
    )
