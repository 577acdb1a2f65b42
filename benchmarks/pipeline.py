"""The pipeline scenario (Prefect against a Prefect server) and its plain-loop twin.

Both run the same stage functions on the same packages (uploaded under
different keys, so each is new to its side): ``process_package`` per package,
then for each accepted application the ``auto`` review (assign, decide, record,
issue or refuse).  The pipeline does it as the intake flow (a pool of worker
processes, one per core) and one review flow run per application, served by a
runner; the loop does it in a ``ProcessPoolExecutor`` of the same size.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from medlicense.models import Outcome
from medlicense.processing import (
    IntakeContext,
    application_id,
    claim_package,
    intake_context,
    process_package,
)
from medlicense.settings import Settings, get_settings
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


def _count_final_reviews(expected: int, timeout: float) -> dict[str, int]:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    from flows.context import REVIEW_FLOW

    states = [StateType(s) for s in FINAL_STATES]
    deadline = time.monotonic() + timeout
    counts: Counter[str] = Counter()
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            counts = Counter()
            offset = 0
            while True:
                runs = client.read_flow_runs(
                    flow_filter=FlowFilter(name=FlowFilterName(any_=[REVIEW_FLOW])),
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=states))
                    ),
                    limit=200,
                    offset=offset,
                )
                counts.update(r.state.type.value for r in runs if r.state is not None)
                if len(runs) < 200:
                    break
                offset += 200
            if sum(counts.values()) >= expected:
                break
            time.sleep(0.5)
    return dict(counts)


def run_pipeline(settings: Settings, keys: list[str], *, review_timeout: float) -> RunResult:
    """The intake flow once on the uploaded ``keys``, then wait for every review run."""
    from flows.intake import intake_batch

    t0 = time.perf_counter()
    results = intake_batch()
    t1 = time.perf_counter()
    accepted = [r for r in results if r.outcome is Outcome.ACCEPTED]
    reviews = _count_final_reviews(len(accepted), review_timeout)
    t2 = time.perf_counter()
    return RunResult(
        packages=len(keys),
        seconds=t2 - t0,
        intake_seconds=t1 - t0,
        review_seconds=t2 - t1,
        outcomes=dict(Counter(r.outcome.value if r.outcome else "failed" for r in results)),
        reviews=reviews,
        issued_documents=_issued_documents(settings, [application_id(r.package) for r in accepted]),
        errors=sum(1 for r in results if r.error),
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

_worker_stack = ExitStack()
_worker_ctx: IntakeContext | None = None


def _worker_init() -> None:
    global _worker_ctx
    settings = get_settings()
    with (settings.data_dir / ".context.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _worker_ctx = _worker_stack.enter_context(intake_context(settings))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def review_auto(ctx: IntakeContext, app_id: str) -> str:
    """The review flow's work under the ``auto`` policy, without Prefect."""
    from medlicense.licensing import (
        LicensingError,
        auto_decision,
        begin_review,
        issue,
        record_decision,
        refuse,
        validate_decision,
    )
    from medlicense.records import Decision, HeadDecision
    from medlicense.register import Registry

    now = dt.datetime.now(dt.UTC)
    registry = Registry(ctx.store, ctx.settings)
    registry.dequeue_review(app_id)
    app = begin_review(ctx, app_id, now)
    decision = auto_decision(ctx, app)
    if decision is None:
        return "PAUSED"
    try:
        validate_decision(ctx, app, decision)
    except LicensingError:
        return "PAUSED"
    record_decision(ctx, registry.application(app_id), decision, round_no=1, at=now)
    head = HeadDecision(confirmed=True, actor=ctx.settings.head_name)
    if decision.decision is Decision.APPROVE:
        issue(ctx, app_id, decision, head, now)
    else:
        refuse(ctx, app_id, decision, head, now)
    return "COMPLETED"


def _loop_one(key: str) -> tuple[str, str | None, int]:
    ctx = _worker_ctx
    assert ctx is not None
    if not claim_package(ctx.store, ctx.settings, key, "bench-loop"):
        return "skipped", None, 0
    result = process_package(ctx, key)
    outcome = result.outcome.value if result.outcome else "failed"
    if result.outcome is not Outcome.ACCEPTED:
        return outcome, None, 0
    state = review_auto(ctx, application_id(key))
    return outcome, state, 0


def run_loop(settings: Settings, keys: list[str], workers: int) -> RunResult:
    """The same stage functions on a plain process pool; worker start-up is included, as
    the pipeline's task workers and review processes start inside its time too."""
    t0 = time.perf_counter()
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=_worker_init
    ) as pool:
        done = list(pool.map(_loop_one, keys))
    t1 = time.perf_counter()
    reviews = Counter(state for _, state, _ in done if state)
    accepted = [
        application_id(k) for k, (o, _, _) in zip(keys, done, strict=True) if o == "accepted"
    ]
    return RunResult(
        packages=len(keys),
        seconds=t1 - t0,
        intake_seconds=t1 - t0,
        review_seconds=0.0,
        outcomes=dict(Counter(o for o, _, _ in done)),
        reviews=dict(reviews),
        issued_documents=_issued_documents(settings, accepted),
    )


def single_latency(
    settings: Settings, store: ObjectStore, name: str, data: bytes, stamp: str
) -> dict[str, Any]:
    """Upload one package to an idle system and wait until its signed receipt is stored."""
    from flows.intake import intake_batch

    t0 = time.perf_counter()
    [key] = upload(store, settings, f"latency-{stamp}", [(name, data)])
    results = intake_batch()
    receipt = next((k for r in results for k in r.receipt_keys), None)
    stored = receipt is not None and store.exists(settings.bucket_artifacts, receipt)
    total = time.perf_counter() - t0
    return {"seconds": total, "receipt_stored": stored, "key": key}


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
