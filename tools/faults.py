"""`make faults`: kill things on loopback and check that nothing acknowledged was lost.

Experiments, each against a fresh installation in var/faults/ (keys, migrations, demo data):

1. *import*: `casework import` of a few thousand rows killed with SIGKILL at several moments;
   after each kill the database holds all of that import or none of it (one transaction at the
   end), and a final import completes.
2. *worker*: a job whose worker child is killed mid-run is finished by the child its supervisor
   starts again; a job whose whole `casework worker` (supervisor and child) is killed is taken
   over by a new worker after the heartbeat timeout.
3. *server*: gunicorn serving API writes from several clients at once, killed with SIGKILL and
   started again three times; every note whose creation was answered 2xx is in the database,
   and every note has its audit entry (no half-written change).
4. *outage* (PostgreSQL): the test database refuses connections (`ALTER DATABASE … ALLOW_CONNECTIONS
   false` and its backends terminated) while the clients write; the server answers 503 with
   Retry-After, never 500, and writes again once the database is back, with nothing acknowledged
   lost.

At the end `casework audit verify` must pass (the worker sealed everything, across the kills).
The results go to docs/faults.md. SQLite always; PostgreSQL too when FAULTS_POSTGRES_URL (a server
where this user may create databases, e.g. postgres://postgres@127.0.0.1:5432/postgres) is set.

    python tools/faults.py [--out docs/faults.md]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
JOB = "casework.core.tests.interrupted_jobs.slow_first_time"
HEARTBEAT_TIMEOUT = 6


@dataclass
class Experiment:
    name: str
    passed: bool = True
    numbers: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def check(self, condition: bool, failure: str) -> None:
        if not condition:
            self.passed = False
            self.failures.append(failure)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(condition: Callable[[], Any], seconds: float = 60.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(every)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Installation:
    """One fresh Casework on `database_url`, driven through its commands."""

    def __init__(self, var: Path, database_url: str) -> None:
        self.var = var
        self.database_url = database_url
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CASEWORK_VAR_DIR": str(var),
            "DATABASE_URL": database_url,
            "CASEWORK_HTTPS": "0",
            "CASEWORK_TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
            "CASEWORK_WORKER_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
            # The clients write as fast as they can: no rate limit in the way.
            "CASEWORK_RATE_LIMITS_ENABLED": "0",
            "PYTHONUNBUFFERED": "1",
        }
        self.log = (var / "processes.log").open("ab")

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603 - our own manage.py
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr[-2000:]}")
        return done

    def start(self, *args: str, extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own programs
            list(args),
            cwd=ROOT,
            env={**self.env, **(extra or {})},
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )

    def query(self, code: str) -> Any:
        """Run `code` (which sets `result`) in a Django shell; return `result`."""
        script = f"import json\n{code}\nprint('RESULT=' + json.dumps(result, default=str))"
        output = self.manage("shell", "-c", script).stdout
        line = [line for line in output.splitlines() if line.startswith("RESULT=")][-1]
        return json.loads(line.removeprefix("RESULT="))

    def prepare(self) -> str:
        self.manage("initkeys")
        self.manage("migrate", "--noinput")
        self.manage("demo", "--cases", "40", "--seed", "1")
        token = self.manage(
            "token", "create", "amina", "--scope", "read", "--scope", "write", "--days", "1"
        )
        return token.stdout.strip().split()[-1]


# 1. The import --------------------------------------------------------------------------------


def _import_file(path: Path, copy: int, times: int) -> int:
    """The worked example's cases, `times` over, with references of their own; returns rows."""
    source = ROOT / "tests" / "fixtures" / "interchange-small" / "cases.csv"
    rows = list(csv.DictReader(source.open(encoding="utf-8")))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for round_ in range(times):
        for row in rows:
            writer.writerow(
                {
                    **row,
                    "case_ref": f"{row['case_ref']}-{copy}-{round_}",
                    "person_ref": f"{row['person_ref']}-{copy}-{round_}",
                }
            )
    path.write_text(out.getvalue(), encoding="utf-8")
    return len(rows) * times


def _case_count(site: Installation) -> int:
    return int(site.query("from casework.cases.models import Case\nresult = Case.objects.count()"))


