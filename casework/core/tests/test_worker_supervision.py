"""The worker outlives what goes wrong in it: `casework worker` and `casework serve` start their
worker child again when it ends (after a pause that grows, capped), and inside the child a task
that raises, or a task loop that breaks on a locked database, does not end the work.

Children here are tiny Python one-liners and pauses are hundredths of a second."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django_tasks import task

from casework.core.management.commands import serve, worker
from casework.core.management.commands.worker import Backoff, Supervisor, keep_running

QUICK = {"first": 0.01, "cap": 0.04, "healthy_after": 60.0}


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


class StopAfter(Backoff):
    """A quick back-off that records its pauses and stops the loop after `runs` of them."""

    def __init__(self, runs: int, stop: Callable[[], None]) -> None:
        super().__init__(**QUICK)
        self.runs, self.stop = runs, stop
        self.pauses: list[float] = []

    def pause_after(self, ran: float) -> float:
        pause = super().pause_after(ran)
        self.pauses.append(pause)
        if len(self.pauses) == self.runs:
            self.stop()
        return pause


def _wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_pause_doubles_up_to_its_cap_and_starts_over_after_a_healthy_run() -> None:
    backoff = Backoff(first=1, cap=8, healthy_after=60)
    assert [backoff.pause_after(0.5) for _ in range(5)] == [1, 2, 4, 8, 8]
    assert backoff.pause_after(61) == 1
    assert backoff.pause_after(0.5) == 2


def test_a_child_that_exits_is_started_again_with_growing_pauses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    supervisor = Supervisor(python("import sys; sys.exit(3)"))
    supervisor.backoff = backoff = StopAfter(4, supervisor.stop)
    with caplog.at_level(logging.ERROR, logger="casework.worker"):
        restarts = supervisor.run()
    assert restarts == 4
    assert backoff.pauses == [0.01, 0.02, 0.04, 0.04]
    assert [record.getMessage().split(" after ")[0] for record in caplog.records] == [
        "The worker stopped (exit code 3)"
    ] * 4
    assert supervisor.finished.is_set()


def test_a_child_killed_for_memory_is_started_again(caplog: pytest.LogCaptureFixture) -> None:
    # What the kernel's out-of-memory killer does to the biggest process.
    supervisor = Supervisor(python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"))
    supervisor.backoff = StopAfter(2, supervisor.stop)
    with caplog.at_level(logging.ERROR, logger="casework.worker"):
        assert supervisor.run() == 2
    assert "killed by SIGKILL" in caplog.text
    assert "starting it again" in caplog.text


def test_stopping_asks_the_child_once_and_starts_no_other() -> None:
    supervisor = Supervisor(python("import time; time.sleep(60)"), backoff=Backoff(**QUICK))
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    _wait_for(lambda: supervisor.child is not None)
    child = supervisor.child
    assert child is not None
    supervisor.stop()
    thread.join(20)
    assert not thread.is_alive()
    assert child.returncode == -signal.SIGTERM and supervisor.child is child


def test_a_child_that_ignores_the_request_is_killed_after_the_grace_period(
    tmp_path: Path,
) -> None:
    ready = tmp_path / "ready"
    code = (
        "import pathlib, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(60)\n"
    )
    supervisor = Supervisor(python(code), backoff=Backoff(**QUICK), grace=0.2)
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    _wait_for(ready.exists)
    supervisor.stop()
    thread.join(20)
    assert supervisor.child is not None and supervisor.child.returncode == -signal.SIGKILL


def test_the_task_loop_starts_again_after_a_locked_database_or_memory_error(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The finding: a claim that met "database is locked" ended django-tasks-db's loop for good.
    stop = threading.Event()
    failures = [OperationalError("database is locked"), MemoryError()]
    closed: list[bool] = []
    monkeypatch.setattr(worker.connections, "close_all", lambda: closed.append(True))

    def db_worker(*args: Any, **kwargs: Any) -> None:
        if failures:
            raise failures.pop(0)
        stop.set()  # third run: the operator stops the worker

    monkeypatch.setattr(worker, "call_command", db_worker)
    with caplog.at_level(logging.ERROR, logger="casework.worker"):
        restarts = keep_running(
            worker.run_tasks, what="task loop", stop=stop, backoff=Backoff(**QUICK)
        )
    assert restarts == 2 and closed == [True, True]
    assert [record.getMessage().split(" after ")[0] for record in caplog.records] == [
        "The task loop stopped (OperationalError)",
        "The task loop stopped (MemoryError)",
    ]
    assert "locked" not in caplog.text  # types only: a message may quote data


def test_a_signal_to_stop_ends_the_loop() -> None:
    def asked_to_stop() -> str:
        raise SystemExit(0)

    with pytest.raises(SystemExit):
        keep_running(asked_to_stop, what="task loop", stop=threading.Event())


@task()
def fails_on_a_bad_row() -> None:
    raise ValueError("bad row")


@task()
def blows_memory() -> None:
    raise MemoryError


@task()
def works() -> int:
    return 1


def test_a_task_that_raises_or_runs_out_of_memory_fails_alone(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # django-tasks-db's own loop, as the worker runs it: the next task still runs.
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.models import DBTaskResult

    # It closes the database connection between tasks; the test's own must stay open.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    for job in (fails_on_a_bad_row, blows_memory, works):
        job.enqueue()
    db_worker.Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    ).run()
    outcomes = {
        result.task_path.rpartition(".")[2]: result.status for result in DBTaskResult.objects.all()
    }
    assert outcomes == {
        "fails_on_a_bad_row": "FAILED",
        "blows_memory": "FAILED",
        "works": "SUCCESSFUL",
    }


def test_the_memory_cap_turns_a_blow_up_into_a_memory_error() -> None:
    code = (
        "from casework.core.management.commands.worker import cap_memory\n"
        "cap_memory(1024)\n"
        "try:\n    bytearray(2048 * 1024 * 1024)\n"
        "except MemoryError:\n    print('MemoryError')\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter
        python(code), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "MemoryError", done.stderr


def test_a_child_whose_supervisor_is_gone_stops() -> None:
    stop, left = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=worker.follow_parent,
        args=(os.getppid() + 1_000_000, stop),  # a parent this process does not have
        kwargs={"every": 0.01, "leave": left.set},
    )
    thread.start()
    assert left.wait(10)
    thread.join(10)
    stop.set()


def test_worker_starts_its_child_in_process_and_serve_supervises_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    command = worker.worker_command(tick=5, scheduler=False, max_memory=512)
    assert command[1:] == [
        "-m",
        "casework.cli",
        "worker",
        "--in-process",
        "--tick",
        "5",
        "--max-memory",
        "512",
        "--parent",
        str(os.getpid()),
        "--lineage",
        command[-2],
        "--no-scheduler",
    ]
    # Each supervisor's children share a lineage of their own.
    assert len(command[-2]) == 12 and worker.worker_command()[-1] != command[-2]
    supervisors: list[Supervisor] = []

    def quick_supervisor(command: list[str]) -> Supervisor:
        supervisor = Supervisor(python("import sys; sys.exit(1)"), backoff=Backoff(**QUICK))
        supervisors.append(supervisor)
        return supervisor

    def runserver(*args: Any, **kwargs: Any) -> None:
        # While the server runs, its worker dies twice and is started again each time.
        _wait_for(lambda: caplog.text.count("starting it again") >= 2)

    monkeypatch.setattr(serve, "Supervisor", quick_supervisor)
    monkeypatch.setattr(serve, "call_command", runserver)
    with caplog.at_level(logging.ERROR, logger="casework.worker"):
        serve.Command().handle(addr="127.0.0.1:0", no_worker=False)
    (supervisor,) = supervisors
    assert supervisor.finished.is_set()  # stopped with the server
