"""``medlicense pki init`` and ``medlicense verify``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medlicense.errors import VerificationError
from medlicense.settings import Settings, get_settings

# Every ``medlicense`` command registers these subcommands, ``serve`` included; the
# PKI and pyHanko are imported only when one of them runs (tests/test_imports.py).
if TYPE_CHECKING:
    from signing.verify import VerificationReport

EXIT_VALID = 0
EXIT_INVALID = 1


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    pki = subparsers.add_parser("pki", help="Development PKI (root, issuing CA, signer, TSA).")
    pki_sub = pki.add_subparsers(dest="pki_command", required=True, metavar="ACTION")
    init = pki_sub.add_parser(
        "init",
        help="Create the development PKI in the configured directory (no-op if present).",
    )
    init.add_argument("--force", action="store_true", help="Regenerate every key and certificate.")
    init.add_argument(
        "--ecdsa", action="store_true", help="Also create an ECDSA P-256 signer (signer-ec.p12)."
    )
    init.set_defaults(func=_cmd_pki_init)
    serve = pki_sub.add_parser(
        "serve",
        help="Serve the TSA, OCSP responder and CRL of the development PKI until interrupted.",
    )
    serve.set_defaults(func=_cmd_pki_serve)

    verify = subparsers.add_parser(
        "verify", help="Verify the signatures of a signed PDF (exit 0 only when valid)."
    )
    verify.add_argument("file", type=Path, metavar="FILE.pdf")
    verify.add_argument("--json", action="store_true", help="Print one JSON object.")
    verify.set_defaults(func=_cmd_verify)


def trust_roots_from(settings: Settings) -> list[Path]:
    """Configured roots, plus the development root when a dev PKI exists."""
    roots = list(settings.trust_roots)
    dev_root = settings.resolved_pki_dir / "root.pem"
    if dev_root.is_file() and dev_root not in roots:
        roots.append(dev_root)
    return roots


def _cmd_pki_init(args: argparse.Namespace) -> int:
    from signing.pki import init_pki
    from signing.services import services_url

    settings = get_settings()
    paths = init_pki(
        settings.resolved_pki_dir,
        settings.signer_passphrase.get_secret_value(),
        provider_name=settings.provider_name_kk,
        provider_bin=settings.provider_bin,
        force=bool(args.force),
        services_url=services_url(settings),
        ecdsa=bool(args.ecdsa),
    )
    for label, path in (
        ("root", paths.root_cert),
        ("issuing CA", paths.ca_cert),
        ("issuing CA key", paths.ca_key),
        ("signer", paths.signer_p12),
        ("ECDSA signer", paths.signer_ec_p12),
        ("TSA certificate", paths.tsa_cert),
        ("TSA key", paths.tsa_key),
        ("OCSP responder", paths.ocsp_cert),
    ):
        if path.exists():
            print(f"{label + ':':<17} {path}")
    return 0


def _cmd_pki_serve(args: argparse.Namespace) -> int:
    from signing.pki import PkiPaths
    from signing.services import LocalPkiServices

    settings = get_settings()
    paths = PkiPaths.in_directory(settings.resolved_pki_dir)
    services = LocalPkiServices(
        paths,
        settings.signer_passphrase.get_secret_value(),
        host=settings.pki_services_host,
        port=settings.pki_services_port,
    )
    with services:
        print(f"TSA:  {services.tsa_url}\nOCSP: {services.ocsp_url}\nCRL:  {services.crl_url}")
        # Ctrl-C is the way to stop it; leaving the with-block closes the port.
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from signing.verify import verify_pdf

    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VerificationError(
            f"cannot read {path}: {exc.strerror or exc}", code="verify.file_unreadable"
        ) from exc
    report = verify_pdf(data, trust_roots=trust_roots_from(get_settings()))
    if args.json:
        print(json.dumps(report.to_public(), ensure_ascii=False))
    else:
        _print_summary(path, report)
    return EXIT_VALID if report.valid else EXIT_INVALID


def _print_summary(path: Path, report: VerificationReport) -> None:
    out = sys.stdout
    out.write(f"{path}: {'VALID' if report.valid else 'NOT VALID'}\n")
    if report.signatures:
        ts = report.timestamp.isoformat() if report.timestamp else "none"
        ts_state = "valid" if report.timestamp_valid else "not valid"
        out.write(
            f"  signer:       {report.signer}\n"
            f"  serial:       {report.signer_cert_serial}\n"
            f"  intact:       {'yes' if report.intact else 'no'}\n"
            f"  trusted:      {'yes' if report.trusted else 'no'}\n"
            f"  coverage:     {report.coverage}\n"
            f"  modification: {report.modification_level}\n"
            f"  PAdES level:  {report.pades_level}\n"
            f"  document:     {report.document_number or '-'}\n"
            f"  revocation:   {'proven from embedded data' if report.revocation_checked else 'not embedded'}\n"
            f"  timestamp:    {ts}" + ("" if report.timestamp is None else f" ({ts_state})") + "\n"
            f"  signatures:   {report.signatures}"
            + (
                f" (+{report.document_timestamps} document timestamp(s))"
                if report.document_timestamps
                else ""
            )
            + "\n"
        )
    for issue in report.errors:
        where = f" [{issue.field}]" if issue.field else ""
        out.write(f"  error {issue.code}{where}: {issue.message}\n")
