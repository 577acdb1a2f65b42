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

# Modules that contribute subcommands, each exposing ``register(subparsers)``, and
# the commands each registers (tests/test_imports.py checks that they agree).
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "medlicense.cli_app": ("demo", "batch", "check", "server", "serve", "review"),
    "medlicense.cli_delivery": ("fetch", "events"),
    "storage.cli": ("storage",),
    "signing.cli": ("pki", "verify"),
    "medlicense.rules.cli": ("rules", "id"),
    "medlicense.samples.cli": ("samples",),
    "medlicense.showcase": ("render-samples",),
    "benchmarks.cli": ("bench",),
}

EXIT_ERROR = 2


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; when ``argv`` names a known command, with that command only.

    Registering a command imports its module, and some import a lot (the sample
    generator: reportlab, Pillow, pdfium), and ``medlicense serve``, which runs as
    long as the service does, should not hold what only other commands use.  Help, no command or an
    unknown one get every command, so the listing and the error name them all.
    """
    parser = argparse.ArgumentParser(
        prog="medlicense",
        description="Medical-activity licensing pipeline (Kazakhstan): intake, receipts, signing.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = argv[0] if argv else None
    known = {c for commands in COMMAND_MODULES.values() for c in commands}
    for name, commands in COMMAND_MODULES.items():
        if command in known and command not in commands:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
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
