"""`make bench`: run bench/suite.py on SQLite and on PostgreSQL and write docs/benchmarks.md.

Environment: BENCH_CASES (default 100000), BENCH_DATABASES (default "sqlite,postgresql"),
BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/casework_bench; the database is created
if missing), BENCH_IMPORT_ROWS (default 100000; 0 skips the import benchmark). Bench databases
are kept between runs so that generating the cases is paid once; the import benchmark starts
from an empty database each time.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"


def _database_url(kind: str) -> str:
    if kind == "sqlite":
        VAR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{VAR / 'bench.sqlite3'}"
    url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/casework_bench")
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    return url


def _run(kind: str, cases: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(kind),
        "CASEWORK_VAR_DIR": str(VAR),
        "CASEWORK_HTTPS": "0",
        "LOG_LEVEL": "WARNING",
    }
    # The bench database's keys are made first, in a process of their own: settings read the
    # secret key when Django starts, so a process that makes it after starting has none.
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "initkeys"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    output = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.suite", "--cases", str(cases)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(output.stdout)


def _import(kind: str, rows: int) -> dict[str, Any]:
    env = {**os.environ, "CASEWORK_HTTPS": "0", "LOG_LEVEL": "WARNING"}
    output = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.import_bench", "--rows", str(rows), "--database", kind],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    # Set-up commands may print before the results: the JSON object starts on a line of its own.
    text = output.stdout
    return json.loads(text[text.index("{\n") if not text.startswith("{") else 0 :])


def _indicator_lines(extra: dict[str, Any]) -> list[str]:
    floor, report = extra["floor"], extra["report"]
    return [
        f"Quarterly indicator report ({extra['period']}, agency {extra['agency']}, "
        f"{extra['cases']:,} cases): the three built-in indicators, every single "
        "disaggregation, suppression included, against the same grouped query written by hand.",
        "",
        "| operation | median ms | p95 ms | queries |",
        "|---|---:|---:|---:|",
        f"| full report (build_report) | {report['median_ms']} | {report['p95_ms']} | "
        f"{report['queries']} |",
        f"| raw-SQL floor | {floor['median_ms']} | {floor['p95_ms']} | {floor['queries']} |",
        "",
        f"Report / floor: **{extra['ratio']}×** (target: under 2 s on PostgreSQL, within 3×).",
    ]


def _persons_lines(extra: dict[str, Any]) -> list[str]:
    match, job, merge = extra["match"], extra["duplicate job"], extra["merge"]
    return [
        f"One person, one record ({extra['persons']:,} persons, of which "
        f"{extra['rare persons']:,} added with rare invented names, a tenth of them registered "
        "twice with a letter dropped; see bench/persons_bench.py).",
        "",
        "| operation | median ms | p95 ms | target |",
        "|---|---:|---:|---|",
        f"| match candidates for a registration (scoped, audited) | {match['median_ms']} | "
        f"{match['p95_ms']} | p95 ≤ 50 ms |",
        f"| merge two records of one person | {merge['median_ms']} | {merge['p95_ms']} | "
        "≤ 200 ms |",
        "",
        f"The person a search was typed from was among the candidates shown in "
        f"{match['sought person shown']} of {match['searches']} searches (the names are one "
        "letter off, most of them among the commonest names of the demo data; see "
        "docs/decisions/0008).",
        "",
        f"Duplicate job over the agency: **{job['seconds']} s** (target ≤ 60 s); "
        f"{job['pairs compared']:,} pairs compared, {job['pairs kept']:,} kept for review, "
        f"{job['planted twins found']:,} of the {job['planted twins']:,} planted twins among them.",
    ]


def _import_lines(result: dict[str, Any]) -> list[str]:
    lines = [
        f"### Import — {result['database']}, {result['rows']:,} case rows + "
        f"{result['survey_rows']:,} survey rows ({result['csv_megabytes']} MB of CSV)",
        "",
        "| step | seconds | CPU s (this process) | rows/s |",
        "|---|---:|---:|---:|",
    ]
    for label in ("dry_run", "import", "reimport"):
        if label in result:
            step = result[label]
            lines.append(
                f"| {label.replace('_', ' ')} | {step['seconds']} | {step['cpu_seconds']} | "
                f"{step['rows_per_second']:,} |"
            )
    return lines


def _markdown(results: list[dict[str, Any]], imports: list[dict[str, Any]]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.date.today().isoformat()} by `make bench` on {platform.machine()} "  # noqa: DTZ011
        f"({os.cpu_count()} cores), Python {platform.python_version()}. Each figure is the median "
        "(and 95th percentile) of repeated runs after one warm-up, through the same views and "
        "services users hit. Regenerate with `make bench`.",
        "",
    ]
    for result in results:
        lines += [f"## {result['database']} — {result['cases']:,} cases", ""]
        if "generate" in result:
            g = result["generate"]
            lines += [
                f"Demo data generated: {g['cases']:,} cases in {g['seconds']} s ({g['per_second']:,}/s).",
                "",
            ]
        lines += ["| operation | median ms | p95 ms | queries |", "|---|---:|---:|---:|"]
        for name, t in result["timings"].items():
            lines.append(f"| {name} | {t['median_ms']} | {t['p95_ms']} | {t.get('queries', '')} |")
        for module, extra in result.get("extra", {}).items():
            if module == "bench.indicators_bench":
                lines += ["", *_indicator_lines(extra)]
            elif module == "bench.persons_bench":
                lines += ["", *_persons_lines(extra)]
            else:
                lines += ["", f"### {module}", "", "```", json.dumps(extra, indent=2), "```"]
        lines.append("")
    if imports:
        lines += [
            "## Import throughput",
            "",
            "`casework import` of the interchange format into an empty database (one "
            "transaction), after a dry run that checks every row; the re-import of the same "
            "files is the idempotent path (nothing changes).",
            "",
        ]
        for result in imports:
            lines += [*_import_lines(result), ""]
    notes = ROOT / "docs" / "benchmarks-notes.md"
    if notes.exists():
        lines += [notes.read_text().rstrip(), ""]
    return "\n".join(lines)


def main() -> None:
    cases = int(os.environ.get("BENCH_CASES", "100000"))
    kinds = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
    results = []
    VAR.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        results.append(_run(kind, cases))
        # Kept as each database finishes, so that a failure further on loses no measurement.
        (VAR / "results.json").write_text(json.dumps(results, indent=1))
    rows = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
    imports = [_import(kind, rows) for kind in kinds] if rows else []
    (ROOT / "docs" / "benchmarks.md").write_text(_markdown(results, imports))
    print((ROOT / "docs" / "benchmarks.md").read_text())


if __name__ == "__main__":
    main()
