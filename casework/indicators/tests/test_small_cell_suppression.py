"""Small-cell suppression: primary cells hidden, and no hidden count recoverable from the rest."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

from hypothesis import example, given, settings
from hypothesis import strategies as st

from casework.indicators import suppression

K = 5


def test_it_hides_counts_from_one_to_k_minus_one_and_publishes_zero_and_k():
    assert [suppression.is_small(n, 5) for n in (0, 1, 4, 5, 6)] == [
        False,
        True,
        True,
        False,
        False,
    ]


def test_it_hides_a_percentage_row_when_numerator_denominator_or_their_difference_is_small():
    assert suppression.needs_primary((3, 40), K)  # 3 persons in the numerator
    assert suppression.needs_primary((3, 4), K)  # 4 persons in the denominator
    assert suppression.needs_primary((38, 40), K)  # 2 persons not in the numerator
    assert not suppression.needs_primary((0, 40), K)
    assert not suppression.needs_primary((40, 40), K)
    assert not suppression.needs_primary((20, 40), K)


def test_it_hides_the_next_smallest_cell_when_one_cell_alone_is_hidden():
    hidden, total_hidden = suppression.one_way(
        {"female": (30,), "male": (12,), "other": (2,), "unknown": (9,)}, total=(53,), k=K
    )
    # 53 - 30 - 12 would give "other" back if "unknown" were published.
    assert hidden == {"other", "unknown"}
    assert not total_hidden


def test_it_needs_no_complement_when_two_cells_are_small_already():
    hidden, _ = suppression.one_way(
        {"female": (30,), "male": (12,), "other": (2,), "unknown": (3,)}, total=(47,), k=K
    )
    assert hidden == {"other", "unknown"}


def test_it_never_picks_a_zero_cell_while_a_non_zero_one_can_protect():
    hidden, _ = suppression.one_way({"a": (2,), "b": (40,), "c": (7,)}, total=(49,), k=K)
    assert hidden == {"a", "c"}


def test_a_small_total_hides_every_slice():
    hidden, total_hidden = suppression.one_way({"a": (3,), "b": (1,)}, total=(4,), k=K)
    assert total_hidden and hidden == {"a", "b"}


def test_min_cell_one_hides_nothing():
    hidden, total_hidden = suppression.one_way({"a": (1,), "b": (2,)}, total=(3,), k=1)
    assert hidden == set() and not total_hidden


def test_it_protects_a_hidden_cell_in_both_its_row_and_its_column():
    cells = {
        ("f", "0-17"): (2,),
        ("f", "18-24"): (20,),
        ("m", "0-17"): (30,),
        ("m", "18-24"): (25,),
    }
    hidden = _two_way(cells, k=K)["cells"]
    # The 2 needs a partner in its row (f, 18-24) and in its column (m, 0-17), and those two
    # need a partner in theirs: the whole 2×2 block forms the cycle.
    assert ("f", "0-17") in hidden
    assert len(hidden) == 4


def test_it_breaks_a_bridge_that_the_one_per_line_rule_would_leave():
    # Two separately protected 2×2 blocks joined by one small cell: every row and column has two
    # hidden cells, yet that joining cell is recoverable (a bridge) until a cycle runs through it.
    problem = suppression.Problem()
    cells = {
        (1, 1): 2, (1, 2): 3, (2, 1): 3, (2, 2): 2,
        (3, 3): 2, (3, 4): 3, (4, 3): 3, (4, 4): 2,
        (1, 3): 2,
    }  # fmt: skip
    for (row, column), value in cells.items():
        problem.add((row, column), [("r", row), ("c", column)], weight=value, hidden=True)
    for row, column in product(range(1, 5), repeat=2):
        if (row, column) not in cells:
            problem.add((row, column), [("r", row), ("c", column)], weight=10)
    assert suppression.bridges({c: problem.ends[c] for c in problem.hidden}) == [(1, 3)]
    hidden = suppression.protect(problem)
    assert not suppression.bridges({c: problem.ends[c] for c in hidden})


# --- the attacker ----------------------------------------------------------------------------------


def _two_way(cells: dict, *, k: int) -> dict:
    """Suppress a full two-way table as reports do: one-way margins first, then the pairs."""
    rows_keys = sorted({row for row, _ in cells})
    column_keys = sorted({column for _, column in cells})
    full = {(r, c): cells.get((r, c), (0,)) for r in rows_keys for c in column_keys}
    rows = {r: (sum(full[(r, c)][0] for c in column_keys),) for r in rows_keys}
    columns = {c: (sum(full[(r, c)][0] for r in rows_keys),) for c in column_keys}
    total = (sum(value for (value,) in rows.values()),)
    published_rows = {r: f for r, f in rows.items() if f[0]}
    published_columns = {c: f for c, f in columns.items() if f[0]}
    hidden_rows, total_hidden = suppression.one_way(published_rows, total=total, k=k)
    hidden_columns, _ = suppression.one_way(published_columns, total=total, k=k)
    hidden_cells = suppression.two_way(
        full,
        rows=rows,
        columns=columns,
        hidden_rows=hidden_rows,
        hidden_columns=hidden_columns,
        total=total,
        total_hidden=total_hidden,
        k=k,
    )
    return {
        "full": full,
        "rows": rows,
        "columns": columns,
        "total": total,
        "cells": hidden_cells,
        "hidden_rows": hidden_rows,
        "hidden_columns": hidden_columns,
        "total_hidden": total_hidden,
    }


def _rank(matrix: list[list[Fraction]]) -> int:
    rows = [row[:] for row in matrix]
    rank = 0
    width = len(rows[0]) if rows else 0
    for column in range(width):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][column] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for i in range(len(rows)):
            if i != rank and rows[i][column] != 0:
                factor = rows[i][column] / rows[rank][column]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[rank], strict=True)]
        rank += 1
    return rank


def _recoverable(equations: list[dict], unknowns: list) -> set:
    """The unknowns whose value the linear equations (over what is published) pin down."""
    if not unknowns:
        return set()
    index = {name: i for i, name in enumerate(unknowns)}
    matrix = [
        [Fraction(equation.get(name, 0)) for name in unknowns]
        for equation in equations
        if any(name in index for name in equation)
    ]
    base = _rank(matrix) if matrix else 0
    found = set()
    for name in unknowns:
        probe = [Fraction(1 if other == name else 0) for other in unknowns]
        if (_rank([*matrix, probe]) if matrix else 1) == base:
            found.add(name)
    return found


def _attack_two_way(result: dict) -> set:
    """Every equation a reader can write: each line of the table adds up to its margin."""
    rows, columns = result["rows"], result["columns"]
    hidden: set[tuple] = {("cell", key) for key in result["cells"]}
    hidden |= {("row", r) for r in result["hidden_rows"]}
    hidden |= {("column", c) for c in result["hidden_columns"]}
    if result["total_hidden"]:
        hidden.add(("total",))
    equations: list[dict] = []
    for r in rows:
        equations.append({**{("cell", (r, c)): 1 for c in columns}, ("row", r): -1})
    for c in columns:
        equations.append({**{("cell", (r, c)): 1 for r in rows}, ("column", c): -1})
    equations.append({**{("row", r): 1 for r in rows}, ("total",): -1})
    equations.append({**{("column", c): 1 for c in columns}, ("total",): -1})
    # Only hidden entries are unknowns; published ones are constants (dropped from the rows).
    reduced = [
        {name: coefficient for name, coefficient in eq.items() if name in hidden}
        for eq in equations
    ]
    return _recoverable(reduced, sorted(hidden, key=repr))


def _value(result: dict, name: tuple) -> int:
    if name[0] == "cell":
        return result["full"][name[1]][0]
    if name[0] == "row":
        return result["rows"][name[1]][0]
    if name[0] == "column":
        return result["columns"][name[1]][0]
    return result["total"][0]


small_counts = st.sampled_from([0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 9, 12, 20, 40])


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(small_counts, min_size=1, max_size=8),
    k=st.integers(min_value=2, max_value=6),
)
def test_a_hidden_slice_cannot_be_recovered_from_the_total_and_the_other_slices(values, k):
    cells = {f"key{n}": (v,) for n, v in enumerate(values) if v}
    total = sum(values)
    hidden, total_hidden = suppression.one_way(cells, total=(total,), k=k)
    assert {key for key, (v,) in cells.items() if 0 < v < k} <= hidden
    if not total_hidden:
        visible = sum(v for key, (v,) in cells.items() if key not in hidden)
        # The reader's subtraction never lands on exactly one hidden slice.
        assert len(hidden) != 1
        if hidden:
            assert total - visible == sum(cells[key][0] for key in hidden)


@settings(max_examples=300, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    values=st.lists(small_counts, min_size=16, max_size=16),
    k=st.integers(min_value=2, max_value=6),
)
# Tables where hiding the published total, or a published column total, would have looked like
# protection (found by the mutation run: `make mutate`, decision 0013).
@example(shape=(4, 3), values=[1, 12, 0, 0, 0, 0, 12, 0, 0, 1, 1, 0, 0, 0, 40, 0], k=6)
@example(shape=(2, 3), values=[1, 3, 0, 0, 4, 0, 0, 0, *([0] * 8)], k=2)
def test_no_small_cell_of_a_two_way_table_can_be_solved_for_from_what_is_published(
    shape, values, k
):
    rows, columns = shape
    cells = {(f"r{r}", f"c{c}"): (values[r * 4 + c],) for r in range(rows) for c in range(columns)}
    result = _two_way(cells, k=k)
    for key, (value,) in result["full"].items():
        if 0 < value < k:
            assert key in result["cells"]
    for name in _attack_two_way(result):
        # What can be solved for is never a small count (it is a published margin's twin).
        assert not (0 < _value(result, name) < k), (name, result)


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(small_counts, small_counts).map(lambda p: (min(p), max(p))),
        min_size=1,
        max_size=8,
    ),
    k=st.integers(min_value=2, max_value=6),
)
def test_a_hidden_percentage_row_keeps_numerator_denominator_and_difference_hidden(pairs, k):
    cells = {f"key{n}": pair for n, pair in enumerate(pairs) if pair[1]}
    numerator = sum(n for n, _ in cells.values())
    denominator = sum(d for _, d in cells.values())
    hidden, total_hidden = suppression.one_way(cells, total=(numerator, denominator), k=k)
    if not total_hidden:
        assert len(hidden) != 1
    for key, figures in cells.items():
        if suppression.needs_primary(figures, k):
            assert key in hidden


# --- two indicators over the same persons ----------------------------------------------------------


def _shared_denominator_report(cells: dict, k: int):
    """Two percentage indicators over the same persons (INDIVIDUAL_PLAN and PARTICIPATION are)."""
    from casework.indicators.definitions import IndicatorSpec
    from casework.indicators.queries import Figures
    from casework.indicators.report import _indicator_report, _pattern

    specs = [
        IndicatorSpec(code=code, kind="percentage", period_semantics="in_case_management")
        for code in ("A", "B")
    ]
    counts: dict = {}
    for index, spec in enumerate(specs):
        slices = {
            (key,): Figures(persons=den, numerator=nums[index])
            for key, (den, *nums) in cells.items()
        }
        total = Figures()
        for figures in slices.values():
            total.add(figures)
        counts[spec.code] = {(): {(): total}, ("sex",): slices}
    pattern = _pattern(specs, counts, by=[("sex",)], k=k)
    return [_indicator_report(spec, counts, pattern, by=[("sex",)], k=k) for spec in specs]


def _implied_recoverable(equations: list[dict], unknowns: list, probe: dict) -> bool:
    """Do the equations pin down the linear combination `probe` of the unknowns?"""
    index = {name: i for i, name in enumerate(unknowns)}
    matrix = [
        [Fraction(eq.get(name, 0)) for name in unknowns]
        for eq in equations
        if any(n in index for n in eq)
    ]
    vector = [Fraction(probe.get(name, 0)) for name in unknowns]
    if not any(vector):
        return True
    base = _rank(matrix) if matrix else 0
    return (_rank([*matrix, vector]) if matrix else 1) == base


def test_indicators_over_the_same_persons_hide_the_same_cells():
    # "other" has 3 persons: hidden in both. Alone, A would protect it with "unknown" (its own
    # small numerator there) and B with "male"; A's male and B's unknown denominators would
    # then give "other" back. Suppressed together, both hide the same cells.
    cells = {"female": (30, 20, 10), "male": (12, 6, 2), "other": (3, 1, 1), "unknown": (9, 2, 6)}
    a, b = _shared_denominator_report(cells, k=5)
    hidden_a = {row.key for row in a.by[("sex",)] if row.suppressed}
    hidden_b = {row.key for row in b.by[("sex",)] if row.suppressed}
    assert ("other",) in hidden_a
    assert hidden_a == hidden_b


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(
        st.tuples(small_counts, small_counts, small_counts).map(
            lambda t: (max(t), min(t[0], t[1]) if max(t) else 0, min(t[1], t[2]) if max(t) else 0)
        ),
        min_size=1,
        max_size=6,
    ),
    k=st.integers(min_value=2, max_value=6),
)
def test_no_small_count_can_be_recovered_by_combining_two_indicators_over_the_same_persons(rows, k):
    cells = {f"key{n}": row for n, row in enumerate(rows) if row[0]}
    if not cells:
        return
    reports = _shared_denominator_report(cells, k)
    # Unknowns: every figure some indicator hides. A denominator published by either is known.
    unknowns: list = []
    equations: list[dict] = []
    published_den = {
        row.key[0] for report in reports for row in report.by[("sex",)] if not row.suppressed
    }
    for key in cells:
        if key not in published_den:
            unknowns.append(("den", key))
    for index, report in enumerate(reports):
        for row in report.by[("sex",)]:
            if row.suppressed:
                unknowns.append(("num", index, row.key[0]))
        if report.total.suppressed:
            return  # nothing is published at all
        equations.append({("num", index, key): 1 for key in cells})
    equations.append({("den", key): 1 for key in cells})
    known = set(unknowns)
    reduced = [{n: c for n, c in eq.items() if n in known} for eq in equations]
    for key, (den, *nums) in cells.items():
        # Unknowns are named ("den", key) or ("num", index, key), as above.
        probes: list[tuple[dict, int]] = [({("den", key): 1}, den)]
        for index, num in enumerate(nums):
            probes.append(({("num", index, key): 1}, num))
            probes.append(({("den", key): 1, ("num", index, key): -1}, den - num))
        for probe, value in probes:
            if 0 < value < k:
                hidden_probe = {n: c for n, c in probe.items() if n in known}
                # A small count is never published, nor can it be worked out.
                assert hidden_probe, (key, probe, cells)
                unknown_order = sorted(known, key=repr)
                assert not _implied_recoverable(reduced, unknown_order, hidden_probe), (
                    key,
                    probe,
                    cells,
                )
