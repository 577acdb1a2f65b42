"""Smoke test of the benchmark harness: ``bench --quick`` on a handful of packages.

Proves that every section runs and the report has its shape; timings on a CI
machine mean nothing, so none is asserted.  The run happens in a subprocess,
with its own data directory and ports (benchmarks.env), so Prefect is configured
from scratch and nothing leaks into the other tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.env import DEFAULT_POSTGRES_DSN, postgres_reachable

ROOT = Path(__file__).resolve().parent.parent


def _quick(tmp_path: Path, *extra: str, timeout: float = 150) -> dict[str, Any]:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--data-dir",
            str(tmp_path / "var"),
            "--output",
            str(out),
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "| what" in proc.stdout
    report: dict[str, Any] = json.loads(out.read_text())
    return report


# Twice what a slow day of the 2-core VM took (49 s): the suite must not fail on speed.
@pytest.mark.timeout(160)
def test_bench_quick_stages(benchmark: Any, tmp_path: Path) -> None:
    report = benchmark.pedantic(_quick, args=(tmp_path, "--stages-only"), rounds=1, iterations=1)
    for stage in ("open and split", "classify", "extract fields", "OCR", "render", "store"):
        assert report["stages"][stage]["units"] > 0
    for level in ("B-B", "B-T", "B-LTA"):
        assert report["stages"][f"sign {level}"]["units"] > 0
    for name in (
        "pdfplumber_everywhere_vs_fast_text_path",
        "stock_pyhanko_vs_cached_key_signer",
        "fresh_weasyprint_vs_reused",
    ):
        assert report["comparisons"][name]["ratio"] > 0
    assert report["peak_rss_whole_run"]["mib"] > 0
    assert not (tmp_path / "var").exists()  # the data directory is removed after the run


@pytest.mark.timeout(200)
@pytest.mark.skipif(
    not postgres_reachable(DEFAULT_POSTGRES_DSN), reason=f"no PostgreSQL at {DEFAULT_POSTGRES_DSN}"
)
def test_bench_quick_pipeline_on_postgresql(tmp_path: Path) -> None:
    """The pipeline scenario in its production configuration: a Prefect server on a
    PostgreSQL database of the run's own, whose backends count with the tree."""
    before = _bench_databases()
    report = _quick(tmp_path, "--scanned", "0", "--prefect-db", "postgresql", timeout=190)
    assert report["options"]["prefect_database"] == "postgresql"
    pipe = report["pipeline"]
    assert pipe["packages"] == 3 and pipe["errors"] == 0
    assert report["loop"]["outcomes"] == pipe["outcomes"]
    # Timed to the server's own record of the batch's end, not to when the
    # benchmark's polling noticed it.
    assert 0 < pipe["intake_seconds"] <= pipe["seconds"]
    # Where the time went, from the server's records: the phases follow one
    # another, so together they are the batch's time.
    phases = pipe["phases"]
    assert set(phases) == {
        "dispatch",
        "before_first_group",
        "groups",
        "after_last_group",
        "reviews_after_run",
    }
    assert phases["groups"] > 0
    assert sum(phases.values()) == pytest.approx(pipe["seconds"], abs=0.01)
    # The plain loop ran on both sides of the pipeline, and the two are averaged.
    first, second = report["loop"]["runs_seconds"]
    assert report["loop"]["seconds"] == pytest.approx((first + second) / 2)
    overhead = report["comparisons"]["pipeline_vs_plain_loop"]
    assert overhead["rounds"] == 1 and overhead["pipeline_runs_seconds"] == [pipe["seconds"]]
    assert overhead["round_overheads"] == [pytest.approx(overhead["overhead"])]
    assert "postgresql" in report["pipeline_peak_rss"]["pss_by_role_mib"]
    assert pipe["cpu_seconds_by_role"]["prefect-server"] > 0
    assert report["comparisons"]["pipeline_vs_plain_loop"]["ratio"] > 0
    assert _bench_databases() == before, "the run's database was not dropped"


def _bench_databases() -> set[str]:
    import asyncio

    import asyncpg

    async def names() -> set[str]:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            rows = await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE 'medlicense_bench_%'"
            )
        finally:
            await conn.close()
        return {r["datname"] for r in rows}

    return asyncio.run(names())
