"""Pipeline subcommands: ``demo``, ``batch``, ``check``, ``server``, ``serve``, ``review``."""

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

    serve = sub.add_parser(
        "serve",
        help="run the deployments: scheduled intake and per-application review",
        description="Without --work-pool: serve the deployments from this process (Prefect "
        "serve). With --work-pool: register them against a process work pool and exit; "
        "run `prefect worker start --pool NAME` on each machine.",
    )
    serve.add_argument("--work-pool", default=None, help="register against this work pool")
    serve.add_argument("--limit", type=int, default=None, help="at most N flow runs at a time")
    serve.set_defaults(func=_serve)

    review = sub.add_parser("review", help="applications waiting for a decision")
    rsub = review.add_subparsers(dest="review_command", required=True, metavar="ACTION")
    rlist = rsub.add_parser("list", help="review runs waiting for the executor or the head")
    rlist.add_argument("--json", action="store_true")
    rlist.set_defaults(func=_review_list)
    approve = rsub.add_parser("approve", help="approve an application (the executor's form)")
    approve.add_argument("app_id")
    approve.add_argument("--subtypes", nargs="+", default=None, help="subtype codes")
    approve.add_argument("--places", nargs="+", default=None, help="addresses of activity")
    approve.add_argument("--address", default=None, help="the licensee's address")
    approve.add_argument("--executor", default=None, help="who reviewed")
    approve.set_defaults(func=_review_decide, decision="approve")
    refuse = rsub.add_parser("refuse", help="refuse an application with grounds and reasoning")
    refuse.add_argument("app_id")
    refuse.add_argument("--grounds", nargs="+", required=True, help="refusal ground codes")
    refuse.add_argument("--reason", required=True, help="the reasoning printed on the refusal")
    refuse.add_argument("--executor", default=None, help="who reviewed")
    refuse.set_defaults(func=_review_decide, decision="refuse")
    for action, text in (("sign", "the head signs the draft"), ("return", "the head returns it")):
        head = rsub.add_parser(action, help=text + " (with head_confirmation)")
        head.add_argument("app_id")
        head.add_argument("--head", default=None, help="who signs")
        head.add_argument("--comment", default="")
        head.set_defaults(func=_review_head, decision=action)


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


# --- serve and review -----------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from medlicense.memory import limit_arenas

    # Before Prefect and the runner start their threads (see medlicense.memory).
    limit_arenas()
    settings = get_settings()
    configure_prefect(settings, start_server=settings.prefect_api_url is None)
    from flows.context import dev_pki_services
    from flows.deploy import deploy_to_pool, serve_all

    if args.work_pool:
        for deployment_id in deploy_to_pool(settings, args.work_pool):
            print(f"deployment {deployment_id} registered against work pool {args.work_pool}")
        print(f"Now run on each machine: prefect worker start --pool {args.work_pool}")
        return 0
    print(f"Serving the intake ({settings.intake_cron}) and review deployments; Ctrl-C stops.")
    with dev_pki_services(settings):
        serve_all(settings, limit=args.limit)
    return 0


def _review_list(args: argparse.Namespace) -> int:
    configure_prefect(get_settings(), start_server=False)
    from flows.review import waiting_reviews

    runs = waiting_reviews()
    if args.json:
        for run in runs:
            print(json.dumps(run, ensure_ascii=False))
        return 0
    if not runs:
        print("No application is waiting for a decision.")
    for run in runs:
        print(
            f"{run['app_id']}  waiting for the {run['waiting_for']} since {run['since']}"
            f"  (until {run['timeout_at'] or '—'}; run {run['flow_run_name']})"
        )
    return 0


