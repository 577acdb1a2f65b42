"""The pipeline scenario (Prefect against a Prefect server) and its plain-loop twin.

Both run the same stage functions on the same packages (uploaded under
different keys, so each is new to its side) on warm worker processes
(:mod:`medlicense.workers`): ``process_package`` per package, then for each
accepted application the ``auto`` review (assign, decide, record, issue or
refuse).  The pipeline does it as the intake flow (a task run per group of
packages, threads waiting on the shared pool), plus a review run, created
waiting at its form, for each application that needs a person; the loop
submits the same jobs to a pool of the same size directly.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from medlicense.models import Outcome
from medlicense.processing import (
    IntakeContext,
    application_id,
)
from medlicense.settings import Settings
from storage.client import ObjectStore

FINAL_STATES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED", "PAUSED")


@dataclass
class RunResult:
    packages: int
    seconds: float  # intake start -> every review final
    intake_seconds: float
    review_seconds: float
    outcomes: dict[str, int] = field(default_factory=dict)
    reviews: dict[str, int] = field(default_factory=dict)
    issued_documents: int = 0
    errors: int = 0
    # Where the pipeline's wall time went, from the server's records (seconds).
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def per_minute(self) -> float:
        return 60 * self.packages / self.seconds if self.seconds else 0.0


def upload(
    store: ObjectStore, settings: Settings, prefix: str, packages: list[tuple[str, bytes]]
) -> list[str]:
    keys = []
    for name, data in packages:
        key = f"{settings.uploads_prefix}{prefix}/{name}"
        store.put_bytes(settings.bucket_uploads, key, data, content_type="application/zip")
        keys.append(key)
    return keys


POLL_SECONDS = 5.0


def _final_reviews(app_ids: list[str], timeout: float) -> tuple[dict[str, int], dt.datetime | None]:
    """Wait until the review run of every one of ``app_ids`` is in a final state (for
    a review started for a person: paused at its form); their states by type, and the
    latest moment one of them got there, as the server recorded it."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterName,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    states = [StateType(s) for s in FINAL_STATES]
    names = [f"review {a}" for a in app_ids]
    deadline = time.monotonic() + timeout
    counts: Counter[str] = Counter()
    latest: dt.datetime | None = None
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            counts, latest = Counter(), None
            for i in range(0, len(names), 200):
                runs = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        name=FlowRunFilterName(any_=names[i : i + 200]),
                        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=states)),
                    ),
                    limit=200,
                )
                for r in runs:
                    if r.state is None:
                        continue
                    counts[r.state.type.value] += 1
                    if latest is None or r.state.timestamp > latest:
                        latest = r.state.timestamp
            if sum(counts.values()) >= len(app_ids):
                break
            time.sleep(0.5)
    return dict(counts), latest


