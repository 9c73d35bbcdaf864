"""`make bench`: run bench/suite.py on SQLite and on PostgreSQL and write docs/benchmarks.md.

Environment: BENCH_CASES (default 100000), BENCH_DATABASES (default "sqlite,postgresql"),
BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/casework_bench; the database is created
if missing). Bench databases are kept between runs so that generating the cases is paid once.
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
    output = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.suite", "--cases", str(cases)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(output.stdout)


def _markdown(results: list[dict[str, Any]]) -> str:
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
            lines += ["", f"### {module}", "", "```", json.dumps(extra, indent=2), "```"]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    cases = int(os.environ.get("BENCH_CASES", "100000"))
    kinds = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
    results = [_run(kind, cases) for kind in kinds]
    (ROOT / "docs" / "benchmarks.md").write_text(_markdown(results))
    print((ROOT / "docs" / "benchmarks.md").read_text())


if __name__ == "__main__":
    main()
