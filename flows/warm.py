"""Flow runs of the pipeline's deployments executed inside a long-lived process.

Prefect's runner and process workers start every flow run in a new process:
seconds of start-up (Python, Prefect, the signing key, fonts, rules) per run.
For an intake batch of one package that is most of its latency; for a review
run, which spends its life suspended and runs for a moment before and after
the person's form, it is nearly all of its cost.  ``medlicense serve``
therefore executes the intake and review deployments' runs itself, on a few
threads, where :func:`medlicense.workers.shared_pool` and the signing context
stay warm between runs.  The daily report keeps Prefect's runner.

A run is taken the way Prefect's runner takes one: it must be due, and the
server must accept its move to Pending, which only one taker can win, so two
``serve`` processes never execute the same run.  A suspended review that a
person resumes is scheduled again and taken again the same way.  The price:
cancelling a run from the UI is not enforced in the middle of it; every write
is create-only, so a second run simply finds the rest.

Runs taken here send no flow-run heartbeats.  Prefect's heartbeat thread sleeps
in whole seconds and each run's end waits for it (0.5 s on average, for every
review run of a batch), and what a heartbeat would tell, that the process
executing the run is alive, is the serving process's own liveness here: its
claims go stale when it dies and the next batch takes their packages over.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import Any

from prefect import Flow, get_client
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterNextScheduledStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import PrefectSignal
from prefect.flow_engine import run_flow
from prefect.settings import temporary_settings
from prefect.states import Pending

from medlicense.memory import release_free_memory
from medlicense.settings import Settings
from medlicense.workers import shared_pool

log = logging.getLogger(__name__)


class WarmRunner:
    """Polls deployments for due runs and executes them on threads of this process."""

    def __init__(
        self,
        settings: Settings,
        flows: dict[uuid.UUID, Flow[..., Any]],
        *,
        # Half a second: an upload's run waits a quarter of a second on average to be
        # taken (a quarter of the two-second target for a single package), for one
        # small query more per second while idle.
        poll_seconds: float = 0.5,
        threads: int = 4,
    ) -> None:
        self.settings = settings
        self.flows = flows
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="warm-runner", daemon=True)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="warm-run")
        self._running: dict[uuid.UUID, Future[None]] = {}
        self._lock = threading.Lock()
        self.executed: list[uuid.UUID] = []
        self._client: SyncPrefectClient | None = None
        self._client_lock = threading.Lock()

    @contextmanager
    def _api(self) -> Iterator[SyncPrefectClient]:
        """One client for every poll: opening one builds an SSL context and a
        connection pool, which once a second was a steady few percent of a core."""
        with self._client_lock:
            if self._client is None:
                self._client = get_client(sync_client=True).__enter__()
            client = self._client
            try:
                yield client
            except Exception:
                # A broken connection must not stick: the next call opens a new client.
                self._client = None
                with suppress(Exception):
                    client.__exit__(None, None, None)
                raise

    def _close_client(self) -> None:
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            with suppress(Exception):
                client.__exit__(None, None, None)

    def due_runs(self) -> list[FlowRun]:
        with self._api() as client:
            return client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=list(self.flows))),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])
                    ),
                    next_scheduled_start_time=FlowRunFilterNextScheduledStartTime(
                        before_=dt.datetime.now(dt.UTC)
                    ),
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                limit=50,
            )

    def _take(self, run: FlowRun) -> bool:
        with self._api() as client:
            answer: Any = client.set_flow_run_state(run.id, Pending())
        return str(answer.status.value).upper() == "ACCEPT"

    def _execute(self, run: FlowRun) -> None:
        assert run.deployment_id is not None
        flow_obj = self.flows[run.deployment_id]
        log.info("flow run %s (%s) in this process", run.name, run.id)
        try:
            with temporary_settings(updates={"flows.heartbeat_frequency": None}):
                run_flow(flow_obj, flow_run=run, parameters=dict(run.parameters))
        except (Exception, PrefectSignal):
            # The engine has recorded the run's end (failed, or suspended for a
            # person); this thread goes on to the next run either way.
            log.debug("flow run %s ended by an exception", run.id, exc_info=True)
        finally:
            with self._lock:
                self._running.pop(run.id, None)
                self.executed.append(run.id)

    def submit_due(self) -> list[Future[None]]:
        """Take every due run and start it on a thread; returns their futures."""
        started = []
        for run in self.due_runs():
            with self._lock:
                if run.id in self._running:
                    continue
            if self._stop.is_set() or not self._take(run):
                continue
            future = self._pool.submit(self._execute, run)
            with self._lock:
                self._running[run.id] = future
            started.append(future)
        return started

    def run_due(self) -> int:
        """Execute every due run and wait for them; returns how many were executed."""
        futures = self.submit_due()
        for future in futures:
            future.result()
        return len(futures)

    def _loop(self) -> None:
        # Workers start before the first run: a run's latency should not include them.
        try:
            shared_pool(self.settings).warm_up()
        except Exception:
            log.exception("warming the worker pool failed; the first run will try again")
        while not self._stop.is_set():
            try:
                self.submit_due()
            except Exception:
                # The server being away for a moment must not end the serving.
                log.exception("polling the intake deployment failed")
            # A batch's task runs free their objects when it ends; hand the pages back
            # so the serving process does not settle at its largest batch.
            release_free_memory(at_most_every=10.0)
            self._stop.wait(self.poll_seconds)

    def start(self) -> WarmRunner:
        self._thread.start()
        return self

    def stop(self, timeout: float = 600.0) -> None:
        """Take no new runs; let the runs in progress finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._pool.shutdown(wait=True)
        self._close_client()

    def __enter__(self) -> WarmRunner:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
