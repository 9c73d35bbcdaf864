"""Complementary suppression hides, among the cells it could add, one that closes a cycle through
the recoverable cell when there is one, even when a smaller count elsewhere would not: a cell
that closes nothing only leads to more cells being hidden (casework/indicators/suppression.py)."""

from __future__ import annotations

from casework.indicators import suppression

# A 3 × 3 table whose cell (r1, c1) is small. The cheapest cells to add next are (r1, c2) and then
# (r2, c2); after them only (r2, c1) closes the cycle r1–c1–r2–c2, though (r1, c3) is smaller.
COUNTS = {
    ("r1", "c1"): 2,
    ("r1", "c2"): 10,
    ("r2", "c2"): 11,
    ("r1", "c3"): 12,
    ("r2", "c3"): 13,
    ("r3", "c1"): 14,
    ("r3", "c2"): 15,
    ("r3", "c3"): 16,
    ("r2", "c1"): 50,
}


def _hidden(counts: dict[tuple[str, str], int]) -> set[tuple[str, str]]:
    rows: dict[str, int] = {}
    columns: dict[str, int] = {}
    for (row, column), count in counts.items():
        rows[row] = rows.get(row, 0) + count
        columns[column] = columns.get(column, 0) + count
    return suppression.two_way(
        {pair: (count,) for pair, count in counts.items()},
        rows={row: (count,) for row, count in rows.items()},
        columns={column: (count,) for column, count in columns.items()},
        hidden_rows=set(),
        hidden_columns=set(),
        total=(sum(counts.values()),),
        total_hidden=False,
        k=5,
    )


def test_it_hides_the_cell_that_closes_the_cycle_not_the_smallest() -> None:
    assert _hidden(COUNTS) == {("r1", "c1"), ("r1", "c2"), ("r2", "c2"), ("r2", "c1")}


def test_it_closes_the_cycle_whichever_way_round_the_cell_joins_the_two_sides() -> None:
    # Here (r1, c2) and then (r2, c1) are the cheapest: the two sides of (r1, c1) are then
    # {r1, c2} and {c1, r2}, and the closing cell (r2, c2) joins them the other way round.
    counts = {
        ("r1", "c1"): 2,
        ("r1", "c2"): 10,
        ("r2", "c1"): 11,
        ("r1", "c3"): 12,
        ("r2", "c3"): 13,
        ("r3", "c1"): 14,
        ("r3", "c2"): 15,
        ("r3", "c3"): 16,
        ("r2", "c2"): 50,
    }
    assert _hidden(counts) == {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2")}


def test_it_hides_the_smallest_count_that_is_not_zero() -> None:
    # Hiding an empty cell protects nothing: everyone knows how many are in it once the others
    # are known to add up to the total. The next smallest count is hidden instead.
    hidden, total_hidden = suppression.one_way(
        {"a": (2,), "b": (0,), "c": (7,), "d": (9,)}, total=(18,), k=5
    )
    assert (hidden, total_hidden) == ({"a", "c"}, False)


def test_a_percentage_is_weighed_by_its_denominator() -> None:
    # Rows of a percentage: hiding the one with fewer persons in its denominator costs least.
    hidden, _total_hidden = suppression.one_way(
        {"a": (1, 3), "b": (9, 40), "c": (30, 35)}, total=(40, 78), k=5
    )
    assert hidden == {"a", "c"}