def import_experiment(site: Installation, times: int = 10) -> Experiment:
    result = Experiment("import killed mid-way")
    probe = site.var / "probe.csv"
    rows = _import_file(probe, 0, times)
    started = time.monotonic()
    site.manage("import", str(probe), "--agency", "AGY", "--valid-only", "--dry-run")
    checking = time.monotonic() - started
    result.numbers.update(rows_per_import=rows, dry_run_seconds=round(checking, 1))
    killed_while_running = committed_unreported = 0
    for attempt, fraction in enumerate((0.3, 0.6, 0.9, 1.0, 1.1, 1.25, 1.5), start=1):
        before = _case_count(site)
        path = site.var / f"import-{attempt}.csv"
        _import_file(path, attempt, times)
        process = site.start(
            PYTHON, "manage.py", "import", str(path), "--agency", "AGY", "--valid-only"
        )
        time.sleep(checking * fraction)
        finished = process.poll() is not None
        _kill_group(process)
        killed_while_running += not finished
        written = _case_count(site) - before
        acknowledged = finished and process.returncode == 0
        # Killed after its commit but before it reported is allowed (all of it is there, and
        # nobody was told); anything between none and all, or an acknowledgement without the
        # rows, is not.
        committed_unreported += written == rows and not acknowledged
        result.check(
            written in (0, rows) and (written == rows or not acknowledged),
            f"attempt {attempt}: {written} of {rows} cases written "
            f"({'finished' if finished else 'killed'})",
        )
    final = site.var / "import-final.csv"
    _import_file(final, 99, times)
    before = _case_count(site)
    site.manage("import", str(final), "--agency", "AGY", "--valid-only")
    written = _case_count(site) - before
    result.check(written > 0, "the final import wrote nothing")
    result.numbers.update(
        kills=7,
        killed_while_running=killed_while_running,
        committed_but_killed_before_reporting=committed_unreported,
        final_import_cases=written,
    )
    return result


# 2. The worker --------------------------------------------------------------------------------


def _enqueue_job(site: Installation) -> str:
    return str(
        site.query(
            "from casework.core.tests.interrupted_jobs import slow_first_time\n"
            "result = str(slow_first_time.enqueue().id)"
        )
    )


def _task(site: Installation, task_id: str) -> dict[str, Any]:
    return dict(
        site.query(
            "from django_tasks_db.models import DBTaskResult\n"
            f"t = DBTaskResult.objects.get(pk={task_id!r})\n"
            "result = {'status': t.status, 'worker_ids': t.worker_ids, 'value': t.return_value}"
        )
    )


def worker_experiment(site: Installation) -> tuple[Experiment, subprocess.Popen[bytes]]:
    result = Experiment("worker killed mid-job")
    worker_args = (PYTHON, "manage.py", "worker", "--tick", "1")

    # (a) The child is killed; its supervisor starts another, which finishes the job.
    marks = site.var / "marks-child"
    marks.mkdir()
    extra = {"CASEWORK_TEST_JOB_MARKS": str(marks)}
    supervisor = site.start(*worker_args, extra=extra)
    task_id = _enqueue_job(site)
    result.check(bool(_wait_for((marks / "started-1").exists)), "the job never started")
    child = int(_task(site, task_id)["worker_ids"][-1].split(":")[1])
    os.kill(child, signal.SIGKILL)
    killed_at = time.monotonic()
    task = _wait_for(lambda: (t := _task(site, task_id))["status"] == "SUCCESSFUL" and t, 90)
    result.check(bool(task), "the job of the killed child was not finished")
    result.numbers["child_killed_job_done_after_s"] = round(time.monotonic() - killed_at, 1)
    if task:
        result.check(task["value"] == 2 and len(task["worker_ids"]) == 2, f"task ended {task}")

    # (b) The whole worker is killed; another one takes the job over after the timeout.
    _kill_group(supervisor)
    if task:  # its child runs in a session of its own
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(task["worker_ids"][-1].split(":")[1]), signal.SIGKILL)
    marks = site.var / "marks-whole"
    marks.mkdir()
    extra = {"CASEWORK_TEST_JOB_MARKS": str(marks)}
    supervisor = site.start(*worker_args, extra=extra)
    task_id = _enqueue_job(site)
    result.check(bool(_wait_for((marks / "started-1").exists)), "the second job never started")
    child = int(_task(site, task_id)["worker_ids"][-1].split(":")[1])
    _kill_group(supervisor)
    os.kill(child, signal.SIGKILL)
    killed_at = time.monotonic()
    supervisor = site.start(*worker_args, extra=extra)
    task = _wait_for(lambda: (t := _task(site, task_id))["status"] == "SUCCESSFUL" and t, 120)
    result.check(bool(task), "no new worker took over the lost job")
    result.numbers["worker_killed_job_done_after_s"] = round(time.monotonic() - killed_at, 1)
    result.numbers["heartbeat_timeout_s"] = HEARTBEAT_TIMEOUT
    return result, supervisor


# 3 and 4. The server and the database ----------------------------------------------------------