def _review_decide(args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_prefect(settings, start_server=False)
    from flows.review import resume_review
    from medlicense.records import Decision
    from medlicense.review import terminal_input

    run_input = terminal_input(
        Decision(args.decision),
        executor=args.executor or settings.executor_name,
        grounds=getattr(args, "grounds", None),
        reasoning=getattr(args, "reason", "") or "",
        subtypes=getattr(args, "subtypes", None),
        places=getattr(args, "places", None),
        licensee_address=getattr(args, "address", None),
    )
    run_id = resume_review(args.app_id, run_input)
    print(f"{args.app_id}: {args.decision} submitted; flow run {run_id} resumes")
    return 0


def _review_head(args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_prefect(settings, start_server=False)
    from flows.review import resume_review

    run_input = {
        "decision": args.decision,
        "head": args.head or settings.head_name,
        "comment": args.comment,
    }
    run_id = resume_review(args.app_id, run_input, head=True)
    print(f"{args.app_id}: {args.decision} submitted; flow run {run_id} resumes")
    return 0


# --- batch and demo ------------------------------------------------------------------------


def run_batch(limit: int | None = None) -> list[ReceiptResult]:
    from flows.intake import intake_batch

    return intake_batch(limit=limit)


def _batch(args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_prefect(settings, start_server=False)
    from flows.context import dev_pki_services

    # The development TSA/OCSP outlive the worker processes while this batch runs.
    with dev_pki_services(settings):
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
    from medlicense.processing import application_id, ensure_pki
    from medlicense.samples import build_package, generate_packages
    from storage.cli import ensure_all_buckets
    from storage.client import ObjectStore
    from storage.server import SeaweedServer

    # The demo shows the whole path without a person: the batch decides what needs
    # no one, and review runs (separate processes) read the policy from the environment.
    os.environ.setdefault("MEDLICENSE_REVIEW_POLICY", "auto")
    get_settings.cache_clear()  # settings read before this line did not know it
    settings = get_settings()
    print("1/6 Starting the local S3 server (SeaweedFS) ...")
    SeaweedServer(settings).up()
    store = ObjectStore.from_settings(settings)
    ensure_all_buckets(store)
    print("2/6 Development PKI ...")
    pki = ensure_pki(settings)
    print("3/6 Starting the Prefect server ...")
    # Run logs still reach the server (and the UI); the terminal shows the summary.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    ui_url = configure_prefect(settings, start_server=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    packages: dict[str, bytes] = {}
    if args.count is None:
        print("4/6 Generating the showcase packages and uploading them as the portal would ...")
        for name, spec in showcase_specs(args.seed).items():
            packages[name] = build_package(spec)
    else:
        print(f"4/6 Generating {args.count} packages and uploading them as the portal would ...")
        with tempfile.TemporaryDirectory() as tmp:
            for name in generate_packages(Path(tmp), args.count, args.seed):
                packages[name] = (Path(tmp) / name).read_bytes()
    for name, data in packages.items():
        key = f"{settings.uploads_prefix}demo-{stamp}/{name}"
        store.put_bytes(settings.bucket_uploads, key, data, content_type="application/zip")
    from flows.context import dev_pki_services
    from flows.deploy import BackgroundRunner

    copies = settings.data_dir / "demo" / stamp
    copies.mkdir(parents=True, exist_ok=True)
    with dev_pki_services(settings), BackgroundRunner(settings):
        print("5/6 Running the intake flow ...\n")
        results = run_batch()
        print_results(results, settings)
        accepted = [application_id(r.package) for r in results if r.outcome is Outcome.ACCEPTED]
        print(
            f"\n6/6 Review ({settings.review_policy} policy): {len(accepted)} application(s) ...\n"
        )
        outcomes = wait_for_reviews(accepted, settings, timeout=600)
    print_reviews(outcomes, settings, copies)
    # Local copies, so the receipts can be opened, verified or fed to pdfsig directly.
    for result in results:
        for key in result.receipt_keys:
            pdf = store.get_bytes(settings.bucket_artifacts, key)
            (copies / Path(key).name).write_bytes(pdf)
    print()
    print(f"Copies of the signed receipts: {copies}/ (the licenses and refusals are there too)")
    print(
        f"Artifacts: s3://{settings.bucket_artifacts}/applications/<app-id>/ at http://{settings.s3_endpoint}"
        f" (record.json: state and who did what when); register: s3://{settings.bucket_artifacts}/register/"
    )
    print(
        f"  (credentials: MEDLICENSE_S3_ACCESS_KEY / MEDLICENSE_S3_SECRET_KEY; data in {settings.weed_dir / 'data'})"
    )
    print(f"Quarantine: s3://{settings.bucket_quarantine}/")
    print(
        f"Published (object lock): s3://{settings.bucket_published}/licenses/<number>/; "
        "downstream: medlicense events --since 0; medlicense fetch <number>"
    )
    print(f"Verify a document: .venv/bin/medlicense verify {copies}/<file>.pdf")
    print(f"  or with poppler: pdfsig <file>.pdf, trusting the development root {pki.root_cert}")
    if ui_url:
        print(
            f"Prefect UI: {ui_url}  (flows 'intake-batch' and 'review-application'; "
            "a review waiting for a person is a Suspended run with a form: Resume)"
        )
    print(
        "Waiting reviews: medlicense review list; decide: medlicense review approve|refuse APP_ID"
    )
    print("Stop the services: medlicense server down; medlicense storage down")
    return 0 if all(r.error is None for r in results) else 1


def wait_for_reviews(app_ids: list[str], settings: Settings, *, timeout: float) -> dict[str, str]:
    """Poll the review runs of ``app_ids`` until each completed, failed or waits for a person.

    Applications the ``auto`` policy decided inside the batch have a result and no
    review run: they count as completed.
    """
    import time

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    from medlicense.register import Registry
    from storage.client import ObjectStore

    registry = Registry(ObjectStore.from_settings(settings), settings)
    final = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED", "PAUSED"}
    states: dict[str, str] = {
        a: "COMPLETED" if registry.result(a) is not None else "PENDING" for a in app_ids
    }
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline and any(v not in final for v in states.values()):
            for app_id in [a for a, v in states.items() if v not in final]:
                runs = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[app_id]))
                )
                if runs and runs[0].state is not None:
                    states[app_id] = runs[0].state.type.value
            time.sleep(1.0)
    return states


def print_reviews(states: dict[str, str], settings: Settings, copies: Path) -> None:
    from medlicense.register import Registry
    from storage.client import ObjectStore

    store = ObjectStore.from_settings(settings)
    registry = Registry(store, settings)
    for app_id, state in states.items():
        result = registry.result(app_id)
        app = registry.application(app_id)
        name = Path(app.upload_key).name
        if result is not None:
            print(f"{name}  {result.outcome} {result.number}")
            for key in result.documents:
                print(f"    s3://{settings.bucket_artifacts}/{key}")
                (copies / Path(key).name).write_bytes(
                    store.get_bytes(settings.bucket_artifacts, key)
                )
        elif state == "PAUSED":
            request = app.verdict.request
            why = "the checks found something to look at"
            if request.license_number and registry.license(request.license_number) is None:
                why = f"license {request.license_number} is not in this register"
            print(f"{name}  waiting for a person ({app_id}): {why}")
        else:
            print(f"{name}  review {state.lower()} ({app_id})")


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
