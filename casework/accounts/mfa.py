"""Two-factor sign-in: an authenticator app (TOTP) and ten one-time recovery codes.

Built on django-otp, with Casework's own devices (accounts/models.py: `Authenticator`,
`RecoveryCodeSet`) whose secret and codes the vault encrypts. A user has at most one confirmed
Authenticator and one RecoveryCodeSet; the set is kept when codes are made anew (only its codes
change): a session verified with a recovery code points at it, and deleting it would silently
unverify the session.

Setting up takes an enrolment code besides the password: an administrator issues it
(`services.issue_enrolment_code`) and hands it over out of band, so whoever has only a new
user's password cannot bind their own authenticator first. The person gives the enrolment code
first (`accept_enrolment_code`); only then is a secret made and shown, one per session
(`pending_authenticator`), and the code is used up when the authenticator is confirmed
(`confirm_enrolment`).

Every enrolment, verification, failure and recovery-code use is audited here, in the same
transaction as the change it records. Audit data holds codes ("totp", "invalid") and ids, never
a code the person typed.
"""

from __future__ import annotations

import datetime
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django_otp.models import Device

from casework.accounts.models import (
    Authenticator,
    EnrolmentCode,
    RecoveryCode,
    RecoveryCodeSet,
    User,
)
from casework.audit.log import record
from casework.audit.models import AuditEntry
from casework.core.errors import CaseworkError

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "authenticator"
RECOVERY_DEVICE_NAME = "recovery"
# How long an enrolment code stays valid unless CASEWORK_ENROLMENT_CODE_HOURS says otherwise:
# three days covers a weekend between the administrator issuing it and the person's first day.
DEFAULT_ENROLMENT_CODE_HOURS = 72

_SEPARATORS = re.compile(r"[\s\-]+")
# Crockford's base32: no I, L, O or U, so a code read out over the phone is not misheard.
_ENROLMENT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ENROLMENT_LENGTH = 12  # 60 random bits
_ENROLMENT_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_DIGEST_SALT = "casework.accounts.enrolment_code"


class CodeRefused(CaseworkError):
    """A wrong, reused or throttled code. The message never says which device was tried."""

    code = "mfa_code_refused"


@dataclass(frozen=True)
class Verification:
    device: Device
    used_recovery_code: bool
    recovery_codes_left: int


def has_authenticator(user: User) -> bool:
    return Authenticator.objects.filter(user=user, confirmed=True).exists()


# --- enrolment codes ---------------------------------------------------------------------------


def enrolment_code_lifetime_hours() -> int:
    return int(getattr(settings, "CASEWORK_ENROLMENT_CODE_HOURS", DEFAULT_ENROLMENT_CODE_HOURS))


def enrolment_code_lifetime() -> datetime.timedelta:
    return datetime.timedelta(hours=enrolment_code_lifetime_hours())


def new_enrolment_code() -> str:
    """A fresh code as shown to the administrator: three groups of four, e.g. 7K2M-Q9XD-4HTB."""
    raw = "".join(secrets.choice(_ENROLMENT_ALPHABET) for _ in range(_ENROLMENT_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _ENROLMENT_LENGTH, 4))


def enrolment_code_digest(code: str) -> str:
    """What is stored: a digest keyed with the instance's secret key, never the code. Read back
    from a database copy, it tells nothing (and cannot be tried offline without the key)."""
    normal = _SEPARATORS.sub("", code).upper().translate(_ENROLMENT_LOOKALIKES)
    return salted_hmac(_DIGEST_SALT, normal, algorithm="sha256").hexdigest()


def _latest_enrolment_code(user: User) -> EnrolmentCode | None:
    return (
        EnrolmentCode.objects.select_for_update()
        .filter(user=user)
        .order_by("-issued_at", "-pk")
        .first()
    )


def _usable_enrolment_code(user: User, enrolment_code_id: int) -> EnrolmentCode | str:
    """The user's enrolment code if it can still be used, else why not (a refusal reason)."""
    code = EnrolmentCode.objects.select_for_update().filter(pk=enrolment_code_id, user=user).first()
    if code is None or code.voided_at is not None:
        return "voided"
    if code.used_at is not None:
        return "used"
    if not code.is_usable(timezone.now()):
        return "expired"
    return code


def _enrolment_refusal(reason: str) -> CodeRefused:
    messages = {
        "throttled": _("Too many wrong codes. Wait a minute, then try again."),
        "expired": _("This enrolment code has expired. Ask your administrator for a new one."),
        "used": _(
            "This enrolment code has already been used. Ask your administrator for a new one."
        ),
        "voided": _(
            "This enrolment code has been replaced or withdrawn. "
            "Ask your administrator for a new one."
        ),
    }
    message = messages.get(
        reason,
        _("That enrolment code is not valid. Check it, or ask your administrator for a new one."),
    )
    return CodeRefused(message, code=f"mfa_enrolment_code_{reason}", field="enrolment_code")


