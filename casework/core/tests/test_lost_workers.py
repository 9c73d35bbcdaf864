"""A worker killed mid-job loses nothing: its running task goes back to the queue (at once when
its supervisor starts the next child, after the heartbeat timeout otherwise) and is run again, a
task that keeps killing its worker fails after a few claims, and a periodic job moves on to its
next period only when its run has finished, claiming and enqueuing in one transaction.

These run against the database backend of django-tasks, as production does (the test settings'
backend runs tasks at once, which no worker can be killed in)."""

from __future__ import annotations

import datetime
import logging
import threading
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from casework.core import heartbeats
from casework.core.heartbeats import Heartbeat, reclaim_from_lineage, reclaim_stale
from casework.core.management.commands import worker
from casework.core.models import ScheduledJob, WorkerHeartbeat
from casework.core.schedule import RETRY_FIRST, Periodic, claim, enqueue_due, settle
from casework.core.tests import interrupted_jobs

DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def database_backend(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.CASEWORK_TASK_MAX_ATTEMPTS = 3
    # django-tasks-db closes the connection between tasks; the test's own must stay open.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def _claimed_by(worker_id: str, *, minutes_ago: float = 0, task: Any = None) -> DBTaskResult:
    """A task a worker claimed (as django-tasks-db does) and then died running."""
    result = (task or interrupted_jobs.quick).enqueue()
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim(worker_id)
    if minutes_ago:
        row.started_at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
        row.save(update_fields=["started_at"])
    return row


def _run_queue() -> None:
    """What a newly started worker does: run every queued task, then stop."""
    db_worker.Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="restarted:2:1",
        excluded_queue_names=[],
    ).run()


def _status(row: DBTaskResult) -> str:
    row.refresh_from_db()
    return str(row.status)


def test_it_puts_back_the_tasks_of_a_lineages_earlier_loops_when_a_new_one_starts() -> None:
    killed_child = _claimed_by("lineage:100:1")
    broken_loop = _claimed_by("lineage:200:1")
    current = _claimed_by("lineage:200:2")
    other_supervisor = _claimed_by("other:300:1")

    assert reclaim_from_lineage("lineage", "lineage:200:2") == 2

    assert _status(killed_child) == _status(broken_loop) == "READY"
    assert _status(current) == _status(other_supervisor) == "RUNNING"


def test_it_puts_back_a_task_whose_worker_stopped_beating() -> None:
    now = timezone.now()
    dead = _claimed_by("dead:1:1", minutes_ago=10)
    WorkerHeartbeat.objects.create(
        worker_id="dead:1:1", beat_at=now - datetime.timedelta(minutes=6)
    )
    alive = _claimed_by("alive:1:1", minutes_ago=10)
    WorkerHeartbeat.objects.create(worker_id="alive:1:1", beat_at=now)
    just_claimed = _claimed_by("new:1:1", minutes_ago=1)  # its first beat may not be written yet
    WorkerHeartbeat.objects.create(worker_id="old:1:1", beat_at=now - datetime.timedelta(days=2))

    assert reclaim_stale(timeout=300, now=now) == 1

    assert _status(dead) == "READY"
    assert _status(alive) == _status(just_claimed) == "RUNNING"
    assert not WorkerHeartbeat.objects.filter(worker_id="old:1:1").exists()


def test_a_task_put_back_is_completed_by_the_next_worker() -> None:
    lost = _claimed_by("lineage:100:1")
    reclaim_from_lineage("lineage", "lineage:101:1")
    _run_queue()
    lost.refresh_from_db()
    assert lost.status == "SUCCESSFUL" and lost.return_value == 1
    assert lost.worker_ids == ["lineage:100:1", "restarted:2:1"]


def test_a_task_that_kills_its_worker_every_time_fails_after_the_last_claim(
    caplog: pytest.LogCaptureFixture,
) -> None:
    row = _claimed_by("lineage:1:1")
    for claim_number in (2, 3):
        assert reclaim_from_lineage("lineage", f"lineage:{claim_number}:1") == 1
        row.refresh_from_db()
        row.claim(f"lineage:{claim_number}:1")
    with caplog.at_level(logging.WARNING, logger="casework.worker"):
        assert reclaim_from_lineage("lineage", "lineage:4:1") == 1
    row.refresh_from_db()
    assert row.status == "FAILED" and row.finished_at is not None
    assert row.exception_class_path == "casework.core.heartbeats.WorkerLost"
    assert row.traceback == ""
    assert "lost its worker 3 times; marked failed (WorkerLost)" in caplog.text


def test_a_task_that_moved_on_meanwhile_is_left_alone() -> None:
    row = _claimed_by("lineage:1:1")
    seen = DBTaskResult.objects.get(pk=row.pk)
    row.claim("lineage:1:1")  # claimed again (a later start) since it was read
    assert heartbeats.put_back(seen) is False
    assert _status(row) == "RUNNING"


def test_a_worker_judges_others_only_after_beating_for_a_whole_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(heartbeats.time, "monotonic", lambda: clock[0])
    heartbeat = Heartbeat(timeout=300)
    heartbeat.worker_id = "lineage:1:1"
    heartbeat.beat()
    assert WorkerHeartbeat.objects.get(worker_id="lineage:1:1").beat_at <= timezone.now()
    clock[0] += 299
    assert not heartbeat.may_judge_others()
    clock[0] += 1
    assert heartbeat.may_judge_others()

    # The database goes away: every heartbeat stops, its own too; after it is back, the others
    # get a whole timeout to beat again before anyone is judged dead.
    def unreachable(**kwargs: Any) -> None:
        raise OperationalError("connection refused")

    with monkeypatch.context() as outage:
        outage.setattr(WorkerHeartbeat.objects, "update_or_create", unreachable)
        with pytest.raises(OperationalError):
            heartbeat.beat()
    assert not heartbeat.may_judge_others()
    heartbeat.beat()
    clock[0] += 299
    assert not heartbeat.may_judge_others()