class Writers:
    """Clients adding notes to cases as fast as the server answers; every note answered 2xx is
    remembered by its id."""

    def __init__(self, base: str, token: str, cases: list[int], clients: int = 6) -> None:
        self.base, self.cases, self.clients = base, cases, clients
        self.headers = {"Authorization": f"Bearer {token}"}
        self.acknowledged: list[int] = []
        self.statuses: Counter[str] = Counter()
        self.retry_after_missing = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Writers:
        for number in range(self.clients):
            thread = threading.Thread(target=self._write, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(30)

    def _write(self, number: int) -> None:
        session = requests.Session()
        sent = 0
        while not self.stop.is_set():
            case = self.cases[(number + sent) % len(self.cases)]
            sent += 1
            try:
                answer = session.post(
                    f"{self.base}/api/v1/cases/{case}/notes",
                    json={
                        "text": f"fault experiment note {number}-{sent}",
                        "contact_type": "phone",
                    },
                    headers=self.headers,
                    timeout=10,
                )
            except requests.RequestException:
                with self._lock:
                    self.statuses["no answer"] += 1
                time.sleep(0.05)
                continue
            with self._lock:
                self.statuses[str(answer.status_code)] += 1
                if 200 <= answer.status_code < 300:
                    self.acknowledged.append(int(answer.json()["id"]))
                elif answer.status_code == 503 and "Retry-After" not in answer.headers:
                    self.retry_after_missing += 1
            if answer.status_code >= 500:
                time.sleep(0.1)

    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def more(self, writes: int, seconds: float = 60.0) -> bool:
        """Wait until `writes` more have been acknowledged; False if they were not in time."""
        goal = self.count() + writes
        return bool(_wait_for(lambda: self.count() >= goal, seconds))


class Server:
    def __init__(self, site: Installation) -> None:
        self.site = site
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = self.site.start(
            str(Path(PYTHON).parent / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "2",
            "--threads",
            "4",
        )

        def answers() -> bool:
            try:
                return requests.get(self.base + "/accounts/login/", timeout=2).status_code < 500
            except requests.RequestException:
                return False

        if not _wait_for(answers, 60):
            raise RuntimeError("the server did not start")

    def kill(self) -> None:
        if self.process is not None:
            _kill_group(self.process)


def _missing_and_partial(
    site: Installation, acknowledged: list[int], after: int
) -> tuple[int, int, int]:
    """How many acknowledged notes are missing, and how many of the notes written since note
    `after` have no audit entry (the demo's own notes are written in bulk, unaudited), of how
    many."""
    (site.var / "acknowledged.json").write_text(json.dumps(acknowledged))
    found = site.query(
        "from pathlib import Path\n"
        "from casework.cases.models import CaseNote\n"
        "from casework.audit.models import AuditEntry\n"
        f"ids = set(json.loads(Path({str(site.var / 'acknowledged.json')!r}).read_text()))\n"
        "present = set(CaseNote.objects.filter(pk__in=ids).values_list('pk', flat=True))\n"
        f"notes = set(CaseNote.objects.filter(pk__gt={after}).values_list('pk', flat=True))\n"
        "audited = set(int(i) for i in AuditEntry.objects.filter(action='cases.note.added')"
        ".values_list('object_id', flat=True))\n"
        "result = [len(ids - present), len(notes - audited), len(notes)]"
    )
    return int(found[0]), int(found[1]), int(found[2])


def server_experiment(site: Installation, server: Server, writers: Writers) -> Experiment:
    result = Experiment("server killed under concurrent writes")
    kills = 3
    for kill in range(kills):
        result.check(writers.more(150), f"no writes acknowledged before kill {kill + 1}")
        server.kill()
        time.sleep(0.5)
        server.start()
    result.check(writers.more(150), "no writes acknowledged after the last restart")
    result.numbers.update(kills=kills, clients=writers.clients)
    return result


def outage_experiment(site: Installation, server: Server, writers: Writers) -> Experiment:
    import psycopg

    result = Experiment("database outage (PostgreSQL refuses connections)")
    parts = urlsplit(site.database_url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    headers = {"Authorization": writers.headers["Authorization"]}
    with psycopg.connect(admin_url, autocommit=True) as admin:
        writers.more(100)
        before = Counter(writers.statuses)
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')  # noqa: S608 - our name
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        down_at = time.monotonic()
        time.sleep(1.0)
        api = requests.get(server.base + "/api/v1/cases", headers=headers, timeout=10)
        screen = requests.get(server.base + "/accounts/login/", timeout=10)
        time.sleep(4.0)
        during = Counter(writers.statuses) - before
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')  # noqa: S608
        up_at = time.monotonic()
    recovered = writers.more(20)
    result.check(api.status_code == 503, f"the API answered {api.status_code} during the outage")
    result.check(
        api.headers.get("Content-Type", "").startswith("application/json")
        and api.json().get("code") == "unavailable"
        and "Retry-After" in api.headers,
        "the API's 503 is not JSON 'unavailable' with Retry-After",
    )
    result.check(
        screen.status_code == 503 and "Retry-After" in screen.headers,
        f"a screen answered {screen.status_code} during the outage",
    )
    result.check(during["500"] == 0, f"{during['500']} writes answered 500 during the outage")
    result.check(writers.retry_after_missing == 0, "a 503 came without Retry-After")
    result.check(bool(recovered), "the server did not write again after the outage")
    result.numbers.update(
        outage_seconds=round(up_at - down_at, 1),
        answers_during_outage=dict(during),
        writes_again_after_s=round(time.monotonic() - up_at, 1) if recovered else None,
    )
    return result


# The run -----------------------------------------------------------------------------------


@contextlib.contextmanager
def installation(label: str, database_url: str) -> Iterator[Installation]:
    var = ROOT / "var" / "faults" / label
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    yield Installation(var, database_url)


def _postgres_database(server_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def run_all(label: str, database_url: str) -> list[Experiment]:
    experiments: list[Experiment] = []
    with installation(label, database_url) as site:
        token = site.prepare()
        experiments.append(import_experiment(site))
        worker_result, worker = worker_experiment(site)
        experiments.append(worker_result)
        cases = site.query(
            "from casework.cases.models import Case\n"
            "from casework.accounts.models import User\n"
            "from casework.cases.access import writable_cases\n"
            "amina = User.objects.get(username='amina')\n"
            "result = list(writable_cases(amina).order_by('pk').values_list('pk', flat=True)[:8])"
        )
        last_note = site.query(
            "from django.db.models import Max\n"
            "from casework.cases.models import CaseNote\n"
            "result = CaseNote.objects.aggregate(last=Max('pk'))['last'] or 0"
        )
        server = Server(site)
        server.start()
        try:
            with Writers(server.base, token, cases) as writers:
                experiments.append(server_experiment(site, server, writers))
                if database_url.startswith("postgres"):
                    experiments.append(outage_experiment(site, server, writers))
                writers.more(50)
        finally:
            server.kill()
        missing, unaudited, notes = _missing_and_partial(site, writers.acknowledged, last_note)
        for experiment in experiments[2:]:
            experiment.check(missing == 0, f"{missing} acknowledged notes are missing")
            experiment.check(unaudited == 0, f"{unaudited} notes have no audit entry")
        experiments[2].numbers.update(
            acknowledged=len(writers.acknowledged),
            missing=missing,
            notes_written=notes,
            notes_without_audit_entry=unaudited,
            answers=dict(writers.statuses),
        )
        # Everything written across the kills is sealed into the chain, which holds.
        time.sleep(3 * HEARTBEAT_TIMEOUT)
        _kill_group(worker)
        verify = site.manage("audit", "verify", check=False)
        for experiment in experiments:
            experiment.check(verify.returncode == 0, "audit verify failed")
        experiments[-1].numbers["audit_verify"] = "clean" if verify.returncode == 0 else "FAILED"
    return experiments


def report(results: dict[str, list[Experiment]], started: datetime.datetime) -> str:
    lines = [
        "# Fault experiments (`make faults`)",
        "",
        "The last result of `tools/faults.py`: processes killed with SIGKILL on loopback, and on",
        "PostgreSQL a database that refuses connections. Nothing acknowledged may be lost, nothing",
        "half-written may remain, and `casework audit verify` must pass afterwards.",
        "",
        f"Run: {started:%Y-%m-%d %H:%M} UTC.",
        "",
    ]
    for label, experiments in results.items():
        lines += [f"## {label}", "", "| experiment | result | numbers |", "|---|---|---|"]
        for experiment in experiments:
            verdict = "pass" if experiment.passed else "FAIL: " + "; ".join(experiment.failures)
            numbers = ", ".join(f"{key} {value}" for key, value in experiment.numbers.items())
            lines.append(f"| {experiment.name} | {verdict} | {numbers} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "faults.md"))
    parser.add_argument(
        "--postgres",
        default=os.environ.get("FAULTS_POSTGRES_URL", ""),
        help="A PostgreSQL server URL to run the experiments on too (and the outage).",
    )
    options = parser.parse_args()
    started = datetime.datetime.now(tz=datetime.UTC)
    results: dict[str, list[Experiment]] = {}
    sqlite = ROOT / "var" / "faults" / "sqlite" / "casework.sqlite3"
    results["SQLite"] = run_all("sqlite", f"sqlite:///{sqlite}")
    if options.postgres:
        database = _postgres_database(options.postgres, "casework_faults_run")
        results["PostgreSQL"] = run_all("postgres", database)
    text = report(results, started)
    Path(options.out).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0 if all(e.passed for runs in results.values() for e in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
