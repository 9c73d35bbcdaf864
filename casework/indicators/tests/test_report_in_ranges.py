"""A large agency's persons, in id ranges, give exactly the single statement's figures.

On PostgreSQL the report splits persons into id ranges, each computed in its own connection, all
reading one exported snapshot (decision 0005). The ranges are computed one after the other here
(the worked example's data are not committed, so other connections could not see them): what is
tested is that the parts add up to the contract's figures, whatever the bounds.
"""

from __future__ import annotations

from typing import Any

import pytest

from casework.indicators import queries
from casework.indicators.tests.test_worked_example import _expected, quarterly_json

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_persons_computed_in_ranges_give_the_same_figures(monkeypatch: Any, parts: int) -> None:
    example = pytest.importorskip("casework.interchange.example")
    example.load_example(agency_code="AGY")
    from casework.people.models import Person

    ids = sorted(Person.objects.values_list("pk", flat=True))
    step = (ids[-1] - ids[0]) // parts + 1
    bounds = [ids[0] + step * n for n in range(1, parts)]
    ranges = list(zip([None, *bounds], [*bounds, None], strict=True))
    monkeypatch.setattr(queries, "person_ranges", lambda agency_id: ranges)
    monkeypatch.setattr(queries, "side_by_side", lambda job, rs: [job(r) for r in rs])
    assert quarterly_json() == _expected(example.example_dir())


def test_small_agencies_and_sqlite_keep_one_statement(settings: Any, agency: Any) -> None:
    settings.CASEWORK_REPORT_WORKERS = 4
    assert queries.person_ranges(agency.pk) == [(None, None)]
