"""The intake batch flow: new portal uploads in, receipts out, accepted ones on to review.

Orchestration only: which packages are new, one task run per group of
packages (``MEDLICENSE_INTAKE_GROUP_SIZE``), a per-batch table with a row and a
coded reason per package and progress in the Prefect UI, the ``auto`` review of
what needs no person, and one review run per application that does.  The work is
:func:`medlicense.processing.process_package` and
:func:`medlicense.autoreview.auto_review`, which run and are tested without
Prefect.

Where it runs: task runs are threads of the flow-run process, each waiting on
its group's jobs in the warm worker pool (:mod:`medlicense.workers`), which reads,
renders and signs in processes that built their key, fonts and rules once and
keep them across batches for as long as the pool's owner lives.

Exactly once: a package is claimed (create-only ``claims/<app-id>.json``) by the
run that processes it, so overlapping runs skip each other's packages; a retry
of the same run holds its own claim; a claim left by a killed run is taken over
after ``claim_stale_seconds``, which is safe because every later write is
create-only or rewrites the same bytes.  Review runs are started with an
idempotency key per application, so a repeated start returns the same run.
"""

from __future__ import annotations

import datetime as dt
import queue
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from medlicense.errors import ReviewNotStarted
from medlicense.models import Outcome, ReceiptResult
from medlicense.processing import application_id, list_new_packages
from medlicense.register import Registry
from medlicense.review_page import ReviewHandover, prepare_handover
from medlicense.settings import Settings, get_settings
from medlicense.workers import PackageOutcome, failed, shared_pool
from storage.client import ObjectStore

from .context import RETRY_DELAYS, REVIEW_FLOW, worker_context
from .handover import complete_form, create_waiting, store_first_form


def review_deployment_name(settings: Settings) -> str:
    return f"{REVIEW_FLOW}/{settings.deployment_prefix}-review"


@task(name="list-new-packages", retries=3, retry_delay_seconds=RETRY_DELAYS)
def find_new_packages() -> list[str]:
    settings = get_settings()
    return list_new_packages(ObjectStore.from_settings(settings), settings)


def _group_run_name() -> str:
    from prefect.runtime import task_run

    keys = list(task_run.parameters.get("keys") or ["?"])
    first, last = (k.rsplit("/", 1)[-1] for k in (keys[0], keys[-1]))
    return f"package {first}" if len(keys) == 1 else f"packages {first} … {last} ({len(keys)})"


@task(
    name="process-packages",
    task_run_name=_group_run_name,
    # Nothing resumes from this result (a re-run finds each package's processed
    # marker in storage), so it is neither written to disk nor keyed by a hash of
    # the inputs and the task's source, which the serving process did per package.
    persist_result=False,
)
def process_packages_task(keys: list[str], owner: str) -> list[PackageOutcome | None]:
    # A task run per group of packages, not per package: every task run costs the
    # Prefect server and this process more than a package's own orchestration is worth,
    # and a package's failure is its own outcome (a code in the batch table and the
    # log), not the group's.  Storage and TSA outages are retried per package.
    return shared_pool(get_settings()).handle_packages(keys, owner, retry_delays=RETRY_DELAYS)


def reviews_to_start(
    registry: Registry, own: set[str], now: dt.datetime, *, batch_alive: Callable[[str], bool]
) -> list[str]:
    """Queued applications this batch must hand to a review run.

    Its own accepted applications that the auto policy left to a person, and
    entries whose batch is gone (it ended before handing them over: no review
    deployment was served, or it crashed).  A live batch's entries are left to
    it: it may still decide them itself.  Entries older than
    ``claim_stale_seconds`` count as orphaned whatever the batch's state.
    """
    stale = registry.settings.claim_stale_seconds
    out = []
    for app_id in registry.queued_reviews():
        if registry.result(app_id) is not None:
            registry.dequeue_review(app_id)  # decided; the entry outlived a crash
            continue
        if app_id not in own:
            queued = registry.queued_review(app_id)
            claim = registry.intake_claim(app_id)
            young = queued is not None and (now - queued.queued_at).total_seconds() < stale
            if young and claim is not None and batch_alive(claim.owner):
                continue
        out.append(app_id)
    return out


def _batch_alive(owner: str) -> bool:
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound as PrefectObjectNotFound

    try:
        run_id = uuid.UUID(owner)
    except ValueError:
        return False  # a claim of a run outside Prefect (a benchmark loop, a test)
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(run_id)
        except PrefectObjectNotFound:
            return False
    return run.state is not None and not run.state.is_final()


