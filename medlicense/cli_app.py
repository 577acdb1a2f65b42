"""Pipeline subcommands: ``demo``, ``batch``, ``check``, ``server``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medlicense.models import Outcome, ReceiptResult
from medlicense.settings import Settings, get_settings

if TYPE_CHECKING:
    from medlicense.samples import PackageSpec


def register(sub: Any) -> None:
    demo = sub.add_parser("demo", help="run the whole pipeline on generated packages, locally")
    demo.add_argument(
        "--count",
        type=int,
        default=None,
        help="generate N packages from the standard mix instead of the eight showcase packages",
    )
    demo.add_argument("--seed", type=int, default=2026)
    demo.set_defaults(func=_demo)

    batch = sub.add_parser("batch", help="run the intake flow once on the uploads bucket")
    batch.add_argument("--limit", type=int, default=None, help="process at most N packages")
    batch.add_argument("--json", action="store_true", help="print results as JSON lines")
    batch.set_defaults(func=_batch)

    check = sub.add_parser(
        "check", help="check one package (ZIP or folder) without storing anything"
    )
    check.add_argument("package", type=Path)
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=_check)

    server = sub.add_parser("server", help="the local Prefect server (UI): up, down, status")
    server.add_argument("action", choices=["up", "down", "status"])
    server.set_defaults(func=_server)


# --- check ---------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    from medlicense.intake import check_package_path

    if not args.package.exists():
        print(f"medlicense: {args.package}: no such file or folder", file=sys.stderr)
        return 2
    verdict = check_package_path(args.package)
    if args.json:
        print(json.dumps(verdict.to_public(), ensure_ascii=False))
        return 0
    print(
        f"{verdict.package}: {verdict.outcome.value.upper()}"
        + (f" ({verdict.reason})" if verdict.reason else "")
    )
    for doc in verdict.documents:
        where = f" pages {doc.page_range[0]}-{doc.page_range[1]}" if doc.page_range else ""
        print(
            f"  {doc.file}{where}: {doc.kind or '?'} ({doc.pages} p., confidence {doc.confidence:.2f})"
        )
    for missing in verdict.missing:
        print(f"  missing {missing.code}: {missing.name_kk} / {missing.name_ru}")
    for finding in verdict.findings:
        print(f"  [{finding.severity.value}] {finding.code}: {finding.message}")
    return 0


# --- Prefect plumbing ------------------------------------------------------------------


def configure_prefect(settings: Settings, *, start_server: bool) -> str | None:
    """Point Prefect at the configured or local server; returns the UI URL if there is one."""
    from flows.server import PrefectServer, apply_prefect_env

    server = PrefectServer(settings)
    if start_server and settings.prefect_api_url is None:
        server.up()
    apply_prefect_env(settings)
    if settings.prefect_api_url is None and not server.healthy():
        # No server to talk to: Prefect runs the flow against a temporary local one.
        os.environ.pop("PREFECT_API_URL", None)
        return None
    return server.ui_url


def _server(args: argparse.Namespace) -> int:
    from flows.server import PrefectServer

    server = PrefectServer(get_settings())
    if args.action == "up":
        server.up()
        print(f"Prefect server up: {server.ui_url} (log: {server.log_file})")
    elif args.action == "down":
        print("Prefect server stopped" if server.down() else "Prefect server was not running")
    else:
        healthy = server.healthy()
        print(f"Prefect server at {server.ui_url}: {'healthy' if healthy else 'not answering'}")
        return 0 if healthy else 1
    return 0


# --- batch and demo ------------------------------------------------------------------------


def run_batch(limit: int | None = None) -> list[ReceiptResult]:
    from flows.intake import intake_batch

    return intake_batch(limit=limit)


def _batch(args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_prefect(settings, start_server=False)
    results = run_batch(args.limit)
    if args.json:
        for r in results:
            print(r.model_dump_json())
    else:
        print_results(results, settings)
    return 0 if all(r.error is None for r in results) else 1


def print_results(results: list[ReceiptResult], settings: Settings) -> None:
    if not results:
        print("No new packages.")
        return
    width = max(len(r.package) for r in results)
    for r in results:
        outcome = r.outcome.value if r.outcome else "FAILED"
        line = f"{r.package:<{width}}  {outcome:<9}"
        if r.outcome is Outcome.REFUSED:
            line += f" missing: {', '.join(r.missing)}"
        if r.reason:
            line += f" reason: {r.reason}"
        if r.error:
            line += f" error: {r.error}"
        print(line)
        for key in r.receipt_keys:
            print(f"{'':<{width}}  receipt  s3://{settings.bucket_artifacts}/{key}")


def _demo(args: argparse.Namespace) -> int:
    from medlicense.processing import ensure_pki
    from medlicense.samples import build_package, generate_packages
    from storage.cli import ensure_all_buckets
    from storage.client import ObjectStore
    from storage.server import SeaweedServer

    settings = get_settings()
    print("1/5 Starting the local S3 server (SeaweedFS) ...")
    SeaweedServer(settings).up()
    store = ObjectStore.from_settings(settings)
    ensure_all_buckets(store)
    print("2/5 Development PKI ...")
    pki = ensure_pki(settings)
    print("3/5 Starting the Prefect server ...")
    # Run logs still reach the server (and the UI); the terminal shows the summary.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    ui_url = configure_prefect(settings, start_server=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    packages: dict[str, bytes] = {}
    if args.count is None:
        print("4/5 Generating the showcase packages and uploading them as the portal would ...")
        for name, spec in showcase_specs(args.seed).items():
            packages[name] = build_package(spec)
    else:
        print(f"4/5 Generating {args.count} packages and uploading them as the portal would ...")
        with tempfile.TemporaryDirectory() as tmp:
            for name in generate_packages(Path(tmp), args.count, args.seed):
                packages[name] = (Path(tmp) / name).read_bytes()
    for name, data in packages.items():
        key = f"{settings.uploads_prefix}demo-{stamp}/{name}"
        store.put_bytes(settings.bucket_uploads, key, data, content_type="application/zip")
    print("5/5 Running the intake flow ...\n")
    results = run_batch()
    print_results(results, settings)
    # Local copies, so the receipts can be opened, verified or fed to pdfsig directly.
    copies = settings.data_dir / "demo" / stamp
    copies.mkdir(parents=True, exist_ok=True)
    for result in results:
        for key in result.receipt_keys:
            pdf = store.get_bytes(settings.bucket_artifacts, key)
            (copies / Path(key).name).write_bytes(pdf)
    print()
    print(f"Copies of the signed receipts: {copies}/")
    print(
        f"Artifacts: s3://{settings.bucket_artifacts}/applications/<app-id>/ at http://{settings.s3_endpoint}"
    )
    print(
        f"  (credentials: MEDLICENSE_S3_ACCESS_KEY / MEDLICENSE_S3_SECRET_KEY; data in {settings.weed_dir / 'data'})"
    )
    print(f"Quarantine: s3://{settings.bucket_quarantine}/")
    print(f"Verify a receipt: .venv/bin/medlicense verify {copies}/<receipt>.pdf")
    print(f"  or with poppler: pdfsig <receipt>.pdf, trusting the development root {pki.root_cert}")
    if ui_url:
        print(f"Prefect UI: {ui_url}  (flow 'intake-batch'; the run's Artifacts tab has the table)")
    print("Stop the services: medlicense server down; medlicense storage down")
    return 0 if all(r.error is None for r in results) else 1


def showcase_specs(seed: int) -> dict[str, PackageSpec]:
    """One package of each situation a clerk meets, so one demo run shows them all."""
    from medlicense.models import ApplicantType, RequestKind
    from medlicense.samples import PackageSpec

    entity, person = ApplicantType.LEGAL_ENTITY, ApplicantType.INDIVIDUAL
    return {
        "01-issue-complete-kk.zip": PackageSpec(language="kk", seed=seed),
        "02-issue-representative-ru.zip": PackageSpec(
            language="ru", applicant_type=person, representative=True, seed=seed + 1
        ),
        "03-issue-scanned-and-merged-kk.zip": PackageSpec(
            language="kk",
            scanned=frozenset({"specialist_certificate"}),
            merge=(("diploma", "sanitary_conclusion"),),
            seed=seed + 2,
        ),
        "04-issue-incomplete-ru.zip": PackageSpec(
            language="ru", omit=frozenset({"fee_payment", "sanitary_conclusion"}), seed=seed + 3
        ),
        "05-reissue-kk.zip": PackageSpec(kind=RequestKind.REISSUE, language="kk", seed=seed + 4),
        "06-duplicate-gateway-ru.zip": PackageSpec(
            kind=RequestKind.DUPLICATE,
            applicant_type=entity,
            language="ru",
            gateway=True,
            seed=seed + 5,
        ),
        "07-nested-archive.zip": PackageSpec(package_fault="package.nested_archive", seed=seed + 6),
        "08-application-not-a-pdf.zip": PackageSpec(
            language="ru", unreadable={"application": "document.not_pdf"}, seed=seed + 7
        ),
    }
