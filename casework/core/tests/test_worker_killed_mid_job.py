"""A worker killed with SIGKILL in the middle of a periodic job: its supervisor starts a new
child, which puts the job's task back in the queue and runs it to the end, and the job then moves
on to its next period — instead of staying RUNNING for ever and waiting a day.

Real processes: the supervisor of `casework worker` (its class, in this test process) and its
child `casework worker --in-process`, with the database backend, on the test database."""

from __future__ import annotations

import datetime
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from casework.core.management.commands.worker import Backoff, Supervisor
from casework.core.models import ScheduledJob
from casework.core.schedule import load_registry
from casework.core.tests import interrupted_jobs

pytestmark = [
    pytest.mark.commits,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
JOB = interrupted_jobs.slow_first_time.module_path

# The child registers the interrupted job as a daily job, then works as `casework worker` does.
CHILD = """
import datetime, sys, django
django.setup()
from casework.core.schedule import every
from casework.core.tests import interrupted_jobs
every(datetime.timedelta(days=1), interrupted_jobs.slow_first_time)
from django.core.management import call_command
call_command("worker", *sys.argv[1:])
"""


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"


def _wait_for(condition: Callable[[], Any], seconds: float = 90.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return found


def test_it_completes_a_job_whose_worker_was_killed_after_the_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv(interrupted_jobs.MARKS, str(marks))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "config.settings")
    monkeypatch.setenv("DATABASE_URL", _database_url())
    monkeypatch.setenv("CASEWORK_TASKS_BACKEND", "django_tasks_db.DatabaseBackend")
    # The child's audit sealer checkpoints this test's database, nobody else's.
    monkeypatch.setenv("CASEWORK_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.log"))
    # Only the interrupted job is due: every other periodic job ran a moment ago.
    later = timezone.now() + datetime.timedelta(days=1)
    for name in load_registry():
        ScheduledJob.objects.create(name=name, next_run_at=later)

    arguments = ["--in-process", "--tick", "0.5", "--parent", str(os.getpid())]
    supervisor = Supervisor(
        [sys.executable, "-c", CHILD, *arguments, "--lineage", "killedtest"],
        backoff=Backoff(first=0.2, cap=1.0),
        grace=10,
    )
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    try:
        _wait_for((marks / "started-1").exists)
        first = DBTaskResult.objects.get(task_path=JOB)
        assert first.status == "RUNNING"
        killed = supervisor.child
        assert killed is not None and first.worker_ids[-1].split(":")[1] == str(killed.pid)
        os.kill(killed.pid, signal.SIGKILL)

        _wait_for(lambda: DBTaskResult.objects.filter(task_path=JOB, status="SUCCESSFUL"))
        job = _wait_for(lambda: ScheduledJob.objects.filter(name=JOB, running_task_id="").first())
    finally:
        supervisor.stop()
        thread.join(30)

    task = DBTaskResult.objects.get(task_path=JOB)  # the same run, not a second one
    assert task.pk == first.pk and task.return_value == 2
    lineages = {worker_id.split(":")[0] for worker_id in task.worker_ids}
    assert len(task.worker_ids) == 2 and lineages == {"killedtest"}
    assert sorted(path.name for path in marks.iterdir()) == ["done-2", "started-1", "started-2"]
    assert job.failures == 0 and job.last_succeeded_at is not None
    assert job.next_run_at == job.last_run_at + datetime.timedelta(days=1)
