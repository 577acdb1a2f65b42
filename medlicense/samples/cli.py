"""``medlicense samples``: write a directory of sample packages and their truth."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from typing import Any

from medlicense.samples.generate import generate_packages


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def register(subparsers: Any) -> None:
    """Add the ``samples`` subcommand to the top-level parser's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "samples",
        help="generate synthetic application packages with a truth.json",
        description="Write N sample packages (pkg-0001.zip ...) and truth.json into DIR.",
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--count", type=_count, default=100, metavar="N")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    truth = generate_packages(args.out, args.count, args.seed)
    outcomes = Counter(t.outcome for _, t in truth.items())
    summary = ", ".join(f"{k} {outcomes[k]}" for k in ("accepted", "refused", "rejected"))
    print(
        f"wrote {len(truth)} packages to {args.out} (seed {args.seed}): {summary}; "
        f"{time.perf_counter() - started:.1f}s"
    )
    return 0
