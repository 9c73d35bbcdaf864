"""Mutation testing of the rules that decide who sees what (`make mutate`; decision 0013).

Each module of tools/mutation.toml is mutated with Cosmic Ray's operators, one mutant at a time,
and the module's own fast tests must fail on every mutant. Two kinds of mutant come from here,
not from Cosmic Ray: the members of the module-level tables a module names (the lifecycle's
moves, each role's permissions), each taken out and each missing member of the same kind put in,
since no operator of any Python mutation tool changes what a set holds; and the mutations issue
16 named, which must keep turning a test red.

The mutants are made in copies of the work tree under var/mutate/ (one per job), never in the
tree itself, so an interrupted run leaves nothing mutated. The result is written to
docs/mutation.md: per module the mutants killed and survived, and each survivor with the reason
it is accepted (`[[justified]]` in tools/mutation.toml). A survivor without a reason, a named
mutation that no test notices, or a module whose tests fail unmutated makes the run fail.

    python tools/mutate.py [--jobs 2] [--module casework/cases/lifecycle.py ...] [--no-write]
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Queue
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "mutation.toml"
REPORT = ROOT / "docs" / "mutation.md"
RESULTS = ROOT / "docs" / "mutation.json"  # each module's last result, for runs of a few modules
WORK = ROOT / "var" / "mutate"

# Killed mutants stop at their first failing test. Plugins that none of these tests use are not
# loaded: hypothesis' and schemathesis' take longer to import than most subsets take to run.
PYTEST = ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "pytest_django.plugin"]
TEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass
class Mutant:
    operator: str  # a Cosmic Ray operator, "table" or "named"
    line: int
    code: str  # the mutated line (or, for a table, what changed)
    outcome: str = ""  # killed, timeout, survived, incompetent


@dataclass
class Outcome:
    name: str  # the module's path, or the named mutation's name
    kind: str  # module or named
    path: str
    tests: list[str]
    mutants: list[Mutant] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    run_on: str = ""  # the date and commit of the run that produced it

    def count(self, *outcomes: str) -> int:
        return sum(1 for mutant in self.mutants if mutant.outcome in outcomes)


# --- Making mutants ----------------------------------------------------------------------------


def _offsets(source: bytes) -> list[int]:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _members(node: ast.expr) -> list[ast.expr] | None:
    """The elements of a set display, a tuple, or `frozenset()`; None for anything else."""
    if isinstance(node, ast.Set | ast.Tuple):
        return list(node.elts)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "frozenset"
        and not node.args
    ):
        return []
    return None


def _render(node: ast.expr, members: list[str]) -> str:
    if isinstance(node, ast.Tuple):
        return "(" + ", ".join(members) + ("," if len(members) == 1 else "") + ")"
    if isinstance(node, ast.Call):  # frozenset() with nothing in it
        return "frozenset({" + ", ".join(members) + "})" if members else "frozenset()"
    return "{" + ", ".join(members) + "}" if members else "()"


def table_mutants(source: str, tables: list[str]) -> Iterator[tuple[Mutant, str]]:
    """(mutant, mutated source) for every member taken out of, and every missing member of the
    same kind put into, each set of the named module-level tables.

    A member is an attribute of an enumeration (`Status.PLANNED`); its kind is the enumeration,
    and the members of a kind are those the module names anywhere.
    """
    tree = ast.parse(source)
    raw = source.encode()
    starts = _offsets(raw)
    kinds: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.attr.isupper()
        ):
            kinds.setdefault(node.value.id, set()).add(node.attr)

    def text(node: ast.AST) -> str:
        return ast.get_source_segment(source, node) or ""

    def span(node: ast.expr) -> tuple[int, int]:
        end_line, end_column = node.end_lineno or node.lineno, node.end_col_offset or 0
        return starts[node.lineno - 1] + node.col_offset, starts[end_line - 1] + end_column

    for statement in tree.body:
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            name, value = statement.targets[0].id, statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            name, value = statement.target.id, statement.value
        else:
            continue
        if name not in tables or value is None:
            continue
        rows: list[tuple[str, ast.expr]] = []
        if isinstance(value, ast.Dict):
            for key, row in zip(value.keys, value.values, strict=True):
                if key is not None:
                    rows.append((f"{name}[{text(key)}]", row))
        else:
            rows.append((name, value))
        sets = []
        for label, row in rows:
            inner = row
            if isinstance(row, ast.Call) and row.args and _members(row.args[0]) is not None:
                inner = row.args[0]  # frozenset({...})
            elements = _members(inner)
            if elements is not None:
                sets.append((label, inner, [text(element) for element in elements]))
        bases = [m.split(".")[0] for _label, _node, ms in sets for m in ms if "." in m]
        if not bases:
            continue
        kind = max(set(bases), key=bases.count)
        every = sorted(f"{kind}.{attr}" for attr in kinds.get(kind, ()))
        for label, node, present in sets:
            start, end = span(node)
            variants = [
                (f"{label} without {member}", [m for m in present if m != member])
                for member in present
            ] + [
                (f"{label} with {member}", [*present, member])
                for member in every
                if member not in present
            ]
            for description, members in variants:
                mutated = raw[:start] + _render(node, members).encode() + raw[end:]
                yield Mutant("table", node.lineno, description), mutated.decode()


# --- Running them (in a copy of the tree) -------------------------------------------------------


# Our own code: imported afresh by every mutant's tests, never before the fork.
OURS = ("casework", "config", "conftest", "tests")


class Forks:
    """Runs a mutant's tests in a child forked from this process, which has already imported
    every library those tests use and none of our modules (the child imports these from disk,
    mutated). A mutant then costs our imports and its tests, not the start of Python, Django,
    pytest and the libraries, which is most of a run of a few fast tests."""

    def __init__(self, tests: list[str]) -> None:
        self.tests = tests
        self.output = Path("var") / "mutant-tests.log"
        os.environ.update(TEST_ENV)
        # What pytest-django would set: a library that reads a setting while being preloaded
        # then finds the test settings, not an error.
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
        sys.dont_write_bytecode = True

    def run(self, timeout: float, *, create_db: bool = False, record: Path | None = None) -> str:
        """ "passed", "failed" or "timeout"."""
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 3
            try:
                os.setsid()
                log = os.open(self.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(log, 1)
                os.dup2(log, 2)
                import pytest

                database = "--create-db" if create_db else "--reuse-db"
                plugins = [_ModuleRecorder(record)] if record else []
                code = int(pytest.main([*PYTEST[2:], database, *self.tests], plugins=plugins))
            finally:
                os._exit(code)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return "passed" if os.waitstatus_to_exitcode(status) == 0 else "failed"
            time.sleep(0.02)
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return "timeout"

    def preload(self, names: list[str]) -> None:
        """Import the libraries the tests imported (in their order), then forget any of ours."""
        import importlib

        for name in names:
            if name.split(".")[0] not in OURS and name not in sys.modules:
                try:
                    importlib.import_module(name)
                except Exception:  # noqa: S112 (a module that needs Django set up waits for it)
                    continue
        for name in [name for name in sys.modules if name.split(".")[0] in OURS]:
            del sys.modules[name]


class _ModuleRecorder:
    """A pytest plugin writing the names of the modules imported by the end of the session."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pytest_sessionfinish(self) -> None:
        self.path.write_text(json.dumps(list(sys.modules)))


