"""Timing for the benchmarks (`make bench` and the benchmark modules it runs): one way to
repeat a call and report its median and 95th percentile, so every figure in
docs/benchmarks.md is computed alike."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from typing import Any


def timed(function: Callable[[], Any], *, repeat: int, warm: bool = True) -> dict[str, float]:
    """Run `function` `repeat` times (after one untimed warm-up unless `warm` is False).

    The 95th percentile is the nearest-rank one: with few runs it is the slowest run.
    """
    if warm:
        function()  # caches (keys, templates, connection, pages) as in steady use
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[max(0, math.ceil(len(samples) * 0.95) - 1)], 2),
        "runs": repeat,
    }
