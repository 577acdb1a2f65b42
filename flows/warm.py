"""Runs of the intake deployment executed inside a long-lived process, on warm workers.

Prefect's runner and process workers start every flow run in a new process.
For a review run that is right (it spends its life suspended, waiting for a
person), but an intake run would then start a fresh worker pool each time:
seconds of start-up (Python, Prefect, the signing key, fonts, rules) for a
batch that may hold one package.  ``medlicense serve`` therefore executes the
intake deployment's runs itself, one after another, in its own process, where
:func:`medlicense.workers.shared_pool` stays warm between runs.

A run is taken the way Prefect's runner takes one: it must be due, and the
server must accept its move to Pending, which only one taker can win, so two
``serve`` processes never execute the same run.  The price: cancelling an
intake run from the UI is not enforced in the middle of a batch; every write
of a batch is create-only, so a second run simply finds the rest.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from typing import Any

from prefect import get_client
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
from prefect.flow_engine import run_flow
from prefect.states import Pending

from medlicense.settings import Settings
from medlicense.workers import shared_pool

from .intake import intake_batch

log = logging.getLogger(__name__)


class WarmIntakeRunner:
    """Polls the intake deployment for due runs and executes them in this process."""

    def __init__(
        self, settings: Settings, deployment_id: uuid.UUID, *, poll_seconds: float = 1.0
    ) -> None:
        self.settings = settings
        self.deployment_id = deployment_id
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="warm-intake", daemon=True)
        self.executed: list[uuid.UUID] = []

    def due_runs(self) -> list[FlowRun]:
        with get_client(sync_client=True) as client:
            return client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[self.deployment_id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])
                    ),
                    next_scheduled_start_time=FlowRunFilterNextScheduledStartTime(
                        before_=dt.datetime.now(dt.UTC)
                    ),
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                limit=10,
            )

    def _take(self, run: FlowRun) -> bool:
        with get_client(sync_client=True) as client:
            answer: Any = client.set_flow_run_state(run.id, Pending())
        return str(answer.status.value).upper() == "ACCEPT"

    def run_due(self) -> int:
        """Execute every due run once; returns how many this process executed."""
        count = 0
        for run in self.due_runs():
            if self._stop.is_set() or not self._take(run):
                continue
            log.info("intake run %s (%s) in this process", run.name, run.id)
            try:
                run_flow(intake_batch, flow_run=run, parameters=dict(run.parameters))
            except Exception:
                # The engine has already recorded the run as failed; the next one goes on.
                log.exception("intake run %s failed", run.id)
            self.executed.append(run.id)
            count += 1
        return count

    def _loop(self) -> None:
        # Workers start before the first run: a run's latency should not include them.
        try:
            shared_pool(self.settings).warm_up()
        except Exception:
            log.exception("warming the worker pool failed; the first run will try again")
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception:
                # The server being away for a moment must not end the serving.
                log.exception("polling the intake deployment failed")
            self._stop.wait(self.poll_seconds)

    def start(self) -> WarmIntakeRunner:
        self._thread.start()
        return self

    def stop(self, timeout: float = 600.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def __enter__(self) -> WarmIntakeRunner:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