def accept_enrolment_code(user: User, *, code: str) -> EnrolmentCode:
    """The first step of setting up: check the enrolment code the administrator handed over.

    Wrong, expired, used or withdrawn codes are refused, audited (without the code) and counted
    on the person's latest enrolment code, whose throttling makes each further try wait longer.
    Nothing is used up here; `confirm_enrolment` uses the code once the authenticator answers.
    """
    with transaction.atomic():
        _lock_user(user)
        if has_authenticator(user):
            raise CodeRefused(
                _("Two-factor sign-in is already set up."), code="mfa_already_enrolled"
            )
        outcome = _check_enrolment_code(user, _latest_enrolment_code(user), code)
        if isinstance(outcome, EnrolmentCode):
            return outcome
    raise _enrolment_refusal(outcome)


def _check_enrolment_code(
    user: User, latest: EnrolmentCode | None, code: str
) -> EnrolmentCode | str:
    """The matching usable enrolment code, or the audited reason `code` is refused."""
    if latest is not None and not latest.verify_is_allowed()[0]:
        return _failed(user, step="enrolment_code", reason="throttled")
    matched = (
        EnrolmentCode.objects.filter(user=user, digest=enrolment_code_digest(code))
        .order_by("-pk")
        .first()
    )
    if matched is None:
        reason = "invalid"
    elif matched.used_at is not None:
        reason = "used"
    elif matched.voided_at is not None:
        reason = "voided"
    elif timezone.now() >= matched.expires_at:
        reason = "expired"
    else:
        matched.throttle_reset(commit=True)
        return matched
    if latest is not None:
        latest.throttle_increment(commit=True)
    return _failed(user, step="enrolment_code", reason=reason)


# --- setting up the authenticator ------------------------------------------------------------


def pending_authenticator(
    user: User, *, enrolment_code_id: int, device_id: int | None
) -> Authenticator:
    """The not-yet-confirmed authenticator this session is setting up (made on first call).

    The same one on every reload, so a QR code already scanned stays valid; but never one shown
    to another session, so a secret seen by someone else is never the one confirmed. Refused
    once the enrolment code is no longer usable (replaced, withdrawn, expired).
    """
    with transaction.atomic():
        usable = _usable_enrolment_code(user, enrolment_code_id)
        if isinstance(usable, str):
            raise _enrolment_refusal(usable)
        device = Authenticator.objects.filter(pk=device_id, user=user, confirmed=False).first()
        if device is None:
            device = Authenticator.objects.create(
                user=user, name=AUTHENTICATOR_NAME, confirmed=False
            )
    return device


def secret_for_display(device: Authenticator) -> str:
    """The base32 secret in groups of four, for typing into an app by hand."""
    secret = device.base32_secret
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(device: Authenticator) -> SafeString:
    """The otpauth:// URL as an inline SVG, drawn here: the secret never goes to a QR service."""
    # A white background and the standard four-module margin: scanners need both.
    image = qrcode.make(
        device.config_url, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10, border=4
    )
    # Safe: the markup is generated by the qrcode library from our own URL, and contains only
    # path data (no text from the user).
    return mark_safe(image.to_string(encoding="unicode"))  # noqa: S308


def format_recovery_code(token: str) -> str:
    return f"{token[:4]}-{token[4:]}"


def _new_recovery_code() -> str:
    """Eight base32 characters (40 random bits), lower case."""
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "".join(secrets.choice(alphabet) for _ in range(8))


def _normalise(code: str) -> str:
    return _SEPARATORS.sub("", code).lower()


def _is_authenticator_code(code: str, device: Authenticator) -> bool:
    return code.isdigit() and len(code) == device.digits


def _failed(user: User, *, step: str, reason: str) -> str:
    """Audit a refused code; the caller commits this (and the throttle count) before raising."""
    record(
        "accounts.mfa.failed",
        by=user,
        target=user,
        data={"step": step, "reason": reason},
        outcome=AuditEntry.Outcome.FAILED,
    )
    return reason


def _refusal(reason: str) -> CodeRefused:
    if reason == "throttled":
        return CodeRefused(
            _("Too many wrong codes. Wait a minute, then try again."), code="mfa_throttled"
        )
    return CodeRefused(_("That code is not valid. Check it and try again."))


def _check_authenticator(device: Authenticator, code: str, *, user: User, step: str) -> str | None:
    """None if the code is good, else the audited reason it was refused."""
    allowed, _details = device.verify_is_allowed()
    if not allowed:
        return _failed(user, step=step, reason="throttled")
    if not _is_authenticator_code(code, device):
        # Not even the right shape: count it towards throttling all the same.
        device.throttle_increment(commit=True)
        return _failed(user, step=step, reason="invalid")
    if not device.verify_token(code):  # counts the failure itself
        return _failed(user, step=step, reason="invalid")
    return None


