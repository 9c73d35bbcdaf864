"""Casework's own two-factor devices, with the authenticator secret and the recovery codes
encrypted by the vault; existing enrolments move into them and the clear rows are deleted.

django-otp's TOTPDevice.key and StaticToken.token held both in clear, so a database backup was
enough to make codes. People stay enrolled; a session verified with an old device is asked for
a code once more (its device id no longer exists). Unconfirmed set-ups are dropped: they start
again, with an enrolment code.
"""

import casework.accounts.models
import casework.vault.fields
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_into_the_vault(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    StaticDevice = apps.get_model("otp_static", "StaticDevice")
    StaticToken = apps.get_model("otp_static", "StaticToken")
    Authenticator = apps.get_model("accounts", "Authenticator")
    RecoveryCodeSet = apps.get_model("accounts", "RecoveryCodeSet")
    RecoveryCode = apps.get_model("accounts", "RecoveryCode")
    for old in TOTPDevice.objects.filter(confirmed=True).order_by("pk").iterator():
        new = Authenticator.objects.create(
            user_id=old.user_id,
            name=old.name,
            confirmed=True,
            secret=old.key,  # encrypted by the field on the way in
            step=old.step,
            t0=old.t0,
            digits=old.digits,
            tolerance=old.tolerance,
            drift=old.drift,
            last_t=old.last_t,
            throttling_failure_timestamp=old.throttling_failure_timestamp,
            throttling_failure_count=old.throttling_failure_count,
            last_used_at=old.last_used_at,
        )
        if old.created_at:
            Authenticator.objects.filter(pk=new.pk).update(created_at=old.created_at)
    for old in StaticDevice.objects.filter(confirmed=True).order_by("pk").iterator():
        code_set = RecoveryCodeSet.objects.create(
            user_id=old.user_id,
            name=old.name,
            confirmed=True,
            throttling_failure_timestamp=old.throttling_failure_timestamp,
            throttling_failure_count=old.throttling_failure_count,
            last_used_at=old.last_used_at,
        )
        RecoveryCode.objects.bulk_create(
            RecoveryCode(code_set=code_set, code=token)
            for token in StaticToken.objects.filter(device_id=old.pk).values_list(
                "token", flat=True
            )
        )
    StaticToken.objects.all().delete()
    StaticDevice.objects.all().delete()
    TOTPDevice.objects.all().delete()


def move_back_out(apps, schema_editor):
    """Only for going back to the code before this migration, which reads the clear tables."""
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    StaticDevice = apps.get_model("otp_static", "StaticDevice")
    StaticToken = apps.get_model("otp_static", "StaticToken")
    Authenticator = apps.get_model("accounts", "Authenticator")
    RecoveryCodeSet = apps.get_model("accounts", "RecoveryCodeSet")
    RecoveryCode = apps.get_model("accounts", "RecoveryCode")
    for new in Authenticator.objects.filter(confirmed=True).order_by("pk").iterator():
        if len(str(new.secret)) % 2 or not all(c in "0123456789abcdef" for c in str(new.secret)):
            continue  # unreadable (its key is gone): that person sets up again
        TOTPDevice.objects.create(
            user_id=new.user_id,
            name=new.name,
            confirmed=True,
            key=str(new.secret),
            step=new.step,
            t0=new.t0,
            digits=new.digits,
            tolerance=new.tolerance,
            drift=new.drift,
            last_t=new.last_t,
        )
    for code_set in RecoveryCodeSet.objects.filter(confirmed=True).order_by("pk").iterator():
        device = StaticDevice.objects.create(
            user_id=code_set.user_id, name=code_set.name, confirmed=True
        )
        StaticToken.objects.bulk_create(
            StaticToken(device=device, token=str(code))
            for code in RecoveryCode.objects.filter(code_set_id=code_set.pk).values_list(
                "code", flat=True
            )
        )
    RecoveryCode.objects.all().delete()
    RecoveryCodeSet.objects.all().delete()
    Authenticator.objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_data_protection_officer'),
        ('otp_totp', '0003_add_timestamps'),
        ('otp_static', '0003_add_timestamps'),
        ('vault', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='Authenticator',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The human-readable name of this device.', max_length=64)),
                ('confirmed', models.BooleanField(default=True, help_text='Is this device ready for use?')),
                ('throttling_failure_timestamp', models.DateTimeField(blank=True, default=None, help_text='A timestamp of the last failed verification attempt. Null if last attempt succeeded.', null=True)),
                ('throttling_failure_count', models.PositiveIntegerField(default=0, help_text='Number of successive failed attempts.')),
                ('secret', casework.vault.fields.EncryptedCharField(default=casework.accounts.models.new_totp_secret, editable=False, max_length=80)),
                ('step', models.PositiveSmallIntegerField(default=30)),
                ('t0', models.BigIntegerField(default=0)),
                ('digits', models.PositiveSmallIntegerField(default=6)),
                ('tolerance', models.PositiveSmallIntegerField(default=1)),
                ('drift', models.SmallIntegerField(default=0)),
                ('last_t', models.BigIntegerField(default=-1)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='authenticators', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'authenticator app',
            },
        ),
        migrations.CreateModel(
            name='RecoveryCodeSet',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The human-readable name of this device.', max_length=64)),
                ('confirmed', models.BooleanField(default=True, help_text='Is this device ready for use?')),
                ('throttling_failure_timestamp', models.DateTimeField(blank=True, default=None, help_text='A timestamp of the last failed verification attempt. Null if last attempt succeeded.', null=True)),
                ('throttling_failure_count', models.PositiveIntegerField(default=0, help_text='Number of successive failed attempts.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='recovery_code_sets', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'recovery codes',
            },
        ),
        migrations.CreateModel(
            name='RecoveryCode',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', casework.vault.fields.EncryptedCharField(max_length=16)),
                ('code_set', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='codes', to='accounts.recoverycodeset')),
            ],
            options={
                'verbose_name': 'recovery code',
            },
        ),
        migrations.CreateModel(
            name='EnrolmentCode',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('throttling_failure_timestamp', models.DateTimeField(blank=True, default=None, help_text='A timestamp of the last failed verification attempt. Null if last attempt succeeded.', null=True)),
                ('throttling_failure_count', models.PositiveIntegerField(default=0, help_text='Number of successive failed attempts.')),
                ('digest', models.CharField(max_length=64)),
                ('issued_at', models.DateTimeField()),
                ('expires_at', models.DateTimeField()),
                ('used_at', models.DateTimeField(blank=True, null=True)),
                ('voided_at', models.DateTimeField(blank=True, null=True)),
                ('issued_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='enrolment_codes', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'enrolment code',
                'indexes': [models.Index(fields=['user', 'issued_at'], name='enrolment_code_user')],
            },
        ),
        migrations.RunPython(move_into_the_vault, move_back_out),
    ]