def _phases(
    run: Any, started: dt.datetime, last_review: dt.datetime | None, groups_expected: int
) -> dict[str, float]:
    """The intake run's timeline as the server recorded it: waiting to be picked up
    and started, before its first group, the groups, after the last group (the
    hand-over of the rest to review runs, the batch table), and the review runs'
    pauses after the run ended."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.intake import process_packages_task

    start, end = getattr(run, "start_time", None), getattr(run, "end_time", None)
    if start is None or end is None:
        return {}
    groups: list[Any] = []
    # The server records task runs from their events in batches, up to a second
    # late (flows.server.SERVER_TASK_RUN_RECORDER): wait for every group's end.
    deadline = time.monotonic() + 15
    with get_client(sync_client=True) as client:
        while True:
            tasks: list[Any] = []
            while True:  # the API hands out at most 200 at a time
                page = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
                    limit=200,
                    offset=len(tasks),
                )
                tasks += page
                if len(page) < 200:
                    break
            groups = [
                t
                for t in tasks
                if t.task_key == process_packages_task.task_key and t.start_time and t.end_time
            ]
            if len(groups) >= groups_expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    out = {"dispatch": (start - started).total_seconds()}
    if groups:
        first = min(t.start_time for t in groups if t.start_time)
        last = max(t.end_time for t in groups if t.end_time)
        out["before_first_group"] = (first - start).total_seconds()
        out["groups"] = (last - first).total_seconds()
        out["after_last_group"] = (end - last).total_seconds()
    out["reviews_after_run"] = max(0.0, (last_review - end).total_seconds()) if last_review else 0.0
    return out


def run_pipeline(
    settings: Settings, keys: list[str], *, deployment: str, review_timeout: float
) -> RunResult:
    """One run of the intake deployment over the uploaded ``keys``, executed by the
    serving process (:class:`benchmarks.service.ServeProcess`), then wait for every
    review run it started.

    Under the ``auto`` policy the batch decides and issues what needs no person
    itself; review runs are started (and waited for, until they pause for a
    person) only for the rest.

    The batch ends when the server recorded the intake run's end, or the last
    review run's pause, whichever is later: the benchmark's own polling (half a
    second) and its reading back of every receipt to count outcomes are not the
    pipeline's time.
    """
    from prefect.deployments import run_deployment

    from medlicense.models import ReceiptResult
    from medlicense.processing import processed_key
    from medlicense.register import Registry

    store = ObjectStore.from_settings(settings)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    # The batch's time is the server's record of it, so the driver need not notice its
    # end quickly; polling every half second cost the Prefect server ~0.5 core-second a
    # batch, which was counted as the pipeline's.
    run = run_deployment(deployment, timeout=None, poll_interval=POLL_SECONDS)
    t1 = time.perf_counter()
    state = getattr(run, "state", None)
    intake_end: dt.datetime | None = getattr(run, "end_time", None)
    results: list[ReceiptResult] = []
    for key in keys:
        marker = processed_key(application_id(key))
        if store.exists(settings.bucket_artifacts, marker):
            results.append(
                ReceiptResult.model_validate_json(
                    store.get_bytes(settings.bucket_artifacts, marker)
                )
            )
        else:
            results.append(ReceiptResult(package=key, error="bench.not_processed"))
    accepted = [r for r in results if r.outcome is Outcome.ACCEPTED]
    registry = Registry(store, settings)
    undecided = [
        application_id(r.package)
        for r in accepted
        if registry.result(application_id(r.package)) is None
    ]
    reviews, last_review = _final_reviews(undecided, review_timeout) if undecided else ({}, None)
    t2 = time.perf_counter()
    size = settings.intake_group_size
    phases = _phases(run, started, last_review, -(-len(keys) // size))
    if intake_end is None:  # not recorded: the benchmark's own clock, polling included
        intake_seconds, seconds = t1 - t0, t2 - t0
    else:
        intake_seconds = (intake_end - started).total_seconds()
        end = intake_end if last_review is None else max(intake_end, last_review)
        seconds = (end - started).total_seconds()
    return RunResult(
        packages=len(keys),
        seconds=seconds,
        intake_seconds=intake_seconds,
        review_seconds=seconds - intake_seconds,
        outcomes=dict(Counter(r.outcome.value if r.outcome else "failed" for r in results)),
        reviews={"decided in the batch": len(accepted) - len(undecided), **reviews},
        issued_documents=_issued_documents(settings, [application_id(r.package) for r in accepted]),
        errors=sum(1 for r in results if r.error)
        + (0 if state is not None and state.is_completed() else 1),
        phases=phases,
    )


def _issued_documents(settings: Settings, app_ids: list[str]) -> int:
    from medlicense.register import Registry

    registry = Registry(ObjectStore.from_settings(settings), settings)
    total = 0
    for app_id in app_ids:
        result = registry.result(app_id)
        if result is not None:
            total += len(result.documents)
    return total


# --- the plain loop ----------------------------------------------------------------------------


def run_loop(settings: Settings, keys: list[str], workers: int) -> RunResult:
    """The same jobs on a plain pool of the same warm workers, without Prefect: each job
    is the intake task's own (:func:`medlicense.workers._package_job`)."""
    from medlicense.workers import WorkerPool, _package_job

    pool = WorkerPool(settings, workers)
    try:
        pool.warm_up()
        t0 = time.perf_counter()
        done = [f.result() for f in [pool.submit(_package_job, k, "bench-loop") for k in keys]]
        t1 = time.perf_counter()
    finally:
        pool.close()
    outcomes: Counter[str] = Counter()
    reviews: Counter[str] = Counter()
    accepted = []
    for key, job in zip(keys, done, strict=True):
        if job is None:
            outcomes["skipped"] += 1
            continue
        receipt = job.receipt
        outcomes[receipt.outcome.value if receipt.outcome else "failed"] += 1
        if receipt.outcome is Outcome.ACCEPTED:
            accepted.append(application_id(key))
            reviews["COMPLETED" if job.decided is not None else "PAUSED"] += 1
    # The loop starts no review runs, so the applications it left for a person stay
    # queued; the next intake run would take them over and start their review runs
    # (one run after the loop is the pipeline itself when the loop runs first).
    from medlicense.register import Registry

    registry = Registry(ObjectStore.from_settings(settings), settings)
    for app_id in {application_id(k) for k in keys} & set(registry.queued_reviews()):
        registry.dequeue_review(app_id)
    return RunResult(
        packages=len(keys),
        seconds=t1 - t0,
        intake_seconds=t1 - t0,
        review_seconds=0.0,
        outcomes=dict(outcomes),
        reviews=dict(reviews),
        issued_documents=_issued_documents(settings, accepted),
    )