@task(name="start-reviews", retries=3, retry_delay_seconds=RETRY_DELAYS)
def start_reviews(own: list[str], handovers: list[ReviewHandover] | None = None) -> list[str]:
    """One review run per application a person decides; returns the applications handed over.

    Applications with a hand-over (their workers prepared the first form) get
    runs created waiting for the executor, all in one request (:mod:`flows.handover`);
    the others get a scheduled run, which prepares its form itself.  A run the
    server refused leaves its application queued, and the task fails after the
    others were handed over (its retry, or the next batch, tries again).
    """
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound as PrefectObjectNotFound

    logger = get_run_logger()
    settings = get_settings()
    registry = Registry(ObjectStore.from_settings(settings), settings)
    pending = reviews_to_start(
        registry, set(own), dt.datetime.now(dt.UTC), batch_alive=_batch_alive
    )
    if not pending:
        return []
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(review_deployment_name(settings))
        except PrefectObjectNotFound:
            # Nothing serves the review deployment yet: the queue keeps the applications
            # and the next intake run after `medlicense serve` starts their reviews.
            logger.warning(
                "deployment %s not found; %d application(s) stay queued for review",
                review_deployment_name(settings),
                len(pending),
            )
            return []

        ready = {h.app_id: h for h in handovers or ()}

        def fields(app_id: str) -> dict[str, Any]:
            # A repeated start (a retry of this task) returns the same run.
            return {
                "name": f"review {app_id}",
                "idempotency_key": f"review-{app_id}",
                "tags": ["review", app_id],
            }

        prepared = [ready[a] for a in pending if a in ready]
        created = create_waiting(client, deployment.id, prepared, fields=fields)
        for app_id, reason in created.refused.items():
            logger.error("review run of %s not created: %s", app_id, reason)

        def start(app_id: str) -> str | None:
            handover = ready.get(app_id)
            if handover is not None:
                run_id = created.runs.get(app_id)
                if run_id is None:
                    return None  # refused by the server: still queued, tried again
                store_first_form(client, run_id, handover)
            else:
                run = client.create_flow_run_from_deployment(
                    deployment.id, parameters={"app_id": app_id}, **fields(app_id)
                )
                # Created waiting by a batch that stopped before storing its form: the
                # form is prepared here, as the accepting worker would have.
                complete_form(
                    client,
                    run,
                    lambda: prepare_handover(worker_context(), app_id, dt.datetime.now(dt.UTC)),
                )
            registry.dequeue_review(app_id)
            return app_id

        # Each form is a few round trips that mostly wait on the server, and a batch can
        # hand over dozens: a few at a time, where the server's database takes it.
        at_once = settings.resolved_review_starts_at_once
        with ThreadPoolExecutor(at_once, thread_name_prefix="start-review") as pool:
            # A failure is raised after the others ran; the retry finds them started.
            started = [a for a in pool.map(start, pending) if a is not None]
        if created.refused:
            raise ReviewNotStarted(
                f"{len(created.refused)} review run(s) not created: "
                + ", ".join(sorted(created.refused))
            )
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
            "reason": (f"{r.error}: {r.reason}" if r.error and r.reason else None)
            or r.reason
            or r.error
            or ("missing: " + ", ".join(r.missing) if r.missing else ""),
            "receipt": ", ".join(r.receipt_keys),
        }
        for r in results
    ]


def _report_progress(artifact_id: uuid.UUID, done: int, total: int) -> None:
    update_progress_artifact(artifact_id, 100.0 * done / total if total else 100.0)


def _batch_name() -> str:
    return f"intake {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S}Z"


def _collect(
    keys: list[str], future: PrefectFuture[list[PackageOutcome | None]]
) -> list[tuple[str, PackageOutcome | None]]:
    logger = get_run_logger()
    try:
        outcomes = future.result()
    except Exception as exc:
        # Packages fail one by one inside the group; a group that fails as a whole
        # (the task itself) still leaves a coded row per package, and the batch goes on.
        logger.error("packages %s failed unexpectedly: %r", ", ".join(keys), exc)
        outcomes = [failed(k, "internal.unexpected", repr(exc)) for k in keys]
    for key, result in zip(keys, outcomes, strict=True):
        if result is None:
            logger.info("package %s is being processed by another intake run", key)
        elif result.receipt.error:
            logger.error(
                "package %s failed (%s): %s", key, result.receipt.error, result.receipt.reason
            )
        elif result.auto_review_error:
            # Not lost: the application is still queued, and its review run takes it over.
            logger.error(
                "auto review of %s failed (%s); a review run takes it",
                result.receipt.app_id,
                result.auto_review_error,
            )
    return list(zip(keys, outcomes, strict=True))


T = TypeVar("T")


