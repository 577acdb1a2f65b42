"""The ``bench`` subcommand (``medlicense bench``, ``python -m benchmarks``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from benchmarks.env import DEFAULT_POSTGRES_DSN


def register(sub: Any) -> None:
    bench = sub.add_parser(
        "bench",
        help="benchmarks: throughput, cost per stage, memory, and the alternatives",
        description="Runs on generated packages (fixed seed) against its own SeaweedFS, "
        "Prefect server and dev PKI under var/bench/<stamp>/ on free ports; prints one table "
        "and writes benchmarks/results/<date>.json.",
    )
    add_arguments(bench)
    bench.set_defaults(func=_bench)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--packages", type=int, default=200, help="standard mix size (200)")
    parser.add_argument(
        "--scale", action="store_true", help="also run the standard mix with 1,000 packages"
    )
    parser.add_argument("--scanned", type=int, default=20, help="scanned mix size (20)")
    parser.add_argument(
        "--stages-only",
        action="store_true",
        help="stage micro-benchmarks and comparisons only: no Prefect server, no pipeline",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="pipeline runs of the standard mix, each between two plain loops, for the "
        "orchestration overhead: the median round counts (5; --quick: 1)",
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run (4 packages)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--data-dir", type=Path, default=None, help="default var/bench/<stamp>")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--output", type=Path, default=None, help="JSON path")
    parser.add_argument(
        "--prefect-db",
        choices=("auto", "postgresql", "sqlite"),
        default="auto",
        help="the Prefect server's database: postgresql (production), sqlite (single-machine "
        "default), auto: PostgreSQL when one answers at --postgres-dsn (default)",
    )
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get("MEDLICENSE_BENCH_POSTGRES_DSN", DEFAULT_POSTGRES_DSN),
        help="a PostgreSQL server where the benchmark may create and drop a database",
    )


def _bench(args: argparse.Namespace) -> int:
    from benchmarks.runner import Options, main_run

    return main_run(
        Options(
            packages=args.packages,
            scale=1000 if args.scale else None,
            scanned=args.scanned,
            rounds=args.rounds,
            stages_only=args.stages_only,
            quick=args.quick,
            seed=args.seed,
            workers=args.workers,
            data_dir=args.data_dir,
            keep=args.keep,
            output=args.output,
            prefect_db=args.prefect_db,
            postgres_dsn=args.postgres_dsn,
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    add_arguments(parser)
    return _bench(parser.parse_args(argv))
