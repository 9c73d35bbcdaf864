"""`casework worker`: runs queued tasks (django-tasks-db) and enqueues periodic jobs when due.

The worker must outlive what goes wrong in it. `casework worker` supervises: the work runs in a
child process (`casework worker --in-process`), started again whenever it ends unexpectedly
(crashed, or killed by the kernel for memory), after a pause that doubles from one second up to
a minute. Inside the child, a task that raises is recorded as failed and the loop goes on
(django-tasks-db), and a task loop that breaks (the database locked or lost while a task is
claimed, which used to end the worker for good) is started again in the same process, with the
same growing pause. `casework serve` supervises `casework worker --in-process` the same way.

A task whose worker died mid-run is run again: each task loop claims under an id of its own and
beats a heartbeat; a new child puts its predecessors' running tasks back in the queue at once,
and the scheduler those of any worker whose heartbeat stopped (casework/core/heartbeats.py).

`--max-memory` (or CASEWORK_WORKER_MAX_MEMORY_MB) caps the child's address space, so a task that
blows memory fails alone with MemoryError instead of the kernel killing a process, maybe the
database's. Log lines carry exit codes, signal names, exception types and durations only.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections

from casework.core.schedule import enqueue_due

if TYPE_CHECKING:
    from casework.core.heartbeats import Heartbeat

logger = logging.getLogger("casework.worker")


class Backoff:
    """The pause before starting again something that stopped: `first`, doubling each time it
    stops again, at most `cap`; back to `first` once a run lasted `healthy_after` seconds."""

    def __init__(self, first: float = 1.0, cap: float = 60.0, healthy_after: float = 300.0):
        self.first, self.cap, self.healthy_after = first, cap, healthy_after
        self._next = first

    def pause_after(self, ran: float) -> float:
        if ran >= self.healthy_after:
            self._next = self.first
        pause = self._next
        self._next = min(pause * 2, self.cap)
        return pause


def keep_running(
    run_once: Callable[[], str],
    *,
    what: str,
    stop: threading.Event,
    backoff: Backoff | None = None,
) -> int:
    """Call `run_once` again and again until `stop` is set; returns how many restarts it took.

    `run_once` returns how it ended ("exit code 1"); an exception is logged by its type alone
    (its message may quote data) and does not end the loop. SystemExit and KeyboardInterrupt
    (a signal asking the process to stop) do.
    """
    backoff = backoff or Backoff()
    restarts = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            ended = run_once()
        except Exception as error:
            ended = type(error).__name__
        if stop.is_set():
            break
        ran = time.monotonic() - started
        pause = backoff.pause_after(ran)
        logger.error(
            "The %s stopped (%s) after %.0f s; starting it again in %.0f s.",
            what,
            ended,
            ran,
            pause,
        )
        restarts += 1
        if stop.wait(pause):
            break
    return restarts


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    """Runs `command` as a child process and starts it again whenever it ends, until `stop()`.

    The child gets its own session, so a Ctrl-C in the terminal reaches the supervisor only,
    which then asks the child once (SIGTERM) to finish its task and stop, and kills it after
    `grace` seconds.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        what: str = "worker",
        backoff: Backoff | None = None,
        grace: float = 30.0,
    ) -> None:
        self.command = list(command)
        self.what = what
        self.backoff = backoff or Backoff()
        self.grace = grace
        self.stopping = threading.Event()
        # Reentrant: stop() may run in a signal handler on the thread that holds it.
        self._lock = threading.RLock()
        self.child: subprocess.Popen[bytes] | None = None
        self.finished = threading.Event()
        self._asked: subprocess.Popen[bytes] | None = None

    def run(self) -> int:
        try:
            return keep_running(
                self._run_child, what=self.what, stop=self.stopping, backoff=self.backoff
            )
        finally:
            child = self.child
            if child is not None and child.poll() is None:
                self._end(child)
                child.wait()
            self.finished.set()

    def stop(self) -> None:
        with self._lock:
            self.stopping.set()
            child = self.child
        if child is not None:
            self._end(child)

    def wait_stopped(self) -> bool:
        return self.finished.wait(self.grace + 5)

    def _run_child(self) -> str:
        with self._lock:
            if self.stopping.is_set():
                return "stopped"
            child = self.child = subprocess.Popen(  # noqa: S603 - our own interpreter and command
                self.command, start_new_session=True
            )
        if self.stopping.is_set():  # asked to stop while it was starting
            self._end(child)
        return describe_exit(child.wait())

    def _end(self, child: subprocess.Popen[bytes]) -> None:
        """Ask the child, once, to finish its task and stop (a second SIGTERM would make
        django-tasks-db abandon the task); kill it if it has not stopped after `grace`."""
        with self._lock:
            if child.poll() is not None or self._asked is child:
                return
            self._asked = child
        child.terminate()
        timer = threading.Timer(self.grace, self._kill, args=(child,))
        timer.daemon = True
        timer.start()

    def _kill(self, child: subprocess.Popen[bytes]) -> None:
        if child.poll() is None:
            logger.error("The %s did not stop within %.0f s; killing it.", self.what, self.grace)
            child.kill()


def new_lineage() -> str:
    return secrets.token_hex(6)


