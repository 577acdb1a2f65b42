"""Warm worker processes for the CPU-bound work: reading, rendering, signing.

A package costs a fraction of a second of work once a process has its
signing key parsed, its fonts and stylesheets loaded and its rules read;
building that context costs seconds.  So the work runs in a pool of plain
worker processes (one per core by default) that build the context once and
then serve job after job, for as long as the process that owns the pool
lives: the intake batch of ``medlicense serve``, of the demo or of a
benchmark.  The workers never import Prefect: the flow's task runs stay in the
owning process (cheap threads that wait on a job each), and the workers stay
small.

Jobs are plain functions of :mod:`medlicense.processing` and
:mod:`medlicense.autoreview`; the pool adds nothing to them but the warm
context, so the plain-loop benchmark and the flows run exactly the same code.
"""

from __future__ import annotations

import atexit
import datetime as dt
import fcntl
import gc
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from multiprocessing import get_context
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from medlicense.errors import MedLicenseError, StorageUnavailable, TimestampError
from medlicense.memory import limit_arenas, release_free_memory
from medlicense.models import Outcome, ReceiptResult
from medlicense.processing import (
    IntakeContext,
    application_id,
    claim_package,
    intake_context,
    process_package,
)
from medlicense.records import ServiceResult
from medlicense.register import UnitOfWork
from medlicense.review_page import ReviewHandover
from medlicense.settings import Settings

T = TypeVar("T")
log = logging.getLogger(__name__)


class WorkerCrashed(MedLicenseError):
    """A worker process died (killed, out of memory, a crash in a native library)."""

    default_code = "internal.worker_crashed"


# --- inside a worker process -------------------------------------------------------------------

_stack = ExitStack()
_ctx: IntakeContext | None = None