def _verdict(state: str) -> str:
    return {"passed": "survived", "failed": "killed", "timeout": "timeout"}[state]


def _with_source(path: Path, mutated: str, forks: Forks, timeout: float) -> str:
    original = path.read_text()
    try:
        path.write_text(mutated)
        return _verdict(forks.run(timeout))
    finally:
        path.write_text(original)


def _unevaluated_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where a mutant changes nothing that runs: annotations, in a module that never evaluates
    them (`from __future__ import annotations`), and the `*` that makes arguments keyword-only,
    which Cosmic Ray takes for a multiplication."""
    tree = ast.parse(source)
    lazy = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )
    spans = []
    for node in ast.walk(tree):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            annotations.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
            arguments = node.args
            if arguments.kwonlyargs and not arguments.vararg:
                # The bare `*`: between the last positional argument and the first keyword-only.
                first = arguments.kwonlyargs[0]
                spans.append(((node.lineno, node.col_offset), (first.lineno, first.col_offset)))
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for annotation in annotations:
            if lazy and annotation is not None:
                end = (annotation.end_lineno or annotation.lineno, annotation.end_col_offset or 0)
                spans.append(((annotation.lineno, annotation.col_offset), end))
    return spans


def _never_runs(
    position: tuple[int, int], spans: list[tuple[tuple[int, int], tuple[int, int]]]
) -> bool:
    return any(start <= tuple(position) < end for start, end in spans)


def _cosmic_ray_mutants(
    module: Path, forks: Forks, timeout: float, operators: list[str], session: Path
) -> Iterator[Mutant]:
    from cosmic_ray.commands import init
    from cosmic_ray.mutating import use_mutation
    from cosmic_ray.plugins import get_operator
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    kept = re.compile("|".join(f"(?:{pattern})$" for pattern in operators))
    skipped = _unevaluated_spans(module.read_text())
    session.unlink(missing_ok=True)
    with use_db(str(session), mode=WorkDB.Mode.create) as db:
        init([module], db, {})
        items = sorted(
            db.pending_work_items,
            key=lambda item: (item.mutations[0].start_pos, item.mutations[0].operator_name),
        )
        for item in items:
            spec = item.mutations[0]
            if not kept.match(spec.operator_name):
                db.set_result(
                    item.job_id,
                    WorkResult(output="operator not kept", worker_outcome=WorkerOutcome.SKIPPED),
                )
                continue
            if _never_runs(spec.start_pos, skipped):
                db.set_result(
                    item.job_id,
                    WorkResult(output="never evaluated", worker_outcome=WorkerOutcome.SKIPPED),
                )
                continue
            operator = get_operator(spec.operator_name)(**(spec.operator_args or {}))
            with use_mutation(Path(spec.module_path), operator, spec.occurrence) as (
                original,
                mutated,
            ):
                if mutated is None:
                    continue
                state = forks.run(timeout)
            before, after = original.splitlines(), mutated.splitlines()
            line = spec.start_pos[0]
            if len(after) < len(before):  # a decorator taken away
                code = f"(without) {before[line - 1].strip()}"
            else:
                code = after[line - 1].strip()
            db.set_result(
                item.job_id,
                WorkResult(
                    worker_outcome=WorkerOutcome.NORMAL,
                    test_outcome=TestOutcome.SURVIVED if state == "passed" else TestOutcome.KILLED,
                    output=state,
                    diff=code,
                ),
            )
            yield Mutant(spec.operator_name.removeprefix("core/"), line, code, _verdict(state))


def _tell(path: Path, mutant: Mutant) -> None:
    """Survivors as they come, so that tests can be written before the run ends."""
    if mutant.outcome not in ("killed", "timeout"):
        print(
            f"  {mutant.outcome}: {path}:{mutant.line} {mutant.operator}: {mutant.code}", flush=True
        )


def work(spec: dict[str, Any], operators: list[str]) -> Outcome:
    """Run one module's (or one named mutation's) mutants in the current directory, a copy."""
    started = time.monotonic()
    outcome = Outcome(spec["name"], spec["kind"], spec["path"], spec["tests"])
    tests, path = spec["tests"], Path(spec["path"])
    missing = [test for test in tests if not Path(test.split("::")[0]).exists()]
    if missing or not path.exists():
        outcome.error = f"missing: {', '.join(missing or [str(path)])}"
        return outcome
    forks = Forks(tests)
    baseline_started = time.monotonic()
    imported = Path("var") / "imported-modules.json"
    Path("var").mkdir(exist_ok=True)
    if forks.run(900, create_db=True, record=imported) != "passed":
        outcome.error = "its tests fail without any mutation:\n" + forks.output.read_text()[-3000:]
        return outcome
    # A mutant that loops for ever is stopped; a slow machine must not make a killed one look so.
    timeout = max(60.0, 5 * (time.monotonic() - baseline_started))
    forks.preload(json.loads(imported.read_text()))
    source = path.read_text()
    if spec["kind"] == "named":
        if spec["find"] not in source:
            outcome.error = "the code this mutation changes is no longer there: update it"
            return outcome
        line = source[: source.index(spec["find"])].count("\n") + 1
        mutant = Mutant("named", line, spec["replace"].strip().splitlines()[0])
        mutated = source.replace(spec["find"], spec["replace"], 1)
        mutant.outcome = _with_source(path, mutated, forks, timeout)
        outcome.mutants.append(mutant)
    else:
        for mutant, mutated in table_mutants(source, spec.get("tables", [])):
            mutant.outcome = _with_source(path, mutated, forks, timeout)
            _tell(path, mutant)
            outcome.mutants.append(mutant)
        session = Path("var") / f"mutate-{path.stem}-{path.parent.name}.sqlite"
        for mutant in _cosmic_ray_mutants(path, forks, timeout, operators, session):
            _tell(path, mutant)
            outcome.mutants.append(mutant)
    outcome.seconds = time.monotonic() - started
    return outcome


def copy_tree(destination: Path) -> None:
    """The work tree as git sees it (committed or not, ignored files left out)."""
    if destination.exists():
        shutil.rmtree(destination)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _in_lane(tree: Path, spec: dict[str, Any]) -> Outcome:
    result = tree / "var" / f"result-{abs(hash(spec['name']))}.json"
    env = {**os.environ, "CASEWORK_VAR_DIR": str(tree / "var" / "test")}
    subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "tools/mutate.py", "--worker", json.dumps(spec), "--result", str(result)],
        cwd=tree,
        env=env,
        check=False,
    )
    if not result.exists():
        return Outcome(
            spec["name"], spec["kind"], spec["path"], spec["tests"], error="the worker crashed"
        )
    return _outcome(json.loads(result.read_text()))


def _outcome(data: dict[str, Any]) -> Outcome:
    return Outcome(**{**data, "mutants": [Mutant(**mutant) for mutant in data["mutants"]]})


# --- The report ---------------------------------------------------------------------------------


def _justification(outcome: Outcome, mutant: Mutant, justified: list[dict[str, str]]) -> str:
    for entry in justified:
        if (
            entry["path"] == outcome.name
            and entry["operator"] == mutant.operator
            and entry["code"] == mutant.code
        ):
            return entry["reason"]
    return ""


def report(
    outcomes: list[Outcome], justified: list[dict[str, str]], last_run: str
) -> tuple[str, list[str]]:
    """The text of docs/mutation.md, and what makes the run fail."""
    from importlib.metadata import version

    problems: list[str] = []
    busy = sum(outcome.seconds for outcome in outcomes)
    lines = [
        "# Mutation testing: the last result",
        "",
        "`make mutate` (tools/mutate.py, with the modules and their tests in tools/mutation.toml;",
        "decision 0013) writes this file. Every mutant must be killed by the module's tests, or be",
        "listed below with the reason it cannot be. `--module PATH` runs some modules again and",
        "keeps the others' last result (docs/mutation.json); each row says when it ran.",
        "",
        f"- Last run: {last_run}",
        f"- Time of all modules and named mutations, one after another: {busy / 60:.1f} minutes "
        f"(over two jobs, about {busy / 120:.0f})",
        f"- Tool: Cosmic Ray {version('cosmic-ray')}, with the table mutants and the named "
        "mutations of tools/mutate.py",
        "",
        "| module | mutants | killed | timed out | survived | justified | score | minutes | run |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    modules = [outcome for outcome in outcomes if outcome.kind == "module"]
    total = {"mutants": 0, "killed": 0, "timeout": 0, "survived": 0, "justified": 0}
    survivors: list[str] = []
    for outcome in modules:
        if outcome.error:
            problems.append(f"{outcome.name}: {outcome.error}")
            lines.append(f"| `{outcome.name}` | not run: {outcome.error.splitlines()[0]} ||||||| ")
            continue
        killed, timeout = outcome.count("killed"), outcome.count("timeout")
        survived = [m for m in outcome.mutants if m.outcome in ("survived", "incompetent")]
        reasons = [_justification(outcome, mutant, justified) for mutant in survived]
        accepted = sum(1 for reason in reasons if reason)
        ran = killed + timeout + len(survived)
        score = f"{100 * (killed + timeout) / ran:.1f} %" if ran else "–"
        lines.append(
            f"| `{outcome.name}` | {ran} | {killed} | {timeout} | {len(survived)} | "
            f"{accepted} | {score} | {outcome.seconds / 60:.1f} | {outcome.run_on} |"
        )
        for key, value in zip(total, (ran, killed, timeout, len(survived), accepted), strict=True):
            total[key] += value
        for mutant, reason in zip(survived, reasons, strict=True):
            if not reason:
                problems.append(f"{outcome.name}:{mutant.line} {mutant.operator}: {mutant.code}")
            survivors.append(
                f"| `{outcome.name}` | {mutant.line} | {mutant.operator} | "
                f"`{mutant.code.replace('|', '¦')}` | {reason or '**not justified**'} |"
            )
    ran_all = total["mutants"]
    score_all = f"{100 * (total['killed'] + total['timeout']) / ran_all:.1f} %" if ran_all else "–"
    lines.append(
        f"| all | {ran_all} | {total['killed']} | {total['timeout']} | {total['survived']} | "
        f"{total['justified']} | {score_all} | | |"
    )
    lines += ["", "## Surviving mutants", ""]
    if survivors:
        lines += [
            "| module | line | operator | mutated code | why it may survive |",
            "|---|--:|---|---|---|",
        ]
        lines += survivors
    else:
        lines.append("None.")
    lines += [
        "",
        "## The mutations issue 16 named",
        "",
        "| mutation | where | turned these tests red |",
        "|---|---|---|",
    ]
    for outcome in outcomes:
        if outcome.kind != "named":
            continue
        if outcome.error:
            problems.append(f"{outcome.name}: {outcome.error}")
            verdict = f"not run: {outcome.error.splitlines()[0]}"
        elif outcome.mutants[0].outcome in ("killed", "timeout"):
            verdict = "yes: " + ", ".join(f"`{test}`" for test in outcome.tests)
        else:
            problems.append(f"{outcome.name}: no test noticed it")
            verdict = "**no: no test noticed it**"
        line = outcome.mutants[0].line if outcome.mutants else "?"
        where = f"`{outcome.path}:{line}`"
        lines.append(f"| {outcome.name} | {where} | {verdict} |")
    lines += [
        "",
        "## What each module's mutants are tested with",
        "",
    ]
    for outcome in modules:
        tests = ", ".join(f"`{test}`" for test in outcome.tests)
        lines.append(f"- `{outcome.name}`: {tests}")
    return "\n".join(lines) + "\n", problems


def _commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def _report_again(config: dict[str, Any], last_run: str | None) -> int:
    """The report of the kept results, with the reasons tools/mutation.toml gives now, and the
    results of an interrupted run (var/mutate/done/) added to them."""
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for done in sorted((WORK / "done").glob("*.json")):
        outcome = json.loads(done.read_text())
        kept[outcome["name"]] = outcome
    order = [m["path"] for m in config["module"]] + [n["name"] for n in config.get("named", [])]
    merged = [_outcome(kept[name]) for name in order if name in kept]
    merged += [
        Outcome(m["path"], "module", m["path"], m["tests"], error="not run yet")
        for m in config["module"]
        if m["path"] not in kept
    ]
    if last_run is None:
        last_run = next(
            (
                line.removeprefix("- Last run: ")
                for line in REPORT.read_text().splitlines()
                if line.startswith("- Last run: ")
            ),
            "?",
        )
    text, problems = report(merged, config.get("justified", []), last_run)
    RESULTS.write_text(json.dumps({name: kept[name] for name in order if name in kept}, indent=1))
    REPORT.write_text(text)
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--module", action="append", default=[], help="only these modules")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/mutation.md")
    parser.add_argument("--work", type=Path, default=WORK, help="where the copies of the tree go")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite docs/mutation.md from docs/mutation.json (after editing [[justified]])",
    )
    parser.add_argument("--last-run", help="with --report-only: what to say of the last run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    config = tomllib.loads(CONFIG.read_text())
    operators = config["settings"]["operators"]

    if args.worker:  # in a copy of the tree, started by a lane below
        done = work(json.loads(args.worker), operators)
        data = asdict(done)
        Path(args.result).write_text(json.dumps(data))
        return 0

    if args.report_only:
        return _report_again(config, args.last_run)

    specs: list[dict[str, Any]] = [
        {**module, "name": module["path"], "kind": "module"}
        for module in config["module"]
        if not args.module or module["path"] in args.module
    ] + [
        {**named, "kind": "named"}
        for named in config.get("named", [])
        if not args.module or named["path"] in args.module
    ]
    # The longest first, so that the lanes finish together.
    # The named mutations, then the smallest modules first: a run stopped early has the most
    # results, each kept as soon as it is known (var/mutate/done/, then docs/mutation.json).
    specs.sort(
        key=lambda spec: (ROOT / spec["path"]).stat().st_size if spec["kind"] == "module" else 0
    )
    started = time.monotonic()
    commit = _commit()
    today = datetime.datetime.now(tz=datetime.UTC).date().isoformat()
    shutil.rmtree(args.work / "done", ignore_errors=True)
    lanes: Queue[Path] = Queue()
    for number in range(args.jobs):
        tree = args.work.resolve() / f"tree-{number}"
        copy_tree(tree)
        lanes.put(tree)

    def run(spec: dict[str, Any]) -> Outcome:
        tree = lanes.get()
        try:
            print(f"mutating {spec['name']} …", flush=True)
            outcome = _in_lane(tree, spec)
            outcome.run_on = f"{today} {commit}"
            done = args.work / "done"
            done.mkdir(parents=True, exist_ok=True)
            slug = re.sub(r"[^A-Za-z0-9]+", "-", outcome.name).strip("-")
            (done / f"{slug}.json").write_text(json.dumps(asdict(outcome)))
            print(
                f"  {spec['name']}: {outcome.count('killed', 'timeout')} killed, "
                f"{outcome.count('survived', 'incompetent')} survived"
                + (f" ({outcome.error.splitlines()[0]})" if outcome.error else ""),
                flush=True,
            )
            return outcome
        finally:
            lanes.put(tree)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(run, specs))
    seconds = time.monotonic() - started
    last_run = (
        f"{today}, at commit {commit}, {len(specs)} of {len(config['module'])} modules and "
        f"{len(config.get('named', []))} named mutations, {args.jobs} jobs, "
        f"{seconds / 60:.1f} minutes"
    )
    # Keep the last result of the modules not run this time, in the order of tools/mutation.toml.
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    kept.update({outcome.name: asdict(outcome) for outcome in outcomes})
    order = [m["path"] for m in config["module"]] + [n["name"] for n in config.get("named", [])]
    merged = [_outcome(kept[name]) for name in order if name in kept]
    text, problems = report(merged, config.get("justified", []), last_run)
    if not args.no_write:
        RESULTS.write_text(
            json.dumps({name: kept[name] for name in order if name in kept}, indent=1) + "\n"
        )
        REPORT.write_text(text)
        print(f"written: {REPORT.relative_to(ROOT)}")
    else:
        print(text)
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    print(f"{seconds / 60:.1f} minutes")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