def _new_recovery_codes(user: User) -> list[str]:
    code_set, _created = RecoveryCodeSet.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    code_set.codes.all().delete()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(RecoveryCode(code_set=code_set, code=code) for code in codes)
    code_set.throttle_reset(commit=False)
    code_set.confirmed = True
    code_set.save()
    return [format_recovery_code(code) for code in codes]


def _lock_user(user: User) -> None:
    """Serialise MFA changes of one person (two tabs confirming at once enrol one device)."""
    User.objects.select_for_update().filter(pk=user.pk).first()


# The actions below commit a refusal (its audit entry and the throttle count) and only then
# raise: raising inside the transaction would roll both back and make guessing free.


def confirm_enrolment(
    user: User, *, enrolment_code_id: int, device_id: int, code: str
) -> tuple[Authenticator, list[str]]:
    """Confirm the session's pending authenticator with a code from it; use up the enrolment
    code; return the authenticator and fresh recovery codes.

    Refused once an authenticator is confirmed: replacing it takes an administrator's reset and
    a new enrolment code, never just a password.
    """
    with transaction.atomic():
        _lock_user(user)
        if has_authenticator(user):
            raise CodeRefused(
                _("Two-factor sign-in is already set up."), code="mfa_already_enrolled"
            )
        enrolment_code = _usable_enrolment_code(user, enrolment_code_id)
        if isinstance(enrolment_code, str):
            raise _enrolment_refusal(enrolment_code)
        device = (
            Authenticator.objects.select_for_update()
            .filter(pk=device_id, user=user, confirmed=False)
            .first()
        )
        if device is None:
            raise CodeRefused(_("Start again: the set-up page has expired."), code="mfa_no_pending")
        refused = _check_authenticator(device, _normalise(code), user=user, step="enrol")
        if refused is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            Authenticator.objects.filter(user=user, confirmed=False).delete()
            enrolment_code.used_at = timezone.now()
            enrolment_code.save(update_fields=["used_at"])
            codes = _new_recovery_codes(user)
            record(
                "accounts.mfa.enrolled",
                by=user,
                target=user,
                data={"method": "totp", "enrolment_code": enrolment_code.pk},
            )
    if refused is not None:
        raise _refusal(refused)
    return device, codes


def verify(user: User, *, code: str) -> Verification:
    """Check a code from the authenticator (six digits) or a recovery code (anything else).

    The devices are locked for the check, so one code cannot be used twice by parallel requests.
    """
    with transaction.atomic():
        outcome = _verify_locked(user, _normalise(code))
    if isinstance(outcome, str):
        raise _refusal(outcome)
    return outcome


def _verify_locked(user: User, code: str) -> Verification | str:
    authenticator = (
        Authenticator.objects.select_for_update().filter(user=user, confirmed=True).first()
    )
    if authenticator is None:
        raise CodeRefused(_("Set up two-factor sign-in first."), code="mfa_not_enrolled")
    if _is_authenticator_code(code, authenticator):
        refused = _check_authenticator(authenticator, code, user=user, step="verify")
        if refused is not None:
            return refused
        record("accounts.mfa.verified", by=user, target=user, data={"method": "totp"})
        return Verification(device=authenticator, used_recovery_code=False, recovery_codes_left=-1)

    recovery = RecoveryCodeSet.objects.select_for_update().filter(user=user, confirmed=True).first()
    if recovery is None:
        return _failed(user, step="verify", reason="invalid")
    allowed, _details = recovery.verify_is_allowed()
    if not allowed:
        return _failed(user, step="verify", reason="throttled")
    if not recovery.verify_token(code):  # counts the failure itself
        return _failed(user, step="verify", reason="invalid")
    left = recovery.codes.count()
    record("accounts.mfa.verified", by=user, target=user, data={"method": "recovery"})
    record("accounts.mfa.recovery_used", by=user, target=user, data={"left": left})
    return Verification(device=recovery, used_recovery_code=True, recovery_codes_left=left)


def regenerate_recovery_codes(user: User, *, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), for a fresh code from the authenticator."""
    with transaction.atomic():
        _lock_user(user)
        authenticator = (
            Authenticator.objects.select_for_update().filter(user=user, confirmed=True).first()
        )
        if authenticator is None:
            raise CodeRefused(_("Set up two-factor sign-in first."), code="mfa_not_enrolled")
        refused = _check_authenticator(
            authenticator, _normalise(code), user=user, step="regenerate"
        )
        if refused is None:
            codes = _new_recovery_codes(user)
            record("accounts.mfa.recovery_regenerated", by=user, target=user)
    if refused is not None:
        raise _refusal(refused)
    return codes


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(code_set__user=user, code_set__confirmed=True).count()


def mfa_step_url(user: User, next_url: str = "") -> str:
    """Where a signed-in user who still owes a second factor goes: set-up, or the code prompt."""
    name = "accounts:mfa_verify" if has_authenticator(user) else "accounts:mfa_enrol"
    url = reverse(name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url