def worker_command(
    *, tick: float = 30.0, scheduler: bool = True, max_memory: int = 0, lineage: str = ""
) -> list[str]:
    """The command line of the process that does the work (what the supervisors start). Every
    child started from it shares its lineage: a supervisor runs one at a time, so a new one
    knows that the running tasks of its lineage's earlier ones were abandoned."""
    command = [sys.executable, "-m", "casework.cli", "worker", "--in-process"]
    command += ["--tick", str(tick), "--max-memory", str(max_memory), "--parent", str(os.getpid())]
    command += ["--lineage", lineage or new_lineage()]
    if not scheduler:
        command.append("--no-scheduler")
    return command


def cap_memory(megabytes: int) -> None:
    """Cap this process's address space: past it an allocation raises MemoryError, which fails
    the task that made it, instead of the kernel killing some process to make room."""
    import resource

    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def follow_parent(
    parent: int,
    stop: threading.Event,
    *,
    every: float = 2.0,
    leave: Callable[[], None] | None = None,
) -> None:
    """Stop this process (as SIGTERM does: the current task finishes) once its supervisor is
    gone; in a session of its own, nothing else would stop it."""
    while not stop.wait(every):
        if os.getppid() != parent:
            logger.error("The supervising process is gone; stopping.")
            (leave or (lambda: os.kill(os.getpid(), signal.SIGTERM)))()
            return


def run_tasks(worker_id: str | None = None) -> str:
    """One run of django-tasks-db's loop (it returns only when told to stop)."""
    options: dict[str, Any] = {"queue_name": "*", "reload": False}
    if worker_id:
        options["worker_id"] = worker_id
    try:
        call_command("db_worker", **options)
    except Exception:
        # A connection left inside a failed transaction must not be reused by the next run.
        connections.close_all()
        raise
    return "returned"


class TaskLoop:
    """Each run of the task loop claims under a new worker id of `lineage`, which `heartbeat`
    beats; before it claims anything, the running tasks of the lineage's earlier loops (a
    killed child, a loop that broke) go back to the queue."""

    def __init__(self, lineage: str, heartbeat: Heartbeat) -> None:
        self.lineage, self.heartbeat, self.runs = lineage, heartbeat, 0

    def __call__(self) -> str:
        from casework.core.heartbeats import reclaim_from_lineage, worker_id

        self.runs += 1
        current = worker_id(self.lineage, self.runs)
        self.heartbeat.worker_id = current
        try:
            self.heartbeat.beat()
            reclaim_from_lineage(self.lineage, current)
        except Exception:
            connections.close_all()
            raise
        return run_tasks(current)


def schedule(stop: threading.Event, tick: float, heartbeat: Heartbeat | None = None) -> None:
    from casework.core.heartbeats import reclaim_stale

    while not stop.is_set():
        try:
            close_old_connections()
            if heartbeat is not None and heartbeat.may_judge_others():
                reclaim_stale(timeout=heartbeat.timeout)
            for name in enqueue_due():
                logger.info("Enqueued periodic job %s", name)
        except Exception:  # keep scheduling after a transient database error
            logger.exception("Scheduler tick failed")
        finally:
            close_old_connections()
        stop.wait(tick)


class Command(BaseCommand):
    help = "Run background tasks and the periodic-job scheduler (one or more per installation)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tick", type=float, default=30.0, help="Scheduler interval, seconds.")
        parser.add_argument("--no-scheduler", action="store_true")
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="Work in this process, without a supervising parent (for a service manager "
            "that restarts it; the supervisors start their child this way).",
        )
        parser.add_argument(
            "--max-memory",
            type=int,
            default=None,
            help="Megabytes of address space for the process that runs tasks; 0: no cap "
            "(default: CASEWORK_WORKER_MAX_MEMORY_MB).",
        )
        parser.add_argument("--parent", type=int, default=0, help=argparse.SUPPRESS)
        parser.add_argument("--lineage", default="", help=argparse.SUPPRESS)

    def handle(
        self,
        *args: Any,
        tick: float,
        no_scheduler: bool,
        in_process: bool,
        max_memory: int | None,
        parent: int,
        lineage: str,
        **options: Any,
    ) -> None:
        if max_memory is None:
            max_memory = int(getattr(settings, "CASEWORK_WORKER_MAX_MEMORY_MB", 0))
        if not in_process:
            supervisor = Supervisor(
                worker_command(tick=tick, scheduler=not no_scheduler, max_memory=max_memory)
            )
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_signal: supervisor.stop())
            supervisor.run()
            return
        if max_memory:
            cap_memory(max_memory)
        stop = threading.Event()
        # Seal the audit trail every few seconds (several workers may run this: the sealer is
        # serialised on the chain head, so they take turns). Imported here: this module is also
        # loaded, without Django set up, by the supervisor's helpers.
        from casework.audit.sealing import run_sealer
        from casework.core.heartbeats import Heartbeat

        sealer = threading.Thread(
            target=run_sealer, args=(stop, settings.CASEWORK_AUDIT_SEAL_EVERY), daemon=True
        )
        sealer.start()
        heartbeat = Heartbeat()
        threading.Thread(target=heartbeat.run, args=(stop,), daemon=True).start()
        if not no_scheduler:
            threading.Thread(target=schedule, args=(stop, tick, heartbeat), daemon=True).start()
        if parent:
            threading.Thread(target=follow_parent, args=(parent, stop), daemon=True).start()
        try:
            keep_running(TaskLoop(lineage or new_lineage(), heartbeat), what="task loop", stop=stop)
        finally:
            stop.set()
