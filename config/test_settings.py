"""Settings for the test suite: production settings with throw-away keys and plain HTTP.

Keys come from the environment, generated per run, never from a developer's var/keys; HTTPS
redirects are off because the test client speaks plain HTTP. Everything else is as in production.
"""

import base64
import json
import os
import secrets

os.environ["CASEWORK_MASTER_KEYS"] = json.dumps(
    {"primary": "t1", "keys": {"t1": base64.b64encode(secrets.token_bytes(32)).decode()}}
)
os.environ["CASEWORK_AUDIT_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
os.environ["CASEWORK_BACKUP_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
os.environ["SECRET_KEY"] = "test-" + secrets.token_urlsafe(40)
os.environ["CASEWORK_HTTPS"] = "0"
os.environ["CASEWORK_TASKS_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"
os.environ.setdefault(
    "CASEWORK_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test")
)

from config.settings import *  # noqa: E402, F403

# Fast hashing in tests only: argon2 at production cost would dominate the suite's run time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # noqa: S105

# SQLite tests use a file, as production does, not the in-memory shared cache: only a file gives
# each thread its own connection with WAL and a busy timeout, so tests of two concurrent writers
# (tests/test_no_lost_updates.py) see what a real server sees. xdist adds a suffix per worker.
_database = DATABASES["default"]  # noqa: F405
if _database["ENGINE"] == "django.db.backends.sqlite3":
    os.makedirs(os.environ["CASEWORK_VAR_DIR"], exist_ok=True)
    _database["TEST"] = {"NAME": os.path.join(os.environ["CASEWORK_VAR_DIR"], "test.sqlite3")}
