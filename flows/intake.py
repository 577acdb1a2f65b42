"""The intake batch flow: new portal uploads in, receipts out, accepted ones on to review.

Orchestration only: which packages are new, one task per package on a pool of
worker processes (reading PDFs, rendering and signing are CPU-bound), retries,
a per-batch table in the Prefect UI, and one review run per accepted
application.  The work is :func:`medlicense.processing.process_package`, which
runs and is tested without Prefect.

Exactly once: a package is claimed (create-only ``claims/<app-id>.json``) by the
run that processes it, so overlapping runs skip each other's packages; a retry
of the same run holds its own claim; a claim left by a killed run is taken over
after ``claim_stale_seconds``, which is safe because every later write is
create-only or rewrites the same bytes.  Review runs are started with an
idempotency key per application, so a repeated start returns the same run.
"""

from __future__ import annotations

import datetime as dt
import uuid

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.runtime import flow_run
from prefect.task_runners import ProcessPoolTaskRunner

from medlicense.errors import MedLicenseError
from medlicense.models import ReceiptResult
from medlicense.processing import (
    application_id,
    claim_package,
    list_new_packages,
    process_package,
)
from medlicense.register import Registry
from medlicense.settings import Settings, get_settings
from storage.client import ObjectStore

from .context import RETRY_DELAYS, REVIEW_FLOW, retry_transient, worker_context


def review_deployment_name(settings: Settings) -> str:
    return f"{REVIEW_FLOW}/{settings.deployment_prefix}-review"


@task(name="list-new-packages", retries=3, retry_delay_seconds=RETRY_DELAYS)
def find_new_packages() -> list[str]:
    settings = get_settings()
    return list_new_packages(ObjectStore.from_settings(settings), settings)


def _package_run_name() -> str:
    from prefect.runtime import task_run

    key = str(task_run.parameters.get("key", "?"))
    return f"package {key.rsplit('/', 1)[-1]} ({application_id(key)})"


@task(
    name="process-package",
    task_run_name=_package_run_name,
    retries=3,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def process_package_task(key: str, owner: str) -> ReceiptResult | None:
    ctx = worker_context()
    if not claim_package(ctx.store, ctx.settings, key, owner):
        return None  # another intake run is on it
    return process_package(ctx, key)


@task(name="start-reviews", retries=3, retry_delay_seconds=RETRY_DELAYS)
def start_reviews() -> list[str]:
    """One review run per queued application; returns the applications handed over."""
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound as PrefectObjectNotFound

    logger = get_run_logger()
    settings = get_settings()
    registry = Registry(ObjectStore.from_settings(settings), settings)
    started = []
    for app_id in registry.queued_reviews():
        try:
            run_deployment(
                review_deployment_name(settings),
                parameters={"app_id": app_id},
                flow_run_name=f"review {app_id}",
                idempotency_key=f"review-{app_id}",
                tags=["review", app_id],
                timeout=0,
                as_subflow=False,
            )
        except PrefectObjectNotFound:
            # Nothing serves the review deployment yet: the queue keeps the application
            # and the next intake run after `medlicense serve` starts its review.
            logger.warning(
                "deployment %s not found; %d application(s) stay queued for review",
                review_deployment_name(settings),
                len(registry.queued_reviews()),
            )
            break
        registry.dequeue_review(app_id)
        started.append(app_id)
    return started


BATCH_ARTIFACT = "intake-batch"


def batch_table(results: list[ReceiptResult]) -> list[dict[str, str]]:
    """One row per package: what the operator checks after a batch."""
    return [
        {
            "package": r.package,
            "application": r.app_id or application_id(r.package),
            "applicant": r.applicant or "",
            "outcome": r.outcome.value if r.outcome else "failed",
            "reason": r.reason
            or r.error
            or ("missing: " + ", ".join(r.missing) if r.missing else ""),
            "receipt": ", ".join(r.receipt_keys),
        }
        for r in results
    ]


def _report_progress(artifact_id: uuid.UUID, done: int, total: int) -> None:
    # Results are collected in submission order: a slow first package holds the bar
    # back, but it never goes backwards and ends at 100 %.
    update_progress_artifact(artifact_id, 100.0 * done / total if total else 100.0)


def _batch_name() -> str:
    return f"intake {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}Z"


# Every core of the machine (or PREFECT_TASKS_RUNNER_PROCESS_POOL_MAX_WORKERS);
# each worker process builds its context (key, fonts, rules) once.
@flow(
    name="intake-batch",
    flow_run_name=_batch_name,
    log_prints=True,
    # The decorator's annotation is invariant in the future type; the pool runner fits.
    task_runner=ProcessPoolTaskRunner(),  # type: ignore[arg-type]
)
def intake_batch(limit: int | None = None) -> list[ReceiptResult]:
    logger = get_run_logger()
    keys = find_new_packages()
    if limit is not None:
        keys = keys[:limit]
    logger.info("%d new package(s)", len(keys))
    owner = str(flow_run.id or "local")
    futures = process_package_task.map(keys, owner=unmapped(owner))
    # Sync inside a sync flow (async_dispatch); the union in the stubs covers async callers.
    progress: uuid.UUID = create_progress_artifact(  # type: ignore[assignment]
        progress=0.0,
        key="intake-progress",
        description=f"Intake batch: packages done out of {len(keys)}",
    )
    results: list[ReceiptResult] = []
    for done, (key, future) in enumerate(zip(keys, futures, strict=True), start=1):
        _report_progress(progress, done - 1, len(keys))
        try:
            result = future.result()
        except MedLicenseError as exc:
            # The task run stays Failed in the UI with this code; the batch goes on.
            logger.error("package %s failed: %s", key, exc)
            results.append(ReceiptResult(package=key, error=exc.code))
            continue
        except Exception as exc:
            logger.error("package %s failed unexpectedly: %r", key, exc)
            results.append(ReceiptResult(package=key, error="internal.unexpected"))
            continue
        if result is None:
            logger.info("package %s is being processed by another intake run", key)
        else:
            results.append(result)
    started = start_reviews()
    logger.info("%d review run(s) started", len(started))
    _report_progress(progress, len(keys), len(keys))
    create_table_artifact(
        key=BATCH_ARTIFACT,
        table=batch_table(results),
        description=f"Intake batch: {len(results)} package(s), {len(started)} review(s) started",
    )
    return results
