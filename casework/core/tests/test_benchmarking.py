"""The benchmarks' timing: median and nearest-rank 95th percentile over the timed runs only."""

from __future__ import annotations

from unittest import mock

from casework.core import benchmarking


def test_the_95th_percentile_of_few_runs_is_the_slowest_and_the_warm_up_is_not_timed() -> None:
    calls: list[int] = []
    # perf_counter pairs: warm-up untimed, then runs of 10 ms and 30 ms.
    clock = iter([0.0, 0.010, 1.0, 1.030])
    with mock.patch.object(benchmarking.time, "perf_counter", side_effect=lambda: next(clock)):
        figures = benchmarking.timed(lambda: calls.append(1), repeat=2)
    assert len(calls) == 3
    assert figures == {"median_ms": 20.0, "p95_ms": 30.0, "runs": 2}


def test_twenty_runs_report_the_nineteenth_slowest_as_p95() -> None:
    ticks = []
    for number in range(1, 21):
        ticks += [0.0, number / 1000]
    clock = iter(ticks)
    with mock.patch.object(benchmarking.time, "perf_counter", side_effect=lambda: next(clock)):
        figures = benchmarking.timed(lambda: None, repeat=20, warm=False)
    assert figures["p95_ms"] == 19.0 and figures["median_ms"] == 10.5
