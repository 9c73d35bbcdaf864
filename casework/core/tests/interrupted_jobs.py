"""Jobs for the tests of a worker killed mid-job (and `make faults`), importable by a worker
child: a job that marks each attempt in a directory and, on its first attempt only, waits long
enough to be killed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django_tasks import task

# Where the jobs mark their attempts (set by the test in the worker's environment).
MARKS = "CASEWORK_TEST_JOB_MARKS"


def _attempt(marks: Path) -> int:
    attempt = len(list(marks.glob("started-*"))) + 1
    (marks / f"started-{attempt}").touch()
    return attempt


@task()
def slow_first_time() -> int:
    """Return the attempt that finished; the first waits a minute (to be killed in)."""
    marks = Path(os.environ[MARKS])
    attempt = _attempt(marks)
    if attempt == 1:
        time.sleep(60)
    (marks / f"done-{attempt}").touch()
    return attempt


@task()
def quick() -> int:
    return 1


@task()
def broken() -> int:
    raise ValueError("a failing job")
