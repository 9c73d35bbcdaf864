"""Account actions that must leave an audit trail: ending sessions, deactivating a user,
issuing an enrolment code for two-factor sign-in, resetting a user's two-factor sign-in (each
of ending, deactivating and resetting also revokes the user's API tokens), service accounts.

Sessions are ended by bumping `User.session_generation`, which is part of the session auth hash
(see User.get_session_auth_hash): Django drops every session of the user on its next request,
on any device, without our having to find the session rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.accounts import mfa
from casework.accounts.models import (
    Agency,
    Authenticator,
    EnrolmentCode,
    MatchAgreement,
    RecoveryCodeSet,
    Team,
    User,
)
from casework.accounts.roles import ROLES_SEEING_PERSONAL_DATA, Perm, Role
from casework.accounts.tokens import revoke_all
from casework.audit.log import record
from casework.core.errors import FieldErrors, NotAllowed


def _check_may_manage(user: User, *, by: User) -> None:
    """Administrators manage the users of their own agency; anyone may end their own sessions."""
    if by.pk == user.pk or by.is_superuser:
        return
    if not (by.has_casework_perm(Perm.MANAGE_USERS) and by.agency_id == user.agency_id):
        raise NotAllowed(_("You may not manage this user."))


def _bump_generation(user: User, **fields: object) -> None:
    # F(): two administrators ending sessions at the same moment both take effect.
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1, **fields)
    user.refresh_from_db(fields=["session_generation", *fields])


@transaction.atomic
def end_sessions(user: User, *, by: User) -> None:
    """Sign the user out everywhere, at once."""
    _check_may_manage(user, by=by)
    _bump_generation(user)
    revoke_all(user, by=by, reason="sessions_ended")
    record("accounts.sessions.ended", by=by, target=user)


@transaction.atomic
def deactivate_user(user: User, *, by: User) -> None:
    """Stop the user signing in, and end every session they have now."""
    _check_may_manage(user, by=by)
    if by.pk == user.pk:
        raise NotAllowed(_("You cannot deactivate your own account."))
    if not user.is_active:
        raise NotAllowed(_("This account is already deactivated."), code="already_inactive")
    _bump_generation(user, is_active=False)
    revoke_all(user, by=by, reason="deactivated")
    record("accounts.user.deactivated", by=by, target=user)


@dataclass(frozen=True)
class IssuedEnrolmentCode:
    """The code itself exists only here, to be shown once; the database keeps its digest."""

    code: str
    expires_at: datetime.datetime


def _usable_enrolment_codes(user: User) -> QuerySet[EnrolmentCode]:
    return EnrolmentCode.objects.filter(
        user=user, used_at__isnull=True, voided_at__isnull=True, expires_at__gt=timezone.now()
    )


@transaction.atomic
def issue_enrolment_code(user: User, *, by: User | None) -> IssuedEnrolmentCode:
    """A single-use, time-limited code without which the user cannot set up two-factor sign-in.

    The administrator hands it over out of band (in person or by phone; never in the e-mail
    that carries an invitation or a password), so that whoever learns the password alone cannot
    bind their own authenticator. A new code voids the previous one, and any set-up begun with
    it. `by` is None when the server's operator issues it with `casework mfa issue-code`.
    """
    if by is not None:
        _check_may_manage(user, by=by)
        if by.pk == user.pk:
            raise NotAllowed(_("Another administrator must issue your enrolment code."))
    if not user.is_active:
        raise NotAllowed(_("This account is deactivated."), code="inactive")
    if mfa.has_authenticator(user):
        raise NotAllowed(
            _("This account has two-factor sign-in already; reset it first."),
            code="mfa_already_enrolled",
        )
    now = timezone.now()
    voided = _usable_enrolment_codes(user).update(voided_at=now)
    # A secret shown while setting up with an earlier code is never the one confirmed.
    Authenticator.objects.filter(user=user, confirmed=False).delete()
    code = mfa.new_enrolment_code()
    issued = EnrolmentCode.objects.create(
        user=user,
        digest=mfa.enrolment_code_digest(code),
        issued_by=by,
        issued_at=now,
        expires_at=now + mfa.enrolment_code_lifetime(),
    )
    record(
        "accounts.mfa.enrolment_code_issued",
        by=by,
        target=user,
        data={"enrolment_code": issued.pk, "voided": voided, "via": "screen" if by else "command"},
        agency_id=user.agency_id,
    )
    return IssuedEnrolmentCode(code=code, expires_at=issued.expires_at)


@transaction.atomic
def reset_two_factor(user: User, *, by: User) -> None:
    """For someone who lost their phone: remove their authenticator and recovery codes, void
    any enrolment code not yet used, and end their sessions. Setting up again (if their agency
    requires it, before reaching anything else) takes a fresh enrolment code."""
    _check_may_manage(user, by=by)
    if by.pk == user.pk:
        raise NotAllowed(_("Another administrator must reset your own two-factor sign-in."))
    removed, _detail = Authenticator.objects.filter(user=user).delete()
    removed += RecoveryCodeSet.objects.filter(user=user).delete()[0]
    voided = _usable_enrolment_codes(user).update(voided_at=timezone.now())
    if not removed and not voided:
        raise NotAllowed(_("This account has no two-factor sign-in to reset."), code="no_mfa")
    _bump_generation(user)
    revoke_all(user, by=by, reason="mfa_reset")
    record("accounts.mfa.reset", by=by, target=user, data={"voided": voided})


def users_managed_by(by: User) -> QuerySet[User]:
    """The staff list an administrator sees: their agency's accounts only, and no case data;
    whether each set up two-factor sign-in, and until when an enrolment code waits for them."""
    if by.agency_id is None:
        return User.objects.none()
    enrolled = Authenticator.objects.filter(user_id=OuterRef("pk"), confirmed=True)
    waiting = (
        EnrolmentCode.objects.filter(
            user_id=OuterRef("pk"),
            used_at__isnull=True,
            voided_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .order_by("-issued_at")
        .values("expires_at")[:1]
    )
    return (
        User.objects.filter(agency_id=by.agency_id)
        .select_related("team")
        .annotate(mfa_enrolled=Exists(enrolled), enrolment_code_expires=Subquery(waiting))
        .order_by("username")
    )


# --- matching registrations with another agency -------------------------------------------------


@dataclass(frozen=True)
class MatchPartner:
    agency: Agency
    we_agree: bool
    they_agree: bool

    @property
    def matching(self) -> bool:
        return self.we_agree and self.they_agree


def match_partners(by: User) -> list[MatchPartner]:
    """The other case-management agencies, and whether each side agreed to match (two queries)."""
    if by.agency_id is None:
        return []
    ours = set(
        MatchAgreement.objects.filter(agency_id=by.agency_id).values_list(
            "with_agency_id", flat=True
        )
    )
    theirs = set(
        MatchAgreement.objects.filter(with_agency_id=by.agency_id).values_list(
            "agency_id", flat=True
        )
    )
    return [
        MatchPartner(agency, agency.pk in ours, agency.pk in theirs)
        for agency in Agency.objects.filter(
            kind=Agency.Kind.CASE_MANAGEMENT, is_active=True
        ).exclude(pk=by.agency_id)
    ]


@transaction.atomic
def set_match_agreement(*, by: User, with_agency: Agency, agree: bool) -> None:
    """Our agency's side of an agreement to match registrations with `with_agency`. Matching
    starts only when both agencies have agreed, and stops when either withdraws."""
    if not by.has_casework_perm(Perm.MANAGE_CONFIGURATION) or by.agency_id is None:
        raise NotAllowed(_("Only an administrator of the agency can agree to this."))
    if with_agency.pk == by.agency_id or with_agency.kind != Agency.Kind.CASE_MANAGEMENT:
        raise NotAllowed(_("Choose another case-management agency."))
    if agree:
        MatchAgreement.objects.get_or_create(
            agency_id=by.agency_id,
            with_agency=with_agency,
            defaults={"agreed_by": by, "agreed_at": timezone.now()},
        )
    else:
        MatchAgreement.objects.filter(agency_id=by.agency_id, with_agency=with_agency).delete()
    record(
        "accounts.match_agreement.agreed" if agree else "accounts.match_agreement.withdrawn",
        by=by,
        target=with_agency,
        data={"with": with_agency.code},
    )


# --- service accounts ---------------------------------------------------------------------------


def _via(by: User | None) -> str:
    return "command" if by is None else "screen"


def roles_for_service_accounts(*, by: User | None) -> list[str]:
    """An administrator may give a service account only a role that sees no personal data: an
    integration that reads names is made by an operator at the server (`casework token
    service-account`), so one administrator cannot mint a way around two-factor sign-in into
    the case files."""
    roles = [role for role in Role.values if role != Role.NONE]
    if by is None:
        return roles
    return [role for role in roles if role not in ROLES_SEEING_PERSONAL_DATA]


@transaction.atomic
def create_service_account(
    *, by: User | None, username: str, role: str, team: Team | None, agency: Agency | None = None
) -> User:
    """An account for an integration: no password (it cannot sign in), tokens only. `by` is the
    agency's administrator (screen), or None for an operator naming the `agency` (command)."""
    if by is not None and (not by.has_casework_perm(Perm.MANAGE_USERS) or by.agency_id is None):
        raise NotAllowed(_("Only an administrator of the agency can do this."))
    agency_id = by.agency_id if by is not None else (agency.pk if agency is not None else None)
    if agency_id is None:
        raise NotAllowed(_("Name the agency of the service account."))
    if role not in roles_for_service_accounts(by=by):
        raise FieldErrors(
            {
                "role": [
                    _(
                        "A service account that sees personal data is made at the server "
                        "(casework token service-account)."
                    )
                ]
            }
        )
    if team is not None and team.agency_id != agency_id:
        raise FieldErrors({"team": [_("Choose a team of your agency.")]})
    if role in (Role.CASEWORKER, Role.SUPERVISOR) and team is None:
        raise FieldErrors({"team": [_("A caseworker or supervisor belongs to a team.")]})
    try:
        with transaction.atomic():
            account = User(
                username=username,
                agency_id=agency_id,
                team=team,
                role=role,
                is_service_account=True,
            )
            account.set_unusable_password()
            account.save()
    except IntegrityError:
        raise FieldErrors({"username": [_("This username is taken.")]}) from None
    record(
        "accounts.service_account.created",
        by=by,
        target=account,
        agency_id=agency_id,
        data={"role": role, "team": team.pk if team else None, "via": _via(by)},
    )
    return account
