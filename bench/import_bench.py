"""Import throughput: generate N rows of the interchange format and time `casework import`.

    .venv/bin/python -m bench.import_bench --rows 100000                 # SQLite
    .venv/bin/python -m bench.import_bench --rows 100000 --database postgresql

Each run starts from an empty database (a fresh SQLite file, or the PostgreSQL database in
BENCH_IMPORT_PG_URL, default postgres://postgres@127.0.0.1:5432/casework_import_bench, dropped
and created again), migrates it, then times three things through the same service the command,
the screen and the API call: the dry run (checking every row), the import itself (one
transaction), and importing the same files again (the idempotent update path: nothing changes).
Prints JSON. Target (issue 6): 100,000 rows in under a minute on either database.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench-import"

PROGRAMMES = ["CP", "TIP", "GBV", "MHPSS"]
CONCERNS = [
    "child_labour",
    "child_marriage",
    "detention",
    "gbv",
    "legal_documentation",
    "neglect",
    "psychosocial_distress",
    "separated",
    "trafficking",
    "unaccompanied",
    "violence_abuse",
    "other",
]
MOBILITY = [
    "international_migrant",
    "refugee",
    "asylum_seeker",
    "idp",
    "internal_migrant",
    "returnee",
    "host_community",
    "",
]
CLOSURE = [
    "needs_met",
    "client_request",
    "contact_lost",
    "transferred",
    "relocated",
    "death",
    "other",
]
Q3 = ["expressed_needs", "chose_services", "set_goals", "agreed_plan", "declined_services", "other"]
ACTIONS = [
    "attend counselling at {p}",
    "enrol in the {p} school",
    "find safe housing near {p}",
    "start vocational training in {p}",
    "join the peer group at {p}",
    "get medical follow-up at {p}",
]
PLACES = ["Gao", "Mopti", "Kayes", "Ségou", "Bamako", "Sikasso"]


def generate(rows: int, *, seed: int = 6) -> tuple[bytes, bytes]:
    """`rows` cases of about rows/1.2 people, and about 0.7 surveys per case."""
    rng = random.Random(seed)
    cases = io.StringIO()
    surveys = io.StringIO()
    case_writer = csv.writer(cases, lineterminator="\n")
    survey_writer = csv.writer(surveys, lineterminator="\n")
    from casework.interchange.columns import CASE_COLUMNS  # after django.setup() in main()

    # The contract's columns, plus one extra column to show it is kept.
    case_writer.writerow([*CASE_COLUMNS, "legacy_file_no"])
    survey_writer.writerow(["case_ref", "surveyed_on", "q1_aware", "q2_involved", "q3_how"])
    start = datetime.date(2023, 1, 1)
    people = max(1, int(rows / 1.2))
    for number in range(1, rows + 1):
        person = rng.randint(1, people)
        person_rng = random.Random(person)  # a person's attributes are the same on each case
        registered = start + datetime.timedelta(days=rng.randint(0, 1400))
        born = registered - datetime.timedelta(days=person_rng.randint(365, 60 * 365))
        known_birth = person_rng.random() < 0.6
        assessed = (
            registered + datetime.timedelta(days=rng.randint(0, 20)) if rng.random() < 0.9 else None
        )
        planned = (
            assessed + datetime.timedelta(days=rng.randint(0, 30))
            if assessed and rng.random() < 0.8
            else None
        )
        last = planned or assessed or registered
        closed = last + datetime.timedelta(days=rng.randint(1, 400)) if rng.random() < 0.4 else None
        plan_text = ""
        if planned:
            plan_text = (
                "; ".join(
                    rng.choice(ACTIONS).format(p=rng.choice(PLACES))
                    for _ in range(rng.randint(1, 4))
                )
                + f" (ref {rng.randint(100000, 999999)})"
            )
        age = (registered - born).days // 365
        case_ref = f"BEN-{number:07d}"
        case_writer.writerow(
            [
                case_ref,
                f"P{person:07d}",
                "BEN",
                rng.choice(PROGRAMMES),
                rng.choices(["case_management", "ipa", "referral_only"], [80, 13, 7])[0],
                person_rng.choice(["female", "male", "other", "unknown"]),
                born.isoformat() if known_birth else "",
                "" if known_birth else age,
                person_rng.choice(["yes", "no", "unknown", ""]),
                person_rng.choice(MOBILITY),
                rng.choice(CONCERNS),
                rng.choice(["high", "medium", "low"]),
                rng.choice(["NE-01", "NE-02", "NE-03", "SO-01", "SO-02"]),
                f"cw{rng.randint(1, max(2, rows // 40)):05d}",
                registered.isoformat(),
                "yes",
                assessed.isoformat() if assessed else "",
                planned.isoformat() if planned else "",
                plan_text,
                ("yes" if rng.random() < 0.04 else "no") if planned else "",
                closed.isoformat() if closed else "",
                rng.choice(CLOSURE) if closed else "",
                f"L{rng.randint(1, 10**6)}",
            ]
        )
        for day in sorted(rng.sample(range(1, 300), k=rng.choice([0, 0, 1, 1, 1, 2]))):
            q1 = rng.random() < 0.75
            q2 = (rng.random() < 0.7) if q1 else None
            survey_writer.writerow(
                [
                    case_ref,
                    (registered + datetime.timedelta(days=day)).isoformat(),
                    "yes" if q1 else "no",
                    "" if q2 is None else ("yes" if q2 else "no"),
                    ";".join(rng.sample(Q3, k=rng.randint(0, 3))) if q2 else "",
                ]
            )
    return cases.getvalue().encode("utf-8"), surveys.getvalue().encode("utf-8")


def _fresh_database(kind: str) -> str:
    if kind == "sqlite":
        VAR.mkdir(parents=True, exist_ok=True)
        path = VAR / "import.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    url = os.environ.get(
        "BENCH_IMPORT_PG_URL", "postgres://postgres@127.0.0.1:5432/casework_import_bench"
    )
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--no-reimport", action="store_true", help="Skip the second import")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = _fresh_database(args.database)
    os.environ["CASEWORK_VAR_DIR"] = str(VAR)
    os.environ.setdefault("CASEWORK_HTTPS", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("initkeys", verbosity=0)
    call_command("migrate", verbosity=0, interactive=False)

    from casework.cases.models import Case, Transition
    from casework.feedback.models import ParticipationSurvey
    from casework.interchange.importer import import_cases

    start = time.perf_counter()
    cases, surveys = generate(args.rows)
    generated = time.perf_counter() - start
    results: dict[str, Any] = {
        "database": connection.vendor,
        "rows": args.rows,
        "survey_rows": surveys.count(b"\n") - 1,
        "csv_megabytes": round((len(cases) + len(surveys)) / 1e6, 1),
        "generate_seconds": round(generated, 1),
    }

    def timed(label: str, **options: Any) -> None:
        begin, cpu = time.perf_counter(), time.process_time()
        result = import_cases(cases=cases, surveys=surveys, by=None, agency_code="BEN", **options)
        seconds = time.perf_counter() - begin
        cpu = time.process_time() - cpu
        if result.checked.errors:
            raise SystemExit(
                f"{label}: {len(result.checked.errors)} errors, e.g. {result.errors[:3]}"
            )
        counts = result.summary()["counts"]
        results[label] = {
            "seconds": round(seconds, 1),
            # CPU time of this process (the database server's own work on PostgreSQL is not in
            # it): on a busy machine it shows what the import itself costs.
            "cpu_seconds": round(cpu, 1),
            "rows_per_second": round(args.rows / seconds),
            **{
                k: v
                for k, v in counts.items()
                if k.startswith(("cases_", "surveys_", "transitions_", "plans_"))
            },
        }

    timed("dry_run", dry_run=True)
    timed("import")
    if not args.no_reimport:
        timed("reimport")
    results["in_database"] = {
        "cases": Case.objects.count(),
        "transitions": Transition.objects.count(),
        "surveys": ParticipationSurvey.objects.count(),
    }
    json.dump(results, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
