from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import secrets
import time
from binascii import unhexlify
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin
from django_otp.oath import TOTP

from casework.accounts.roles import (
    ADMINISTRATOR_PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLE_SENSITIVE_FIELDS,
    ROLES_SEEING_PERSONAL_DATA,
    Perm,
    Role,
    Sensitive,
)
from casework.core.models import TimeStampedModel
from casework.vault.crypto import Unreadable
from casework.vault.fields import EncryptedCharField


class Agency(TimeStampedModel):
    """An organisation using Casework: a case-management agency or a partner service provider."""

    class Kind(models.TextChoices):
        CASE_MANAGEMENT = "case_management", _("Case management agency")
        SERVICE_PROVIDER = "service_provider", _("Partner service provider")

    code = models.CharField(
        _("code"),
        max_length=12,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{2,12}$", _("2–12 capital letters or digits."))],
        help_text=_("Used in case references, e.g. AGY-2026-000123."),
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.CASE_MANAGEMENT
    )
    require_mfa = models.BooleanField(
        _("require two-factor sign-in"),
        default=True,
        help_text=_("For every role that can see personal data."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # How long the personal data of a person whose cases are all closed is kept before retention
    # anonymises it (casework/retention). Seven years by default: a common legal minimum.
    retention_days = models.PositiveIntegerField(
        _("retention period (days)"),
        default=7 * 365,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Personal data is anonymised this many days after a person's last case closed."
        ),
    )

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class MatchAgreement(models.Model):
    """One agency's agreement that registrations may be matched against another's persons.

    Off by default: even "a possible match exists in agency Y" tells a caseworker that someone is
    another agency's client. Matching across two agencies needs both rows, A→B and B→A
    (`MatchAgreement.agencies_matched_with`), each recorded by that agency's administrator.
    """

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="match_agreements")
    with_agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    agreed_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    agreed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("agreement to match registrations")
        constraints = [
            models.UniqueConstraint(fields=["agency", "with_agency"], name="one_match_agreement")
        ]

    def __str__(self) -> str:
        return f"{self.agency_id} matches with {self.with_agency_id}"

    @classmethod
    def agencies_matched_with(cls, agency_id: int) -> list[int]:
        """The agencies whose persons a registration in `agency_id` is matched against (both
        agreed), besides its own."""
        theirs = cls.objects.filter(with_agency_id=agency_id).values_list("agency_id", flat=True)
        return list(
            cls.objects.filter(agency_id=agency_id, with_agency_id__in=theirs).values_list(
                "with_agency_id", flat=True
            )
        )


class Team(TimeStampedModel):
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("team")
        ordering = ["agency", "name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "name"], name="team_name_unique_in_agency")
        ]

    def __str__(self) -> str:
        return self.name


class CaseworkUserManager(UserManager["User"]):
    pass


