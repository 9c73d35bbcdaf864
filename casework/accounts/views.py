from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from casework.accounts import mfa, services, throttle
from casework.accounts.access import navigation_for, require_perm
from casework.accounts.forms import CodeForm, EnrolmentCodeForm, LoginForm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.mfa import mfa_step_url
from casework.accounts.models import Agency, User
from casework.accounts.roles import Perm
from casework.core.errors import CaseworkError
from casework.core.ratelimits import remember_device


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    nav = navigation_for(request.user)
    if nav.get("caseload"):
        return redirect("cases:caseload")
    return render(
        request, "accounts/home.html", {"has_authenticator": mfa.has_authenticator(request.user)}
    )


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        # This browser is now known for the account: the per-account limit on failed sign-ins
        # (which anyone can run up) does not hold it back (casework/core/ratelimits.py).
        remember_device(response, form.get_user().get_username())
        return response

    def get_success_url(self) -> str:
        url = super().get_success_url()
        user = self.request.user
        if isinstance(user, User) and user.must_use_mfa:
            return mfa_step_url(user, url)
        return url


def locked_out(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """What django-axes answers after too many failures: the same for known and unknown names,
    with how long to wait (the pause grows with each lock-out: casework/accounts/throttle.py)."""
    form = LoginForm(request)
    wait = throttle.wait_left(request)
    response = render(
        request,
        "accounts/login.html",
        {"form": form, "locked_out": True, "wait_minutes": max(1, -(-wait // 60))},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


password_reset = auth_views.PasswordResetView.as_view(
    template_name="accounts/password_reset.html",
    email_template_name="accounts/password_reset_email.txt",
    subject_template_name="accounts/password_reset_subject.txt",
    success_url=reverse_lazy("accounts:password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="accounts/password_reset_confirm.html",
    success_url=reverse_lazy("accounts:login"),
)


# Two-factor sign-in. Until the second factor is given, MFARequiredMiddleware lets the user reach
# only these pages (and sign-out), so they must not trust `is_verified()` to have been checked.


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _is_verified(request: HttpRequest) -> bool:
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def _mark_verified(request: HttpRequest, device: Any) -> None:
    django_otp.login(request, device)
    # A new session key for the now fully signed-in session (as Django does at password login).
    request.session.cycle_key()


# Setting up: the enrolment code first, then (for this session only) the secret to scan.
ENROLMENT_CODE_KEY = "cw_mfa_enrolment_code"
PENDING_AUTHENTICATOR_KEY = "cw_mfa_pending_authenticator"


def _forget_enrolment(request: HttpRequest) -> None:
    request.session.pop(ENROLMENT_CODE_KEY, None)
    request.session.pop(PENDING_AUTHENTICATOR_KEY, None)


@login_required
@never_cache
def mfa_enrol(request: AuthenticatedHttpRequest) -> HttpResponse:
    user: User = request.user
    next_url = _next_url(request)
    if not user.must_use_mfa:
        return redirect(next_url)
    if mfa.has_authenticator(user):
        # Never let a password alone replace an enrolled authenticator.
        return redirect(mfa_step_url(user, next_url))
    enrolment_code_id = request.session.get(ENROLMENT_CODE_KEY)
    if enrolment_code_id is None:
        return _enrolment_code_step(request, user, next_url)
    try:
        device = mfa.pending_authenticator(
            user,
            enrolment_code_id=enrolment_code_id,
            device_id=request.session.get(PENDING_AUTHENTICATOR_KEY),
        )
    except mfa.CodeRefused as refusal:
        # The code was replaced or withdrawn (or expired) since this session gave it.
        _forget_enrolment(request)
        return _render_enrolment_code_step(
            request, EnrolmentCodeForm(), next_url, problem=str(refusal.message)
        )
    request.session[PENDING_AUTHENTICATOR_KEY] = device.pk
    code_form = CodeForm(request.POST or None)
    if request.method == "POST" and code_form.is_valid():
        try:
            device, codes = mfa.confirm_enrolment(
                user,
                enrolment_code_id=enrolment_code_id,
                device_id=device.pk,
                code=code_form.cleaned_data["code"],
            )
        except mfa.CodeRefused as refusal:
            code_form.add_error("code", str(refusal.message))
        else:
            _forget_enrolment(request)
            _mark_verified(request, device)
            return render(
                request,
                "accounts/mfa_recovery_codes.html",
                {"codes": codes, "next": next_url, "enrolled": True},
            )
    return render(
        request,
        "accounts/mfa_enrol.html",
        {
            "form": code_form,
            "next": next_url,
            "qr_svg": mfa.qr_code_svg(device),
            "secret": mfa.secret_for_display(device),
        },
    )


def _enrolment_code_step(
    request: AuthenticatedHttpRequest, user: User, next_url: str
) -> HttpResponse:
    form = EnrolmentCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            accepted = mfa.accept_enrolment_code(user, code=form.cleaned_data["enrolment_code"])
        except mfa.CodeRefused as refusal:
            form.add_error("enrolment_code", str(refusal.message))
        else:
            request.session[ENROLMENT_CODE_KEY] = accepted.pk
            request.session.pop(PENDING_AUTHENTICATOR_KEY, None)
            return redirect(f"{request.path}?{urlencode({'next': next_url})}")
    return _render_enrolment_code_step(request, form, next_url)


def _render_enrolment_code_step(
    request: HttpRequest, form: EnrolmentCodeForm, next_url: str, problem: str = ""
) -> HttpResponse:
    return render(
        request,
        "accounts/mfa_enrolment_code.html",
        {"form": form, "next": next_url, "problem": problem},
    )


@login_required
def mfa_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    user: User = request.user
    next_url = _next_url(request)
    if not user.must_use_mfa or _is_verified(request):
        return redirect(next_url)
    if not mfa.has_authenticator(user):
        return redirect(mfa_step_url(user, next_url))
    form = CodeForm(
        request.POST or None,
        help_text=_("The six digits your authenticator app shows, or one of your recovery codes."),
    )
    if request.method == "POST" and form.is_valid():
        try:
            verification = mfa.verify(user, code=form.cleaned_data["code"])
        except mfa.CodeRefused as refusal:
            form.add_error("code", str(refusal.message))
        else:
            _mark_verified(request, verification.device)
            if verification.used_recovery_code:
                messages.warning(
                    request,
                    _(
                        "You signed in with a recovery code; %(left)d left. "
                        "Make new ones from the recovery codes page."
                    )
                    % {"left": verification.recovery_codes_left},
                )
            return redirect(next_url)
    return render(request, "accounts/mfa_verify.html", {"form": form, "next": next_url})


@login_required
def mfa_recovery_codes(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Make new recovery codes. Asks for a fresh authenticator code even in a verified session:
    a session left open on a shared computer must not be enough to mint new ways in."""
    user: User = request.user
    if not mfa.has_authenticator(user):
        return redirect("home")
    form = CodeForm(
        request.POST or None, help_text=_("The six digits your authenticator app shows now.")
    )
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.regenerate_recovery_codes(user, code=form.cleaned_data["code"])
        except mfa.CodeRefused as refusal:
            form.add_error("code", str(refusal.message))
        else:
            return render(
                request,
                "accounts/mfa_recovery_codes.html",
                {"codes": codes, "next": resolve_url("home"), "enrolled": False},
            )
    return render(
        request,
        "accounts/mfa_regenerate.html",
        {"form": form, "left": mfa.recovery_codes_left(user)},
    )


# Administration of the agency's accounts: who can sign in, and ending their sessions.


def user_list(request: HttpRequest) -> HttpResponse:
    manager = require_perm(request.user, Perm.MANAGE_USERS)
    users = services.users_managed_by(manager)
    return render(request, "accounts/users.html", {"users": users})


def _managed_user(request: HttpRequest, user_id: int) -> tuple[User, User]:
    """(the administrator, the account they manage)."""
    manager = require_perm(request.user, Perm.MANAGE_USERS)
    # Someone of another agency is "not found", exactly like no one.
    return manager, get_object_or_404(User, pk=user_id, agency_id=manager.agency_id)


def user_end_sessions(request: HttpRequest, user_id: int) -> HttpResponse:
    manager, target = _managed_user(request, user_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    services.end_sessions(target, by=manager)
    messages.success(
        request, _("%(name)s has been signed out everywhere.") % {"name": target.username}
    )
    return redirect("accounts:users")


def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    manager, target = _managed_user(request, user_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.deactivate_user(target, by=manager)
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("%(name)s can no longer sign in; their sessions have ended.")
            % {"name": target.username},
        )
    return redirect("accounts:users")


def user_reset_two_factor(request: HttpRequest, user_id: int) -> HttpResponse:
    manager, target = _managed_user(request, user_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.reset_two_factor(target, by=manager)
    except CaseworkError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("%(name)s has been signed out and will set up two-factor sign-in again.")
            % {"name": target.username},
        )
    return redirect("accounts:users")


@never_cache
def user_issue_enrolment_code(request: HttpRequest, user_id: int) -> HttpResponse:
    """Issue a code and show it this once: it is not kept, sent, or put in a message."""
    manager, target = _managed_user(request, user_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        issued = services.issue_enrolment_code(target, by=manager)
    except CaseworkError as error:
        messages.error(request, str(error.message))
        return redirect("accounts:users")
    return render(
        request,
        "accounts/enrolment_code.html",
        {"account": target, "issued": issued, "hours": mfa.enrolment_code_lifetime_hours()},
    )


# Matching registrations with other agencies (off until both agree).


@login_required
@require_http_methods(["GET", "POST"])
def match_agreements(request: AuthenticatedHttpRequest) -> HttpResponse:
    manager = require_perm(request.user, Perm.MANAGE_CONFIGURATION)
    if request.method == "POST":
        agency = get_object_or_404(Agency, code=request.POST.get("agency", ""))
        try:
            services.set_match_agreement(
                by=manager, with_agency=agency, agree=request.POST.get("agree") == "yes"
            )
        except CaseworkError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Saved."))
        return redirect("accounts:match_agreements")
    partners = services.match_partners(manager)
    return render(request, "accounts/match_agreements.html", {"partners": partners})
