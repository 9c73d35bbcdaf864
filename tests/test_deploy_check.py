"""`manage.py check --deploy` is clean under the production settings.

Run in a child process so that the production settings module is read from scratch: HTTPS on,
DEBUG unset, a strong random SECRET_KEY and the same key variables the test settings set. Any
deployment warning (a weak cookie flag, HSTS missing, DEBUG on) makes the check print a
WARNINGS/ERRORS section, which this test refuses.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_check_deploy_is_clean_under_production_settings(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in ("DEBUG", "CASEWORK_SSL_REDIRECT", "CASEWORK_HSTS_SECONDS", "CASEWORK_TASKS_BACKEND")
    }
    secret_key = secrets.token_urlsafe(48)
    assert len(secret_key) >= 50
    assert len(set(secret_key)) >= 5  # Django's own strength rule (W009)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CASEWORK_HTTPS": "1",
            "SECRET_KEY": secret_key,
            "CASEWORK_VAR_DIR": str(tmp_path),
            "CASEWORK_KEY_DIR": str(tmp_path / "keys"),
            # The key variables the test settings set, so no key file is needed.
            "CASEWORK_MASTER_KEYS": os.environ["CASEWORK_MASTER_KEYS"],
            "CASEWORK_AUDIT_KEY": os.environ["CASEWORK_AUDIT_KEY"],
        }
    )
    result = subprocess.run(  # noqa: S603 (a fixed command: this interpreter and manage.py)
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS:" not in output, output
    assert "ERRORS:" not in output, output
    assert "System check identified no issues" in result.stdout, output
