"""Workers are replaced after ``MEDLICENSE_WORKER_MAX_TASKS`` jobs, and a batch goes on.

Python 3.11's own pool (CPython gh-115634) stops replacing workers that leave
at their job limit while jobs are queued, and the batch then waits forever;
:class:`medlicense.workers._Executor` tops the pool up itself.
"""

from __future__ import annotations

import os
import time
from multiprocessing import get_context

import pytest

from medlicense.settings import Settings
from medlicense.workers import WorkerPool, _Executor, worker_context

pytestmark = pytest.mark.timeout(180)


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _pid_with_context() -> int:
    worker_context()  # raises outside a worker that built its context
    return os.getpid()


def test_queued_jobs_go_on_after_every_worker_reached_its_limit() -> None:
    """Ten jobs queued at once on one worker that leaves after two: five workers in turn.
    The standard library's pool stops after the second job (the test then times out)."""
    with _Executor(1, mp_context=get_context("spawn"), max_tasks_per_child=2) as pool:
        futures = [pool.submit(_pid_after, 0.01) for _ in range(10)]
        pids = [f.result(timeout=60) for f in futures]
    assert len(set(pids)) == 5
    # Two jobs a worker, in order: no worker took a third.
    assert all(pids.count(pid) == 2 for pid in pids)


def test_the_pool_replaces_its_warm_workers_and_finishes_the_batch(s3_server: Settings) -> None:
    """Each replacement builds the context again (key, fonts, rules) before its first job."""
    settings = s3_server.model_copy(update={"worker_max_tasks": 2})
    pool = WorkerPool(settings, 1)
    try:
        first = pool.warm_up()
        futures = [pool.submit(_pid_with_context) for _ in range(6)]
        pids = [f.result(timeout=120) for f in futures]
    finally:
        pool.close()
    # The warm-up job counts as the first worker's first job.
    assert pids[0] == first[0] and len(set(pids)) == 4