def _init_worker(settings: Settings) -> None:
    global _ctx
    limit_arenas()  # the HTTP clients and asyncio helpers of signing start threads
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Workers start together; the first one may create the development PKI, and
    # the others must not create a second one over it.
    with (settings.data_dir / ".context.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _ctx = _stack.enter_context(intake_context(settings))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    atexit.register(_stack.close)
    # The context (fonts, stylesheets, rules, certificates) lives as long as the
    # worker: keep it out of the collector's scans, and let the young generation
    # grow before a collection; a render makes tens of thousands of short-lived
    # objects, and full collections over the context cost ~25 ms per document.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 10)


def worker_context() -> IntakeContext:
    if _ctx is None:
        raise RuntimeError("not inside a worker of medlicense.workers.WorkerPool")
    return _ctx


class PackageOutcome(BaseModel):
    """What the worker did with one package: its receipt and, under the ``auto``
    policy, the decision made on the spot (None: a person decides)."""

    model_config = ConfigDict(frozen=True)

    receipt: ReceiptResult
    decided: ServiceResult | None = None
    # The auto review failed (storage down, say): the application stays queued and
    # its review run takes it over, so the receipt stands.
    auto_review_error: str | None = None
    # A person decides: the review run's first form, ready (None: the run builds it).
    handover: ReviewHandover | None = None


def failed(key: str, code: str, detail: str | None = None) -> PackageOutcome:
    """The outcome of a package whose job failed: no receipt, the error's code and message."""
    return PackageOutcome(receipt=ReceiptResult(package=key, error=code, reason=detail))


def _package_job(key: str, owner: str) -> PackageOutcome | None:
    try:
        return _handle_package(key, owner)
    finally:
        # A render or a large package leaves the heap at its high-water mark; over a
        # batch a worker otherwise settles at its worst job (see medlicense.memory).
        release_free_memory()


def _handle_package(key: str, owner: str) -> PackageOutcome | None:
    from medlicense.autoreview import auto_review, can_auto_review
    from medlicense.register import unit_of_work

    ctx = worker_context()
    # One unit of work: the application's record.json is rebuilt once, at the end (also
    # when the job fails), and its create-only records are fetched once.
    with unit_of_work() as unit:
        if not claim_package(ctx.store, ctx.settings, key, owner):
            return None  # another intake run is on it
        receipt = process_package(ctx, key)
        if receipt.outcome is not Outcome.ACCEPTED:
            return PackageOutcome(receipt=receipt)
        app_id = application_id(key)
        now = dt.datetime.now(dt.UTC)
        if not can_auto_review(ctx):
            return PackageOutcome(receipt=receipt, handover=_handover(ctx, unit, app_id, now))
        try:
            decided = auto_review(ctx, app_id, now)
            # Inside the try: a refresh that fails fails the auto review, as it did
            # when each step refreshed the record itself; the receipt stands.
            unit.flush()
        except MedLicenseError as exc:
            unit.flush(cause=exc)  # what the review did before failing, as far as possible
            return PackageOutcome(receipt=receipt, auto_review_error=exc.code)
        if decided is not None:
            return PackageOutcome(receipt=receipt, decided=decided)
        return PackageOutcome(receipt=receipt, handover=_handover(ctx, unit, app_id, now))


def _handover(
    ctx: IntakeContext, unit: UnitOfWork, app_id: str, now: dt.datetime
) -> ReviewHandover | None:
    """The review run's first form, or None: the run then builds it itself, as before."""
    from medlicense.review_page import prepare_handover

    try:
        handover = prepare_handover(ctx, app_id, now)
        unit.flush()
    except MedLicenseError as exc:
        unit.flush(cause=exc)
        log.warning("review hand-over of %s not prepared (%s); its run prepares it", app_id, exc)
        return None
    return handover


def _warm_job() -> int:
    worker_context()
    return os.getpid()


# --- in the owning process ---------------------------------------------------------------------


class _Executor(ProcessPoolExecutor):
    """A process pool that replaces every worker leaving at its job limit.

    CPython 3.11 up to the fix of gh-115634 decides whether a worker that left
    at ``max_tasks_per_child`` needs a replacement by a semaphore that counts
    finished jobs rather than idle workers.  With jobs queued (an intake group
    queues sixteen) the count is stale, no replacement starts, and once every
    worker has left the queued jobs wait forever.  This pool starts all of its
    workers at once anyway (:class:`WorkerPool`), so it simply tops itself up
    to its size whenever it is short of a worker.
    """

    def _adjust_process_count(self) -> None:
        # Private attributes of the standard library's pool (typeshed leaves two out);
        # tests/test_worker_recycling.py fails if they change.
        size: int = self._max_workers  # type: ignore[attr-defined]
        if len(self._processes) < size:
            self._spawn_process()  # type: ignore[attr-defined]


def default_size(settings: Settings) -> int:
    return settings.workers or os.cpu_count() or 1


class WorkerPool:
    """A process pool whose workers each hold an :class:`IntakeContext`."""

    def __init__(self, settings: Settings, size: int | None = None) -> None:
        self.settings = settings
        self.size = size or default_size(settings)
        # spawn, not fork: the owner runs threads (Prefect, HTTP clients) and a
        # forked child could inherit a lock some other thread held.  (A fork server
        # preloading the libraries was tried: the workers' PSS fell by ~35 MiB in
        # all, reference counting soon un-shares the pages, and the server's own
        # process costs more RSS than that.)
        self._pool = _Executor(
            max_workers=self.size,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(settings,),
            max_tasks_per_child=settings.worker_max_tasks or None,
        )

        # Start every worker now.  The executor starts a worker per submitted job
        # only while none is idle, and it counts finished jobs as idle workers, so a
        # pool whose first batch held one package would otherwise stay at one.
        self._started = [self._pool.submit(_warm_job) for _ in range(self.size)]

    def warm_up(self) -> list[int]:
        """Wait until every worker has built its context; returns the worker pids."""
        return sorted({self._result(f) for f in self._started})

    def handle_packages(
        self, keys: Sequence[str], owner: str, *, retry_delays: Sequence[float] = ()
    ) -> list[PackageOutcome | None]:
        """A group of packages at once, an outcome each, in order; None: claimed elsewhere.

        A package's failure is its own outcome (a receipt with the error's code),
        never the group's.  Storage and TSA outages usually heal within minutes:
        such a package is tried again after each of ``retry_delays``, which is safe
        because every write of a job is create-only or rewrites the same bytes.
        """
        futures = [self._pool.submit(_package_job, key, owner) for key in keys]
        return [
            self._settle(key, owner, future, retry_delays)
            for key, future in zip(keys, futures, strict=True)
        ]

    def _settle(
        self,
        key: str,
        owner: str,
        future: Future[PackageOutcome | None],
        retry_delays: Sequence[float],
    ) -> PackageOutcome | None:
        delays = list(retry_delays)
        while True:
            try:
                return self._result(future)
            except (StorageUnavailable, TimestampError) as exc:
                if not delays:
                    return failed(key, exc.code, exc.message)
                log.warning("package %s: %s; tried again in %.0f s", key, exc, delays[0])
                time.sleep(delays.pop(0))
                try:
                    future = self._pool.submit(_package_job, key, owner)
                except RuntimeError:  # the pool was shut down (a worker died meanwhile)
                    return failed(key, WorkerCrashed.default_code, "the worker pool was shut down")
            except MedLicenseError as exc:
                return failed(key, exc.code, exc.message)
            except Exception as exc:
                # Bad input must not end the batch: the package carries a code, its bytes stay.
                log.exception("package %s failed unexpectedly", key)
                return failed(key, "internal.unexpected", repr(exc))

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        return self._pool.submit(fn, *args)

    def _result(self, future: Future[T]) -> T:
        try:
            return future.result()
        except BrokenProcessPool as exc:
            _discard(self)
            raise WorkerCrashed(f"a worker process died: {exc}") from exc

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


_shared: WorkerPool | None = None
_shared_lock = threading.Lock()


def shared_pool(settings: Settings) -> WorkerPool:
    """The pool of this process, started on first use and kept warm until it exits.

    A pool built for other settings (a test switching installations) is replaced.
    """
    global _shared
    with _shared_lock:
        if _shared is not None and _shared.settings != settings:
            _shared.close()
            _shared = None
        if _shared is None:
            _shared = WorkerPool(settings)
        return _shared


def _discard(pool: WorkerPool) -> None:
    global _shared
    with _shared_lock:
        if _shared is pool:
            _shared = None
    pool._pool.shutdown(wait=False, cancel_futures=True)


def close_shared_pool() -> None:
    global _shared
    with _shared_lock:
        pool, _shared = _shared, None
    if pool is not None:
        pool.close()


atexit.register(close_shared_pool)
