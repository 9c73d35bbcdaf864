"""Small-cell suppression with complementary suppression (statistical disclosure control).

Primary suppression hides every count from 1 to k-1 (k = the agency's threshold, 5 by default).
For a percentage the numerator, the denominator and their difference are all counts of persons,
so the row is hidden when any of them is small.

Complementary suppression makes sure a hidden count cannot be worked back out of what is
published. Published cells are tied together by additive "lines": the slices of a dimension add
up to the total; in a two-way table (`sex+age_group`) each row adds up to its one-way margin
(the `sex` cell) and each column to the other margin. Think of every line as a node and every
hidden cell as an edge between the (one or two) lines it belongs to; a cell that belongs to a
single line is tied to a "ground" node that carries no equation. A hidden cell is exactly
recoverable from the published figures if and only if its edge is a *bridge* of that graph (no
cycle of hidden cells runs through it: the cycle is what lets the hidden values trade off against
each other without changing any published total). The classic rule "if exactly one cell of a line
is suppressed, suppress the next-smallest non-zero cell of that line" is the special case of a
line with a single hidden edge; breaking every bridge also covers hidden patterns in two-way
tables that the classic rule lets through.

So: hide the primary cells, then while a hidden cell is a bridge, hide one more cell that closes
a cycle through it, preferring the smallest non-zero count. Margins that another table publishes
are "fixed": their state was decided with that table (one-way tables first, independently of the
pairs asked for, so a one-way table reads the same in every report) and is never changed here.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Cells and lines are named by any hashable value (a key, a pair of keys, a tuple of labels).
Name = Any
GROUND = ("ground",)


def is_small(count: int, k: int) -> bool:
    return 0 < count < k


def needs_primary(figures: tuple[int, ...], k: int) -> bool:
    """Is any count a row publishes or implies small?

    `figures` is (count,) for a count, (numerator, denominator) for a percentage, or
    (numerator, numerator, ..., denominator) for indicators that share their denominator and are
    therefore suppressed together: every numerator, the denominator and each numerator's
    complement in it are counts of persons.
    """
    *numerators, denominator = figures
    return is_small(denominator, k) or any(
        is_small(numerator, k) or is_small(denominator - numerator, k) for numerator in numerators
    )


@dataclass
class Problem:
    """Cells, the lines they belong to, and which are hidden or fixed."""

    # cell → its two line nodes (GROUND when the cell is in one line only)
    ends: dict[Name, tuple[Name, Name]] = field(default_factory=dict)
    weights: dict[Name, int] = field(default_factory=dict)
    hidden: set[Name] = field(default_factory=set)
    fixed: set[Name] = field(default_factory=set)

    def add(
        self,
        cell: Name,
        lines: Iterable[Name],
        *,
        weight: int,
        hidden: bool = False,
        fixed: bool = False,
    ) -> None:
        nodes = tuple(lines)
        if len(nodes) == 1:
            nodes = (nodes[0], GROUND)
        if len(nodes) != 2:
            raise ValueError("A cell belongs to one or two lines.")
        if fixed and not hidden:
            return  # a published constant: it ties nothing
        self.ends[cell] = (nodes[0], nodes[1])
        self.weights[cell] = weight
        if hidden:
            self.hidden.add(cell)
        if fixed:
            self.fixed.add(cell)


def bridges(edges: Mapping[Name, tuple[Name, Name]]) -> list[Name]:
    """The edges that lie on no cycle (Tarjan, iterative; parallel edges form cycles)."""
    adjacency: dict[Name, list[tuple[Name, Name]]] = defaultdict(list)
    for edge, (u, v) in edges.items():
        adjacency[u].append((v, edge))
        adjacency[v].append((u, edge))
    discovered: dict[Name, int] = {}
    low: dict[Name, int] = {}
    found: list[Name] = []
    clock = 0
    for root in list(adjacency):
        if root in discovered:
            continue
        discovered[root] = low[root] = clock
        clock += 1
        stack: list[tuple[Name, Name, Any]] = [(root, None, iter(adjacency[root]))]
        while stack:
            node, via, neighbours = stack[-1]
            for following, edge in neighbours:
                if edge == via:
                    continue
                if following not in discovered:
                    discovered[following] = low[following] = clock
                    clock += 1
                    stack.append((following, edge, iter(adjacency[following])))
                    break
                low[node] = min(low[node], discovered[following])
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > discovered[parent]:
                        found.append(via)
    return found


def _component(start: Name, edges: Mapping[Name, tuple[Name, Name]]) -> set:
    adjacency: dict[Name, list[Name]] = defaultdict(list)
    for u, v in edges.values():
        adjacency[u].append(v)
        adjacency[v].append(u)
    seen = {start}
    queue = deque([start])
    while queue:
        for following in adjacency[queue.popleft()]:
            if following not in seen:
                seen.add(following)
                queue.append(following)
    return seen


def protect(problem: Problem) -> set[Name]:
    """The hidden cells once no hidden cell can be recovered (primary ones must be hidden)."""
    order = {cell: number for number, cell in enumerate(problem.ends)}
    hidden = set(problem.hidden)
    while True:
        hidden_edges = {cell: problem.ends[cell] for cell in problem.ends if cell in hidden}
        open_bridges = bridges(hidden_edges)
        if not open_bridges:
            return hidden
        bridge = min(open_bridges, key=order.__getitem__)
        u, v = problem.ends[bridge]
        rest = {cell: ends for cell, ends in hidden_edges.items() if cell != bridge}
        side_u = _component(u, rest)
        side_v = _component(v, rest)
        visible = [
            cell for cell in problem.ends if cell not in hidden and cell not in problem.fixed
        ]
        closing = [
            cell
            for cell in visible
            if (problem.ends[cell][0] in side_u and problem.ends[cell][1] in side_v)
            or (problem.ends[cell][0] in side_v and problem.ends[cell][1] in side_u)
        ]
        # No single cell closes a cycle: grow one side and look again next time round.
        candidates = closing or [
            cell
            for cell in visible
            if problem.ends[cell][0] in side_u | side_v or problem.ends[cell][1] in side_u | side_v
        ]
        if not candidates:
            # Nothing left to hide in this table: what remains is fixed by published margins.
            return hidden
        choice = min(
            candidates,
            key=lambda cell: (problem.weights[cell] == 0, problem.weights[cell], order[cell]),
        )
        hidden.add(choice)


# --- the tables reports publish ----------------------------------------------------------------------


Figures = tuple[int, ...]  # (count,), (numerator, denominator) or (numerators..., denominator)


def _weight(figures: Figures) -> int:
    return figures[-1]


def one_way(cells: Mapping[Name, Figures], *, total: Figures, k: int) -> tuple[set[Name], bool]:
    """(hidden keys, total hidden) for the slices of one dimension and their total."""
    total_hidden = needs_primary(total, k)
    problem = Problem()
    problem.add("total", ["line"], weight=_weight(total), hidden=total_hidden, fixed=True)
    for key, figures in cells.items():
        problem.add(
            ("cell", key), ["line"], weight=_weight(figures), hidden=needs_primary(figures, k)
        )
    hidden = protect(problem)
    return {cell[1] for cell in hidden if cell != "total"}, total_hidden


def two_way(
    cells: Mapping[tuple[Name, Name], Figures],
    *,
    rows: Mapping[Name, Figures],
    columns: Mapping[Name, Figures],
    hidden_rows: set[Name],
    hidden_columns: set[Name],
    total: Figures,
    total_hidden: bool,
    k: int,
) -> set[tuple[Name, Name]]:
    """Hidden cells of a two-way table whose margins (one-way tables) are already decided.

    `cells` must hold every row × column pair, zeros included, so that which pairs are empty is
    published as plainly as the counts are.
    """
    problem = Problem()
    problem.add(("total",), ["R*", "C*"], weight=_weight(total), hidden=total_hidden, fixed=True)
    for row, figures in rows.items():
        problem.add(
            ("row", row),
            [("r", row), "C*"],
            weight=_weight(figures),
            hidden=row in hidden_rows,
            fixed=True,
        )
    for column, figures in columns.items():
        problem.add(
            ("column", column),
            [("c", column), "R*"],
            weight=_weight(figures),
            hidden=column in hidden_columns,
            fixed=True,
        )
    for (row, column), figures in cells.items():
        problem.add(
            ("cell", (row, column)),
            [("r", row), ("c", column)],
            weight=_weight(figures),
            hidden=needs_primary(figures, k),
        )
    hidden = protect(problem)
    return {cell[1] for cell in hidden if cell[0] == "cell"}


def series(
    cells: Mapping[Name, Figures],
    lines: Mapping[Name, tuple[Name, ...]],
    *,
    k: int,
) -> set[Name]:
    """Hidden cells of a free-form set of lines (e.g. open = open before + new - closed)."""
    problem = Problem()
    for cell, figures in cells.items():
        problem.add(cell, lines[cell], weight=_weight(figures), hidden=needs_primary(figures, k))
    return protect(problem)
