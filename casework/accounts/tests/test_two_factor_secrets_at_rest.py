"""Authenticator secrets and recovery codes are encrypted by the vault, never stored in clear.

The attack: django-otp kept them in clear (otp_totp_totpdevice.key, otp_static_statictoken.token),
so a database backup was enough to make codes and defeat the second factor.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from django.apps import apps
from django.db import connection
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.accounts import mfa
from casework.accounts.models import Authenticator, RecoveryCode, RecoveryCodeSet
from casework.accounts.tests.conftest import ENROL, begin_enrolment, code_for
from casework.vault import keys, rotation
from casework.vault.crypto import key_id_of
from casework.vault.models import DataKey

VERIFY = "/accounts/two-factor/"
devices_migration = importlib.import_module(
    "casework.accounts.migrations.0005_two_factor_devices_encrypted"
)


def _enrol_over_http(user: Any, login: Any, enrolment_code: Any) -> tuple[Any, str, list[str]]:
    """Set up as the person does; return the device, the secret the page showed, the codes."""
    client = login(user)
    device = begin_enrolment(client, enrolment_code(user))
    page = client.get(ENROL).content.decode()
    (shown,) = re.findall(r'<code class="secret">([A-Z2-7 ]+)</code>', page)
    response = client.post(ENROL, {"code": code_for(device)})
    codes = re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4})</code>", response.content.decode())
    assert len(codes) == 10
    return device, shown.replace(" ", ""), codes


def _every_stored_value() -> list[str]:
    """Every cell of every table, read with SQL as a backup would hold it."""
    values: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        values.append(bytes(value).decode("latin-1"))
                    elif value is not None:
                        values.append(str(value))
    return values


def test_no_table_holds_the_secret_or_a_recovery_code_in_clear(
    mfa_required: Any, amina: Any, login: Any, enrolment_code: Any
) -> None:
    device, base32_secret, codes = _enrol_over_http(amina, login, enrolment_code)
    hex_secret = device.bin_key.hex()
    assert device.base32_secret == base32_secret

    needles = {hex_secret, hex_secret.upper(), base32_secret, base32_secret.lower()}
    for code in codes:
        needles |= {code, code.replace("-", ""), code.upper(), code.replace("-", "").upper()}
    stored = _every_stored_value()

    assert "amina@example.org" in stored  # the scan does read the tables, cell by cell
    leaks = [needle for needle in needles for value in stored if needle in value]
    assert not leaks
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_authenticator WHERE id = %s", [device.pk])
        assert cursor.fetchone()[0].startswith("cw1$")
    # The person still signs in with both.
    assert login(amina).post(VERIFY, {"code": code_for(device, steps_ahead=1)}).status_code == 302
    assert login(amina).post(VERIFY, {"code": codes[0]}).status_code == 302


def test_key_rotation_reencrypts_secrets_and_recovery_codes(
    mfa_required: Any, amina: Any, login: Any, enrolment_code: Any
) -> None:
    device, _secret, codes = _enrol_over_http(amina, login, enrolment_code)
    labels = {table.label: table.columns for table in rotation.encrypted_tables()}
    assert [column for column, _context in labels["accounts.authenticator"]] == ["secret"]
    assert [column for column, _context in labels["accounts.recoverycode"]] == ["code"]
    # Staff secrets are instance data: under the instance's key, not an agency's.
    old_key = DataKey.objects.get(
        purpose=DataKey.Purpose.DATA, is_primary=True, agency__isnull=True
    ).pk

    new_keys, report = rotation.rotate_data_keys()
    (new_key,) = [key for key in new_keys if key.agency_id is None]

    assert report.rewritten["accounts.authenticator"] == 1
    assert report.rewritten["accounts.recoverycode"] == 10
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_authenticator")
        secrets_stored = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT code FROM accounts_recoverycode")
        codes_stored = [row[0] for row in cursor.fetchall()]
    assert {key_id_of(value) for value in secrets_stored + codes_stored} == {new_key.pk}
    assert new_key.pk != old_key
    keys.clear_cache()
    assert login(amina).post(VERIFY, {"code": code_for(device, steps_ahead=1)}).status_code == 302
    assert login(amina).post(VERIFY, {"code": codes[1]}).status_code == 302


def test_the_migration_moves_clear_devices_into_the_vault_and_deletes_them(
    amina: Any, sam: Any
) -> None:
    clear = TOTPDevice.objects.create(user=amina, name="authenticator", confirmed=True)
    TOTPDevice.objects.create(user=sam, name="authenticator", confirmed=False)
    static = StaticDevice.objects.create(user=amina, name="recovery", confirmed=True)
    StaticToken.objects.bulk_create(
        StaticToken(device=static, token=token) for token in ("aaaabbbb", "ccccdddd")
    )

    devices_migration.move_into_the_vault(apps, None)

    assert not TOTPDevice.objects.exists()
    assert not StaticDevice.objects.exists() and not StaticToken.objects.exists()
    moved = Authenticator.objects.get(user=amina)
    assert moved.confirmed and moved.secret == clear.key
    assert not Authenticator.objects.filter(user=sam).exists()  # a set-up begun starts again
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_authenticator")
        assert cursor.fetchone()[0].startswith("cw1$")
        cursor.execute("SELECT code FROM accounts_recoverycode")
        assert all(row[0].startswith("cw1$") for row in cursor.fetchall())
    assert mfa.recovery_codes_left(amina) == 2
    # Still enrolled: her authenticator and her recovery codes work as before.
    assert mfa.verify(amina, code=code_for(moved)).device == moved
    verification = mfa.verify(amina, code="CCCC-DDDD")
    assert verification.used_recovery_code and verification.recovery_codes_left == 1
    assert verification.device == RecoveryCodeSet.objects.get(user=amina)


def test_the_migration_can_be_reversed_for_the_code_before_it(amina: Any) -> None:
    device = Authenticator.objects.create(user=amina, name="authenticator", confirmed=True)
    mfa._new_recovery_codes(amina)
    codes = {str(code) for code in RecoveryCode.objects.values_list("code", flat=True)}

    devices_migration.move_back_out(apps, None)

    assert TOTPDevice.objects.get(user=amina).key == device.secret
    assert set(StaticToken.objects.values_list("token", flat=True)) == codes
    assert not Authenticator.objects.exists() and not RecoveryCodeSet.objects.exists()