def single_latency(
    settings: Settings, store: ObjectStore, name: str, data: bytes, stamp: str, *, deployment: str
) -> dict[str, Any]:
    """Upload one package to an idle system and wait until its signed receipt is stored.

    The production path: a run of the intake deployment requested right after
    the upload, picked up by the serving process's warm runner (it polls every
    half second) and executed on its warm workers.
    """
    from prefect.deployments import run_deployment

    from medlicense.models import ReceiptResult
    from medlicense.processing import processed_key

    t0 = time.perf_counter()
    [key] = upload(store, settings, f"latency-{stamp}", [(name, data)])
    run: Any = run_deployment(deployment, timeout=0)
    marker = processed_key(application_id(key))
    deadline = time.monotonic() + 120
    while not store.exists(settings.bucket_artifacts, marker):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    total = time.perf_counter() - t0
    stored = store.exists(settings.bucket_artifacts, marker)
    receipt = None
    if stored:
        done = ReceiptResult.model_validate_json(store.get_bytes(settings.bucket_artifacts, marker))
        receipt = next(iter(done.receipt_keys), None)
        stored = receipt is not None and store.exists(settings.bucket_artifacts, receipt)
    # Let the run finish (its table, its review hand-over) before the next scenario.
    _wait_for_run(run.id, 120)
    return {"seconds": total, "receipt_stored": stored, "key": key}


def _wait_for_run(run_id: Any, timeout: float) -> None:
    from prefect import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(run_id)
            if run.state is not None and run.state.is_final():
                return
            time.sleep(0.25)


def warm_latency(ctx: IntakeContext, name: str, data: bytes, stamp: str) -> dict[str, float]:
    """The same package's work in a warm process, split by step (no Prefect, no start-up)."""
    from medlicense.intake import check_package_bytes
    from medlicense.processing import receipt_data, receipt_number

    s = ctx.settings
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    [key] = upload(ctx.store, s, f"warm-{stamp}", [(name, data)])
    got = ctx.store.get_bytes(s.bucket_uploads, key)
    out["store"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    received = dt.datetime.now(dt.UTC)
    verdict = check_package_bytes(got, name, rulebook=ctx.rulebook, received_at=received)
    out["read and judge"] = time.perf_counter() - t0
    number = receipt_number(application_id(key))
    t0 = time.perf_counter()
    pdf = ctx.renderer.render_receipt(receipt_data(ctx, verdict, number, received))
    out["render"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    signed = ctx.sign(pdf, document_type="receipt", document_number=number)
    out["sign"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ctx.store.put_bytes(
        s.bucket_artifacts, f"bench/warm/{number}.pdf", signed, content_type="application/pdf"
    )
    out["store"] += time.perf_counter() - t0
    out["total"] = sum(out.values())
    return out