def finishing_order(futures: Sequence[PrefectFuture[T]]) -> queue.SimpleQueue[PrefectFuture[T]]:
    """A queue that receives each future as it finishes.

    Prefect's ``as_completed`` holds every future, and with it every group's
    outcomes (review pages included), until the last one is done; a thousand
    packages kept ~15 MiB alive in the serving process that way.  Taken from
    this queue, a collected group's future is the caller's only reference.
    """
    finished: queue.SimpleQueue[PrefectFuture[T]] = queue.SimpleQueue()
    for future in futures:
        future.add_done_callback(finished.put)
    return finished


# Review runs are started for this many applications at a time during the batch.
REVIEW_GROUP = 8


def _hand_over_early(app_ids: list[str], handovers: list[ReviewHandover]) -> list[str] | None:
    """Review runs for ``app_ids`` now; None: that failed, and the hand-over at the
    end of the batch tries them again (a failure here must not end the batch)."""
    # No retries here: waiting out their back-off would hold up collecting the batch,
    # and the hand-over at the end retries.
    state = start_reviews.with_options(retries=0)(app_ids, handovers, return_state=True)
    if state.is_completed():
        started: list[str] = state.result()
        return started
    get_run_logger().error(
        "starting review runs failed (%s); tried again after the batch", state.message
    )
    return None


def _ready(handovers: dict[str, ReviewHandover], app_ids: list[str]) -> list[ReviewHandover]:
    return [handovers[a] for a in app_ids if a in handovers]


# Progress updates are API calls; a few dozen per batch show it moving.
PROGRESS_STEPS = 25


# Task runs are threads that wait on the warm worker pool for their group's jobs; a few
# groups in flight keep every worker busy while a finished group is collected.
@flow(
    name="intake-batch",
    flow_run_name=_batch_name,
    log_prints=True,
    # The decorator's annotation is invariant in the future type; the thread runner fits.
    task_runner=ThreadPoolTaskRunner(max_workers=4),  # type: ignore[arg-type]
)
def intake_batch(limit: int | None = None) -> list[ReceiptResult]:
    logger = get_run_logger()
    settings = get_settings()
    keys = find_new_packages()
    if limit is not None:
        keys = keys[:limit]
    logger.info("%d new package(s)", len(keys))
    owner = str(flow_run.id or "local")
    size = settings.intake_group_size
    groups = [keys[i : i + size] for i in range(0, len(keys), size)]
    futures = process_packages_task.map(groups, owner=unmapped(owner))
    group_of = {f.task_run_id: g for g, f in zip(groups, futures, strict=True)}
    finished = finishing_order(futures)
    del futures
    # Sync inside a sync flow (async_dispatch); the union in the stubs covers async callers.
    progress: uuid.UUID = create_progress_artifact(  # type: ignore[assignment]
        progress=0.0,
        key="intake-progress",
        description=f"Intake batch: packages done out of {len(keys)}",
    )
    auto = settings.review_policy == "auto" and not settings.head_confirmation
    by_key: dict[str, ReceiptResult] = {}
    undecided: list[str] = []
    handovers: dict[str, ReviewHandover] = {}
    started: list[str] = []
    decided = 0
    step = max(1, len(keys) // PROGRESS_STEPS)
    done = 0
    next_report = step
    for _ in groups:
        future = finished.get()
        for key, outcome in _collect(group_of.pop(future.task_run_id), future):
            done += 1
            if outcome is None:
                continue
            receipt = outcome.receipt
            by_key[key] = receipt
            if outcome.decided is not None:
                decided += 1
            elif receipt.outcome is Outcome.ACCEPTED and receipt.app_id:
                undecided.append(receipt.app_id)
                if outcome.handover is not None:
                    handovers[receipt.app_id] = outcome.handover
                if len(undecided) % REVIEW_GROUP == 0:
                    # Handed over while the batch goes on, not in a tail after it.
                    group = undecided[-REVIEW_GROUP:]
                    early = _hand_over_early(group, _ready(handovers, group))
                    if early is not None:
                        started += early
                        del undecided[-REVIEW_GROUP:]
                        for app_id in group:
                            handovers.pop(app_id, None)
        del future
        if done >= next_report:
            _report_progress(progress, done, len(keys))
            next_report = done + step
    if auto:
        logger.info("%d application(s) decided by the auto policy", decided)
    started += start_reviews(undecided, _ready(handovers, undecided))
    logger.info("%d review run(s) started", len(started))
    results = [by_key[k] for k in keys if k in by_key]
    _report_progress(progress, len(keys), len(keys))
    create_table_artifact(
        key=BATCH_ARTIFACT,
        table=batch_table(results),
        description=f"Intake batch: {len(results)} package(s), "
        + (f"{decided} decided automatically, " if auto else "")
        + f"{len(started)} review(s) started",
    )
    return results
