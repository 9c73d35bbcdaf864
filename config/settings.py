"""Casework settings: one file, everything that differs between machines comes from the environment.

See README.md ("Configuration") for the variables. Production is the default posture: DEBUG off,
HTTPS-only cookies and HSTS, unless the environment says otherwise (`make run` sets
CASEWORK_HTTPS=0 for the local demo on http://127.0.0.1:8000).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_database, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CASEWORK_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
HTTPS = env_bool("CASEWORK_HTTPS", True)


def _read_secret_file(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


# Keys live outside the database: in the environment or in files under CASEWORK_KEY_DIR, which
# `casework initkeys` creates (mode 0600) on first run. See docs/decisions/0002-encryption.md.
CASEWORK_KEY_DIR = Path(env_str("CASEWORK_KEY_DIR", str(VAR_DIR / "keys")))
SECRET_KEY = env_str("SECRET_KEY", _read_secret_file(CASEWORK_KEY_DIR / "secret_key") or "")
CASEWORK_MASTER_KEYS = env_str("CASEWORK_MASTER_KEYS", "")  # JSON, overrides the key file
CASEWORK_AUDIT_KEY = env_str("CASEWORK_AUDIT_KEY", "")  # base64, overrides the key file
CASEWORK_BACKUP_KEY = env_str("CASEWORK_BACKUP_KEY", "")  # base64, overrides the key file
# `casework backup` (and the worker, every CASEWORK_BACKUP_INTERVAL_SECONDS; 0: never) writes
# encrypted copies of the database here and keeps the newest CASEWORK_BACKUP_KEEP of them. The key
# files are never in a backup: copy CASEWORK_KEY_DIR separately, offline (README, "Backups").
CASEWORK_BACKUP_DIR = Path(env_str("CASEWORK_BACKUP_DIR", str(VAR_DIR / "backups")))
CASEWORK_BACKUP_INTERVAL_SECONDS = env_int(
    "CASEWORK_BACKUP_INTERVAL_SECONDS", 24 * 60 * 60, minimum=0
)
CASEWORK_BACKUP_KEEP = env_int("CASEWORK_BACKUP_KEEP", 14, minimum=1)
# The audit trail: requests append, the worker seals entries into the chain every few seconds and
# writes signed checkpoints outside the database (a file; the `casework.audit.checkpoint` logger,
# which LOGGING may send to syslog; and an optional URL). Keep the file on another disk or
# machine than the database, append-only (`chattr +a`) where the file system allows.
CASEWORK_AUDIT_SEAL_EVERY = env_int("CASEWORK_AUDIT_SEAL_EVERY", 2, minimum=1)
CASEWORK_AUDIT_CHECKPOINT_FILE = Path(
    env_str("CASEWORK_AUDIT_CHECKPOINT_FILE", str(VAR_DIR / "audit" / "checkpoints.log"))
)
CASEWORK_AUDIT_CHECKPOINT_SECONDS = env_int("CASEWORK_AUDIT_CHECKPOINT_SECONDS", 10, minimum=0)
CASEWORK_AUDIT_CHECKPOINT_URL = env_str("CASEWORK_AUDIT_CHECKPOINT_URL", "")
CASEWORK_AUDIT_UNSEALED_ALERT_SECONDS = env_int(
    "CASEWORK_AUDIT_UNSEALED_ALERT_SECONDS", 300, minimum=10
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "casework.core",
    "casework.accounts",
    "casework.vault",
    "casework.audit",
    "casework.reference",
    "casework.people",
    "casework.cases",
    "casework.attributes",
    "casework.worklist",
    "casework.assessments",
    "casework.plans",
    "casework.referrals",
    "casework.feedback",
    "casework.supervision",
    "casework.indicators",
    "casework.interchange",
    "casework.retention",
    "casework.privacy",
    "casework.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "casework.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below the headers (a 503 carries them too) and static files (served without a connection),
    # above everything that reads the session, the user or the rate counters.
    "casework.core.outage.OutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "casework.audit.middleware.RequestContextMiddleware",
    "casework.core.ratelimits.RateLimitMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "casework.accounts.middleware.SessionLifetimeMiddleware",
    "casework.accounts.middleware.MFARequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "casework.accounts.context_processors.casework",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'casework.sqlite3'}")}
# How long a write on SQLite waits for another writer's lock before it answers 503 "busy, try
# again" (casework/core/outage.py): a request worker is held for as long as it waits.
CASEWORK_SQLITE_BUSY_SECONDS = env_int("CASEWORK_SQLITE_BUSY_SECONDS", 5, minimum=1)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"]["timeout"] = CASEWORK_SQLITE_BUSY_SECONDS
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out user before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "casework.accounts.backends.AccountsBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("CASEWORK_PASSWORD_MIN_LENGTH", 12, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "casework.accounts.passwords.CommonPhraseValidator"},
    {"NAME": "casework.accounts.passwords.MaximumLengthValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "cases:caseload"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sessions: server-side rows so that disabling a user or "end sessions" takes effect at once.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
CASEWORK_SESSION_IDLE_SECONDS = env_int("CASEWORK_SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
CASEWORK_SESSION_ABSOLUTE_SECONDS = env_int(
    "CASEWORK_SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60, minimum=300
)
SESSION_COOKIE_AGE = CASEWORK_SESSION_ABSOLUTE_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_NAME = "__Host-casework" if HTTPS else "casework_session"
CSRF_COOKIE_NAME = "__Host-csrftoken" if HTTPS else "csrftoken"

SECURE_SSL_REDIRECT = HTTPS and env_bool("CASEWORK_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = env_int("CASEWORK_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# django-axes: lock an account (per username, any address) after repeated failures.
AXES_FAILURE_LIMIT = env_int("CASEWORK_LOGIN_FAILURE_LIMIT", 5, minimum=1)
# A pause that grows (casework/accounts/throttle.py): 1 minute after the limit, doubling with each
# further lock-out of the same account from the same address, at most an hour.
CASEWORK_LOGIN_BACKOFF_SECONDS = env_int("CASEWORK_LOGIN_BACKOFF_SECONDS", 60, minimum=1)
CASEWORK_LOGIN_BACKOFF_MAX_SECONDS = env_int("CASEWORK_LOGIN_BACKOFF_MAX_SECONDS", 3600, minimum=1)
AXES_COOLOFF_TIME = "casework.accounts.throttle.cooloff"
# The client's address as the rest of Casework sees it (CASEWORK_PROXY_COUNT trusted proxies).
AXES_CLIENT_IP_CALLABLE = "casework.audit.middleware.client_ip"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "casework.accounts.views.locked_out"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False
# The pause is per account and address together: a field office shares one NAT address, and
# locking the address would lock out every colleague after one person's typos, while locking the
# account alone would let anyone lock a colleague out from anywhere (axes.W006). Guessing one
# account from many addresses is held by the per-account rate limit (casework/core/ratelimits.py).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# The cache every process shares: sign-in back-off and the like (Django's database cache; set
# CASEWORK_CACHE_URL=redis://… for larger installations, see README). Rate-limit counters have a
# table of their own, counted atomically (casework/core/ratelimits.py, decision 0010).
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("CASEWORK_CACHE_URL", ""),
        }
        if env_str("CASEWORK_CACHE_URL", "")
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "casework_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    )
}
CASEWORK_RATE_LIMITS_ENABLED = env_bool("CASEWORK_RATE_LIMITS_ENABLED", True)
# Rates by rule name (casework/core/ratelimits.py), as JSON, e.g. {"api": "1200/m"}.
CASEWORK_RATE_LIMITS = json.loads(env_str("CASEWORK_RATE_LIMITS", "{}"))
CASEWORK_ENROLMENT_CODE_HOURS = env_int("CASEWORK_ENROLMENT_CODE_HOURS", 72, minimum=1)
AXES_IPWARE_PROXY_COUNT = env_int("CASEWORK_PROXY_COUNT", 0, minimum=0)

OTP_TOTP_ISSUER = env_str("CASEWORK_OTP_ISSUER", "Casework")

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("fr", _("French")),
    ("ar", _("Arabic")),
    ("es", _("Spanish")),
]
LOCALE_PATHS = [BASE_DIR / "casework" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("CASEWORK_COLLECTED_STATIC", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Without collectstatic (make run), WhiteNoise serves straight from the app directories.
WHITENOISE_USE_FINDERS = not env_bool("CASEWORK_COLLECTED_STATIC", False)
# Uploaded files (attachments) are encrypted and never served as static media.
MEDIA_ROOT = VAR_DIR / "uploads"
# Indicator reports on PostgreSQL split an agency's persons into this many ranges computed side
# by side (one connection each, one shared snapshot) once the agency spans this many persons.
CASEWORK_REPORT_WORKERS = env_int("CASEWORK_REPORT_WORKERS", min(4, os.cpu_count() or 1), minimum=1)
CASEWORK_REPORT_PARALLEL_FROM = env_int("CASEWORK_REPORT_PARALLEL_FROM", 200_000, minimum=0)
CASEWORK_UPLOAD_MAX_BYTES = env_int("CASEWORK_UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = CASEWORK_UPLOAD_MAX_BYTES + 1024 * 1024
# Uploads (case files, questionnaires) stay in memory, never in a temporary file on disk.
FILE_UPLOAD_MAX_MEMORY_SIZE = CASEWORK_UPLOAD_MAX_BYTES
# Every imported file is measured before a parser sees it (casework/core/uploads.py): its unpacked
# size and its rows (an XLSX row unpacks to about 1.2 KB, so 50 MB holds ~40,000 XLSX rows).
CASEWORK_UPLOAD_MAX_UNCOMPRESSED_BYTES = env_int(
    "CASEWORK_UPLOAD_MAX_UNCOMPRESSED_BYTES", 50 * 1024 * 1024, minimum=1024
)
CASEWORK_UPLOAD_MAX_ROWS = env_int("CASEWORK_UPLOAD_MAX_ROWS", 200_000, minimum=1)
# An export with names is kept (sealed, under its agency's key) for its maker to download this
# many days; then the worker erases its content (casework/interchange/services.py).
# At most 30: below the shortest retention period an agency can set (retention.days).
CASEWORK_EXPORT_DAYS = env_int("CASEWORK_EXPORT_DAYS", 7, minimum=1, maximum=30)
# Address space of the process that runs tasks, in MB (0: no cap); a runaway task then fails
# alone with MemoryError and the supervisor keeps the worker going.
CASEWORK_WORKER_MAX_MEMORY_MB = env_int("CASEWORK_WORKER_MAX_MEMORY_MB", 0, minimum=0)
# A running task whose worker has not shown a sign of life for this many seconds lost it (the
# process was killed, the machine died) and goes back to the queue; after this many claims it
# is marked failed instead (casework/core/heartbeats.py).
CASEWORK_WORKER_HEARTBEAT_TIMEOUT = env_int("CASEWORK_WORKER_HEARTBEAT_TIMEOUT", 300, minimum=3)
CASEWORK_TASK_MAX_ATTEMPTS = env_int("CASEWORK_TASK_MAX_ATTEMPTS", 3, minimum=1)

TASKS = {
    "default": {
        "BACKEND": env_str("CASEWORK_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "casework@localhost")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.dummy.EmailBackend"
)

# Logs carry ids, codes and paths, never field values (see casework/core/logging.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "casework.core.logging.RedactFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING", "propagate": True},
        "django.security.DisallowedHost": {"level": "ERROR", "propagate": True},
        # Sign-ins are in the audit trail; axes' own INFO lines would only repeat them.
        "axes": {"level": "WARNING", "propagate": True},
        # Signed audit checkpoints (casework/audit/checkpoints.py): also to syslog when
        # CASEWORK_AUDIT_SYSLOG names a socket ("/dev/log") or "host:port".
        "casework.audit.checkpoint": {"level": "INFO", "propagate": True},
    },
}
_AUDIT_SYSLOG = env_str("CASEWORK_AUDIT_SYSLOG", "")
if _AUDIT_SYSLOG:
    _host, _colon, _port = _AUDIT_SYSLOG.rpartition(":")
    LOGGING["handlers"]["audit_syslog"] = {  # type: ignore[index]
        "class": "logging.handlers.SysLogHandler",
        "address": (_host, int(_port)) if _host and _port.isdigit() else _AUDIT_SYSLOG,
        "facility": "auth",
    }
    LOGGING["loggers"]["casework.audit.checkpoint"]["handlers"] = ["audit_syslog"]  # type: ignore[index]

NINJA_PAGINATION_PER_PAGE = 50
