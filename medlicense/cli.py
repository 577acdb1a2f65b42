"""The ``medlicense`` command.

Each area registers its own subcommands (``register(subparsers)`` in its
``cli`` module) so this file only assembles them and maps errors to exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from medlicense.errors import MedLicenseError

# Modules that contribute subcommands; each exposes ``register(subparsers)``.
COMMAND_MODULES: tuple[str, ...] = (
    "medlicense.cli_app",
    "medlicense.cli_delivery",
    "storage.cli",
    "signing.cli",
    "medlicense.rules.cli",
    "medlicense.samples.cli",
    "medlicense.showcase",
    "benchmarks.cli",
)

EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medlicense",
        description="Medical-activity licensing pipeline (Kazakhstan): intake, receipts, signing.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc: int = args.func(args)
    except MedLicenseError as exc:
        print(f"medlicense: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
