"""One benchmark run against the database in DATABASE_URL; prints JSON results on stdout.

Started by bench/run.py once per database. Fills the database with invented cases (once: a
database that already holds enough cases is reused), then times the everyday operations through
the same code paths users hit: the HTTP views and the services.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CASEWORK_HTTPS", "0")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--generate-only", action="store_true", help="Fill the database, time nothing."
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from casework.core.benchmarking import timed

    settings.ALLOWED_HOSTS = ["*"]
    call_command("initkeys", verbosity=0, stdout=io.StringIO())
    call_command("migrate", verbosity=0, interactive=False, stdout=io.StringIO())

    from casework.accounts.models import User
    from casework.cases import services
    from casework.cases.models import Case
    from casework.demo.generator import caseworkers_for, ensure_setup, generate_cases
    from casework.reference.models import Programme

    results: dict[str, Any] = {"database": connection.vendor, "cases": args.cases}
    existing = Case.objects.count()
    if existing < args.cases:
        setup = ensure_setup(password="bench-only", caseworkers=caseworkers_for(args.cases))
        start = time.perf_counter()
        missing = args.cases - existing
        for _written in generate_cases(setup, count=missing, seed=7, notes=False):
            pass
        seconds = time.perf_counter() - start
        results["generate"] = {
            "cases": missing,
            "seconds": round(seconds, 1),
            "per_second": round(missing / seconds),
        }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A steady-state database: statistics and the visibility map (index-only scans) as
            # autovacuum keeps them.
            cursor.execute("VACUUM ANALYZE")
    else:
        from casework.core.statistics import refresh_statistics

        refresh_statistics()  # as the worker's daily job keeps them
    if args.generate_only:
        json.dump(results, sys.stdout)
        return

    caseworker = User.objects.get(username="amina")
    supervisor = User.objects.get(username="sam")
    client = Client()
    client.force_login(caseworker)
    supervisor_client = Client()
    supervisor_client.force_login(supervisor)
    case = Case.objects.filter(caseworker=caseworker).order_by("-id").first()
    if case is None:
        raise SystemExit("The bench caseworker has no cases.")

    def page(c: Client, url: str, *, post: dict[str, str] | None = None) -> Callable[[], None]:
        def run() -> None:
            response = c.post(url, post) if post is not None else c.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")

        return run

    def queries(function: Callable[[], None]) -> int:
        with CaptureQueriesContext(connection) as captured:
            function()
        return len(captured)

    checks = {
        "caseload page (caseworker)": page(client, "/cases/"),
        "caseload page (supervisor, team)": page(supervisor_client, "/cases/"),
        "case page": page(client, f"/cases/{case.pk}/"),
        "name search (blind index, POST)": page(client, "/cases/", post={"q": "Amina Diallo"}),
        "caseload API": page(client, "/api/v1/cases"),
    }
    timings: dict[str, Any] = {}
    for name, function in checks.items():
        timings[name] = {**timed(function, repeat=args.repeat), "queries": queries(function)}

    programme = Programme.objects.get(code="CP")

    def register() -> None:
        services.register_case(
            by=caseworker,
            person=services.PersonDetails(
                given_name="Bench", family_name="Person", estimated_age=30
            ),
            details=services.CaseDetails(programme=programme, risk_level="medium"),
            consent=services.ConsentDetails(receive_services=True),
        )

    timings["register a case (service)"] = timed(register, repeat=args.repeat)
    results["timings"] = timings

    extra = os.environ.get("BENCH_EXTRA", "bench.indicators_bench,bench.persons_bench")
    for module_name in filter(None, extra.split(",")):
        module = __import__(module_name, fromlist=["run"])
        results.setdefault("extra", {})[module_name] = module.run(repeat=args.repeat)

    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
