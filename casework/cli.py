"""The `casework` command: Django's manage.py, installed into the virtualenv as a script."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "casework"
    execute_from_command_line(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
