"""The benchmark's account of memory and CPU: which processes count, under which role.

A number on the README is only as good as the processes behind it: a server
the pipeline depends on but that is not a child of the benchmark (PostgreSQL's
backends of the Prefect server's database) must still be counted.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.env import DEFAULT_POSTGRES_DSN, postgres_reachable
from benchmarks.proctree import PeakRss, postgres_backends, role, tree_pids
from benchmarks.runner import _overhead_comparison, linearity_check


@pytest.fixture
def stray() -> Iterator[int]:
    """A process outside this test's tree, titled like a PostgreSQL backend."""
    # The shell exits at once, so its child is re-parented away from this process.
    out = subprocess.run(
        [
            "bash",
            "-c",
            "(exec -a 'postgres: bench bench_db 127.0.0.1(1) idle' sleep 30) "
            "</dev/null >/dev/null 2>&1 & echo $!",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(out.stdout.strip())
    deadline = time.monotonic() + 5
    while postgres_backends("bench_db") != [pid] and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield pid
    finally:
        os.kill(pid, 9)


def test_a_process_outside_the_tree_counts_only_when_adopted(stray: int) -> None:
    assert stray not in tree_pids(os.getpid())
    assert role(stray, os.getpid()) == "postgresql"
    assert postgres_backends("bench_db") == [stray]
    assert postgres_backends("other_db") == []

    with PeakRss(interval=0.05) as alone:
        time.sleep(0.3)
    alone.mark()
    with PeakRss(interval=0.05, adopt=lambda: postgres_backends("bench_db")) as adopted:
        time.sleep(0.3)
    _, by_role, _, pss_by_role = adopted.mark()
    assert "postgresql" not in alone.peak_by_role
    assert by_role["postgresql"] > 0
    assert pss_by_role["postgresql"] > 0


@pytest.mark.skipif(
    not postgres_reachable(DEFAULT_POSTGRES_DSN), reason=f"no PostgreSQL at {DEFAULT_POSTGRES_DSN}"
)
def test_the_backend_of_a_real_connection_is_found() -> None:
    import asyncpg

    async def check() -> None:
        # A database named unlike the user: the title holds both.
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/template1")
        try:
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            assert backend in postgres_backends("template1")
            assert backend not in postgres_backends("postgres")
            assert role(backend, os.getpid()) == "postgresql"
        finally:
            await conn.close()

    asyncio.run(check())


# --- the orchestration overhead over alternating runs ---------------------------------------


@given(
    start=st.floats(30, 120),
    drift=st.floats(-0.3, 0.3),
    overhead=st.floats(-0.05, 0.3),
    rounds=st.integers(1, 4),
)
def test_a_steady_drift_of_the_host_does_not_change_the_overhead(
    start: float, drift: float, overhead: float, rounds: int
) -> None:
    """Loop, pipeline, loop, ...: the host slowing down (or speeding up) at a steady rate
    over the session leaves the measured overhead at the true one."""

    def speed(slot: int) -> float:  # the host's time for the same work at each slot
        return start * (1 + drift * slot / (2 * rounds))

    loops = [{"seconds": speed(2 * i)} for i in range(rounds + 1)]
    pipes = [{"seconds": speed(2 * i + 1) * (1 + overhead)} for i in range(rounds)]
    measured = _overhead_comparison(loops, pipes)
    assert measured["overhead"] == pytest.approx(overhead, abs=1e-9)
    assert measured["round_overheads"] == [pytest.approx(overhead, abs=1e-9)] * rounds


def test_one_round_on_a_slow_minute_does_not_decide_the_overhead() -> None:
    """The host ran 15 % slower during the second pipeline run only: the median round
    says 4 %, where the mean over the runs would say 9 %."""
    loops = [{"seconds": 50.0}] * 4
    pipes = [{"seconds": 52.0}, {"seconds": 52.0 * 1.15}, {"seconds": 52.0}]
    measured = _overhead_comparison(loops, pipes)
    assert measured["overhead"] == pytest.approx(0.04)
    assert measured["mean_overhead"] == pytest.approx(0.092)


@given(
    per_package=st.floats(0.2, 1.0),
    host=st.floats(0.7, 1.5),
    growth=st.floats(0.0, 0.6),
)
def test_time_linear_is_judged_at_equal_host_speed(
    per_package: float, host: float, growth: float
) -> None:
    """A host that runs the 1,000 packages slower (by the probe) does not make the batch
    look super-linear; a batch whose packages really cost more does, whatever the host."""
    s200 = {"seconds": 200 * per_package, "packages": 200, "host_probe_ms": 10.0}
    s1000 = {
        "seconds": 1000 * per_package * host * (1 + growth),
        "packages": 1000,
        "host_probe_ms": 10.0 * host,
    }
    check = linearity_check(s200, s1000)
    assert check["ratio"] == pytest.approx(1 + growth, rel=1e-2)
    if abs(growth - 0.2) > 1e-3:  # the boundary itself is a matter of rounding
        assert check["met"] is (growth < 0.2)


def test_a_missed_linear_time_names_the_role_that_grew() -> None:
    """Same host speed, the serving process spending three times as much per package:
    the miss names it, not the workers whose cost per package held."""
    s200 = {
        "seconds": 80.0,
        "packages": 200,
        "host_probe_ms": 12.0,
        "cpu_seconds_by_role": {"workers": 90.0, "serving process": 2.0},
    }
    s1000 = {
        "seconds": 560.0,
        "packages": 1000,
        "host_probe_ms": 12.0,
        "cpu_seconds_by_role": {"workers": 450.0, "serving process": 30.0},
    }
    check = linearity_check(s200, s1000)
    assert not check["met"]
    assert check["ratio"] == pytest.approx(1.4)
    assert check["dominating_stage"] == "serving process"


def test_the_host_probe_is_read_per_window() -> None:
    """Each window between marks gets the median of the probes taken in it."""
    with PeakRss(interval=0.01, probe_every=1) as mem:
        mem.mark()
        time.sleep(0.3)
        mem.mark()
    assert mem.last_window_probe_ms is not None and mem.last_window_probe_ms > 0
