"""A large agency's persons, in ranges computed side by side, give the single statement's figures.

On PostgreSQL the report splits persons into id ranges, each computed in its own connection, all
reading one exported snapshot (committed data only: hence a transactional test, in a file of its
own). Forced here on the contract's small example.
"""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from casework.indicators.tests.test_worked_example import BY, _expected

pytestmark = pytest.mark.skipif(
    "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
    reason="Ranges side by side are a PostgreSQL path (SQLite computes in one statement).",
)


@pytest.mark.django_db(transaction=True)
def test_persons_computed_in_ranges_side_by_side_give_the_same_figures(settings):
    """On PostgreSQL a large agency's persons are split into ranges computed in parallel
    connections reading one exported snapshot; forced here on the small example."""
    from casework.indicators import queries

    example = pytest.importorskip("casework.interchange.example")
    example.load_example(agency_code="AGY")
    settings.CASEWORK_REPORT_PARALLEL_FROM = 0
    settings.CASEWORK_REPORT_WORKERS = 3
    from casework.accounts.models import Agency

    agency = Agency.objects.get(code="AGY")
    assert len(queries.person_ranges(agency.pk)) == 3
    output = io.StringIO()
    call_command(
        "indicators",
        "--period",
        "2026-Q3",
        "--by",
        BY,
        "--min-cell",
        "1",
        "--format",
        "json",
        "--agency",
        "AGY",
        stdout=output,
    )
    assert json.loads(output.getvalue()) == _expected(example.example_dir())