def test_each_run_of_the_task_loop_claims_under_a_new_id_and_frees_its_predecessors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orphan = _claimed_by("lineage:999:1")  # the child before this one, killed
    seen: list[str] = []

    def run_tasks(worker_id: str) -> str:
        seen.append(worker_id)
        return "returned"

    monkeypatch.setattr(worker, "run_tasks", run_tasks)
    heartbeat = Heartbeat(timeout=300)
    loop = worker.TaskLoop("lineage", heartbeat)
    loop()
    loop()
    first, second = seen
    assert first.startswith("lineage:") and first.endswith(":1") and second.endswith(":2")
    assert heartbeat.worker_id == second
    assert WorkerHeartbeat.objects.filter(worker_id__in=seen).count() == 2
    assert _status(orphan) == "READY"


# The schedule ------------------------------------------------------------------------------


def _job(task: Any, interval: datetime.timedelta = DAY) -> Periodic:
    ScheduledJob.objects.get_or_create(
        name=task.module_path, defaults={"next_run_at": timezone.now() - datetime.timedelta(1)}
    )
    return Periodic(name=task.module_path, task=task, interval=interval)


def _row(job: Periodic) -> ScheduledJob:
    return ScheduledJob.objects.get(name=job.name)


def test_a_periodic_job_whose_worker_died_runs_again_and_then_moves_to_its_next_period() -> None:
    job = _job(interrupted_jobs.quick)
    claimed_at = timezone.now()
    assert claim(job, claimed_at)
    task = DBTaskResult.objects.get(pk=_row(job).running_task_id)
    task.claim("lineage:1:1")  # the worker dies running it

    # A day later, the job is not enqueued again while its run is in flight.
    tomorrow = claimed_at + DAY + datetime.timedelta(minutes=1)
    settle(job, tomorrow)
    assert not claim(job, tomorrow)
    assert DBTaskResult.objects.count() == 1

    # Its supervisor starts a new child, which frees the task and runs it.
    reclaim_from_lineage("lineage", "lineage:2:1")
    _run_queue()
    finished_at = claimed_at + datetime.timedelta(minutes=5)
    settle(job, finished_at)
    row = _row(job)
    assert row.running_task_id == "" and row.failures == 0
    assert row.last_succeeded_at == finished_at
    assert row.next_run_at == claimed_at + DAY  # the period counts from the claim
    assert not claim(job, finished_at)


def test_a_failed_run_is_tried_again_after_a_pause_that_doubles() -> None:
    job = _job(interrupted_jobs.broken)
    now = timezone.now()
    for failures, pause in ((1, RETRY_FIRST), (2, 2 * RETRY_FIRST), (3, 4 * RETRY_FIRST)):
        assert claim(job, now)
        _run_queue()
        settle(job, now)
        row = _row(job)
        assert (row.failures, row.next_run_at, row.running_task_id) == (failures, now + pause, "")
        assert not claim(job, now + pause - datetime.timedelta(seconds=1))
        now += pause


def test_a_run_the_queue_no_longer_knows_counts_as_failed() -> None:
    job = _job(interrupted_jobs.quick)
    now = timezone.now()
    claim(job, now)
    DBTaskResult.objects.all().delete()  # pruned, or never committed
    settle(job, now)
    row = _row(job)
    assert row.running_task_id == "" and row.failures == 1
    assert row.next_run_at == now + RETRY_FIRST


def test_claiming_and_enqueuing_are_one_transaction() -> None:
    job = _job(interrupted_jobs.quick)
    due = _row(job).next_run_at

    class DiesAfterEnqueuing:
        """The task is written to the queue, then the process dies before the commit."""

        def enqueue(self) -> None:
            interrupted_jobs.quick.enqueue()
            raise ConnectionError

    with pytest.raises(ConnectionError):
        claim(Periodic(name=job.name, task=DiesAfterEnqueuing(), interval=DAY), timezone.now())
    row = _row(job)
    assert (row.next_run_at, row.last_run_at, row.running_task_id) == (due, None, "")
    assert not DBTaskResult.objects.exists()
    assert claim(job, timezone.now())  # still due, so the next tick runs it
    assert DBTaskResult.objects.count() == 1


def test_two_schedulers_enqueue_a_due_job_once() -> None:
    now = timezone.now()
    first = enqueue_due(now)
    second = enqueue_due(now)
    assert first and not second
    assert DBTaskResult.objects.count() == len(first)
    assert ScheduledJob.objects.exclude(running_task_id="").count() == len(first)


def test_the_scheduler_reclaims_only_when_its_own_heartbeat_is_steady(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reclaimed: list[float] = []
    monkeypatch.setattr(heartbeats, "reclaim_stale", lambda timeout: reclaimed.append(timeout))
    monkeypatch.setattr(worker, "enqueue_due", lambda: [])
    monkeypatch.setattr(worker, "close_old_connections", lambda: None)

    class Steady(Heartbeat):
        steady = False

        def may_judge_others(self) -> bool:
            return self.steady

    heartbeat = Steady(timeout=300)
    for steady in (False, True):
        heartbeat.steady = steady
        stop = threading.Event()
        ticks = iter([False, True])
        monkeypatch.setattr(stop, "is_set", lambda ticks=ticks: next(ticks))
        monkeypatch.setattr(stop, "wait", lambda seconds: None)
        worker.schedule(stop, 0.0, heartbeat)
    assert reclaimed == [300.0]