class User(AbstractUser):
    """A member of staff (or of a partner organisation). Never a client."""

    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.NONE)
    is_administrator = models.BooleanField(
        _("administrator"),
        default=False,
        help_text=_("Manages users, teams, configuration and the audit log of the agency."),
    )
    # Bumped to end every session of the user at once (disable, "end sessions", password change,
    # two-factor reset); API tokens are bound to it too, so they end with the sessions.
    session_generation = models.PositiveIntegerField(default=0, editable=False)
    # An account for an integration (another system reading or writing through the API with a
    # token): it never signs in with a password, so it has none and owes no second factor.
    is_service_account = models.BooleanField(_("service account"), default=False, db_default=False)

    objects: ClassVar[CaseworkUserManager] = CaseworkUserManager()

    class Meta:
        verbose_name = _("user")
        indexes = [models.Index(fields=["agency", "team", "role"], name="user_agency_team_role")]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_session_auth_hash(self) -> str:
        # Django checks this on every request: changing the generation invalidates all sessions.
        base = super().get_session_auth_hash()
        return hmac.new(
            base.encode(), f"generation:{self.session_generation}".encode(), hashlib.sha256
        ).hexdigest()

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A new password ends every session and voids every API token of the user (both are
        # bound to the generation), whichever screen or command set it. Django's own rehash of a
        # password at sign-in (a stronger hasher) clears `_password` first: no new generation.
        if self.pk is not None and getattr(self, "_password", None) is not None:
            self.session_generation += 1
            fields = kwargs.get("update_fields")
            if fields is not None:
                kwargs["update_fields"] = {*fields, "session_generation"}
        super().save(*args, **kwargs)

    def has_casework_perm(self, perm: Perm) -> bool:
        if not self.is_active:
            return False
        granted = ROLE_PERMISSIONS.get(self.role, frozenset())
        if self.is_administrator:
            granted = granted | ADMINISTRATOR_PERMISSIONS
        return perm in granted

    def sees(self, sensitive: Sensitive) -> bool:
        return self.is_active and sensitive in ROLE_SENSITIVE_FIELDS.get(self.role, frozenset())

    @property
    def must_use_mfa(self) -> bool:
        if self.is_service_account:
            return False
        agency_requires = self.agency.require_mfa if self.agency_id and self.agency else True
        return agency_requires and (
            self.role in ROLES_SEEING_PERSONAL_DATA or self.is_administrator or self.is_superuser
        )


# --- two-factor sign-in ---------------------------------------------------------------------------
# Casework's own django-otp devices: django-otp's TOTPDevice and StaticToken keep the secret and the
# recovery codes in clear, so a copy of the database would defeat the second factor. Here both are
# vault-encrypted fields (key rotation re-encrypts them with every other encrypted column). Being
# django-otp devices, `django_otp.login()` and `user.is_verified()` work with them unchanged.


_Device = TypeVar("_Device", bound=Device)


class DevicesManager(models.Manager[_Device]):
    """django-otp's DeviceManager, typed: `django_otp.devices_for_user()` calls it."""

    def devices_for_user(
        self, user: User, confirmed: bool | None = None
    ) -> models.QuerySet[_Device]:
        devices = self.filter(user=user)
        return devices if confirmed is None else devices.filter(confirmed=bool(confirmed))


def new_totp_secret() -> str:
    """160 random bits, hex-encoded (RFC 4226 recommends at least 128, and 160 for SHA-1)."""
    return secrets.token_hex(20)


class Authenticator(ThrottlingMixin, Device):
    """An authenticator app on the person's phone (TOTP, RFC 6238).

    A not-yet-confirmed one is being set up; a person has at most one confirmed. Codes are checked
    with one step of clock drift either way, and a code is accepted only once (`last_t`).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="authenticators")
    secret = EncryptedCharField(max_length=80, default=new_totp_secret, editable=False)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    # The time step of the last accepted code: only a later step is accepted next (no replay).
    last_t = models.BigIntegerField(default=-1)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    # A member of staff's secret: the instance's keys, not an agency's. A purge of the agency
    # deactivates its staff in its first step, ending their sessions and revoking their tokens
    # (retention/purge.py `start`); their two-factor secrets are no client's data and outlive it.
    vault_agency: ClassVar[str | None] = None
    objects: ClassVar[DevicesManager[Authenticator]] = DevicesManager()
    # Declared for mypy, which cannot see into django-otp's untyped Device to find it.
    _default_manager: ClassVar[DevicesManager[Authenticator]]

    class Meta:
        verbose_name = _("authenticator app")

    @property
    def is_readable(self) -> bool:
        """False once the vault can no longer decrypt the secret (its key destroyed)."""
        return bool(self.secret) and not isinstance(self.secret, Unreadable)

    @property
    def bin_key(self) -> bytes:
        return unhexlify(str(self.secret).encode())

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1))

    def verify_token(self, token: object) -> bool:
        """Check a code (counting a failure towards throttling); the caller locks the row."""
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        if not (self.is_readable and str(token).isdigit()):
            self.throttle_increment(commit=True)
            return False
        totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
        totp.time = time.time()
        if not totp.verify(int(str(token)), self.tolerance, self.last_t + 1):
            self.throttle_increment(commit=True)
            return False
        self.last_t = totp.t()
        self.drift = totp.drift
        self.throttle_reset(commit=False)
        self.last_used_at = timezone.now()
        self.save()
        return True

    @property
    def base32_secret(self) -> str:
        """The secret as authenticator apps take it."""
        return base64.b32encode(self.bin_key).decode("ascii")

    @property
    def config_url(self) -> str:
        """The otpauth:// URL an authenticator app reads from the QR code."""
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        label = f"{issuer}:{self.user.get_username()}" if issuer else self.user.get_username()
        params = {
            "secret": self.base32_secret,
            "algorithm": "SHA1",
            "digits": self.digits,
            "period": self.step,
        }
        query = urlencode(params)
        if issuer:
            query += f"&issuer={quote(issuer)}"
        return f"otpauth://totp/{quote(label)}?{query}"


class RecoveryCodeSet(ThrottlingMixin, Device):
    """A person's one-time recovery codes, as one django-otp device.

    Kept when the codes are made anew (only its codes change): a session verified with a recovery
    code points at this device, and deleting it would silently unverify that session.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_code_sets")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[DevicesManager[RecoveryCodeSet]] = DevicesManager()
    # Declared for mypy, which cannot see into django-otp's untyped Device to find it.
    _default_manager: ClassVar[DevicesManager[RecoveryCodeSet]]

    class Meta:
        verbose_name = _("recovery codes")

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1))

    def verify_token(self, token: object) -> bool:
        """Use up a recovery code (each works once); the caller locks the row."""
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        given = str(token).encode()
        match = None
        # Every code is compared, in constant time each: how long this takes tells nothing.
        for stored in self.codes.all():
            if hmac.compare_digest(str(stored.code).encode(), given) and match is None:
                match = stored
        if match is None:
            self.throttle_increment(commit=True)
            return False
        match.delete()
        self.throttle_reset(commit=False)
        self.last_used_at = timezone.now()
        self.save()
        return True


class RecoveryCode(models.Model):
    """One unused recovery code (deleted when used), encrypted like any personal field."""

    vault_agency: ClassVar[str | None] = None  # staff data, as the authenticator's secret
    code_set = models.ForeignKey(RecoveryCodeSet, on_delete=models.CASCADE, related_name="codes")
    code = EncryptedCharField(max_length=16)

    class Meta:
        verbose_name = _("recovery code")

    def __str__(self) -> str:
        return f"recovery code #{self.pk} of set #{self.code_set_id}"


class _Unthrottled(models.Model):
    """The end of ThrottlingMixin's `verify_is_allowed` chain for a model that is no Device."""

    class Meta:
        abstract = True

    def verify_is_allowed(self) -> tuple[bool, dict[str, object] | None]:
        return (True, None)


class EnrolmentCode(ThrottlingMixin, _Unthrottled):
    """A single-use, time-limited code an administrator hands a person out of band, without
    which their password alone cannot set up two-factor sign-in.

    Only a keyed digest is kept; the code is shown once, to the administrator who issued it.
    Issuing a new code voids the previous one, and so does resetting two-factor sign-in. Wrong
    codes are counted on the person's latest code and slow further tries down (django-otp's
    exponential throttling).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="enrolment_codes")
    digest = models.CharField(max_length=64)
    issued_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("enrolment code")
        indexes = [models.Index(fields=["user", "issued_at"], name="enrolment_code_user")]

    def __str__(self) -> str:
        return f"enrolment code #{self.pk} of user #{self.user_id}"

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1))

    def is_usable(self, now: datetime.datetime) -> bool:
        return self.used_at is None and self.voided_at is None and now < self.expires_at


class ApiToken(models.Model):
    """A personal access token for the API (or a service account's). Only its SHA-256 digest is
    stored; the token itself is shown once, when it is made.

    A token works only while all of these hold: not revoked, not expired, its owner active, and
    its `generation` equal to the owner's `session_generation` — so ending the owner's sessions,
    a new password or a two-factor reset void it, on every server at once. `scopes` limit it to
    reading, writing and/or exporting (casework/accounts/tokens.py checks them on every request).
    """

    class Scope(models.TextChoices):
        READ = "read", _("read")
        WRITE = "write", _("write")
        EXPORT = "export", _("export")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    scopes = models.CharField(_("scopes"), max_length=40, default="read")
    generation = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def scope_list(self) -> list[str]:
        return [scope for scope in self.scopes.split() if scope in ApiToken.Scope.values]


class AgencySettingChange(models.Model):
    """One change of one agency setting: who, when, old → new (casework/accounts/agency_settings.py).

    The rows are the settings' history; a setting's value on a day is the newest row on or before
    it (before its first row: that row's `previous`). Settings read on every request keep their
    current value in a column of their own model too, updated in the same transaction."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=60)
    value = models.JSONField()
    previous = models.JSONField(null=True)
    reason = models.CharField(max_length=300, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField()

    class Meta:
        ordering = ["-set_at", "-id"]
        indexes = [models.Index(fields=["agency", "key", "set_at"], name="setting_history")]

    def __str__(self) -> str:
        return f"{self.key} of agency {self.agency_id} at {self.set_at:%Y-%m-%d}"
