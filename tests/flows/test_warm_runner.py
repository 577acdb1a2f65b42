"""`medlicense serve` executes intake runs in its own process, on workers that stay warm."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from medlicense.settings import Settings
from storage.client import ObjectStore

from .helpers import PLACE, package, upload


@pytest.fixture(scope="module")
def intake_deployment(s3_server: Settings) -> Iterator[uuid.UUID]:
    from prefect.testing.utilities import prefect_test_harness

    from flows.context import dev_pki_services
    from flows.deploy import deployments

    with dev_pki_services(s3_server), prefect_test_harness(server_startup_timeout=120):
        intake = deployments(s3_server)[0]
        deployment_id: Any = intake.apply()
        yield deployment_id


def _run_now(deployment_id: uuid.UUID) -> uuid.UUID:
    from prefect.deployments import run_deployment

    run: Any = run_deployment(deployment_id, timeout=0)
    return uuid.UUID(str(run.id))


def _state(run_id: uuid.UUID) -> str:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    assert run.state is not None
    return run.state.type.value


def test_due_runs_execute_here_on_the_same_warm_workers(
    intake_deployment: uuid.UUID, s3_server: Settings
) -> None:
    from flows.intake import intake_batch
    from flows.warm import WarmRunner
    from medlicense.processing import processed_key
    from medlicense.workers import shared_pool

    runner = WarmRunner(s3_server, {intake_deployment: intake_batch})
    store = ObjectStore.from_settings(s3_server)
    pids = []
    for round_no in range(2):
        [app_id] = upload(
            s3_server, f"warm-{round_no}", {"a.zip": package(400 + round_no, places=[PLACE])}
        ).values()
        run_id = _run_now(intake_deployment)
        t0 = time.monotonic()
        assert runner.run_due() == 1
        elapsed = time.monotonic() - t0
        assert _state(run_id) == "COMPLETED"
        assert run_id in runner.executed
        assert store.exists(s3_server.bucket_artifacts, processed_key(app_id))
        pids.append(shared_pool(s3_server).warm_up())
        print(f"round {round_no}: {elapsed:.2f} s")
    # The second run found the workers of the first: nothing was started again.
    assert pids[0] == pids[1]


def test_a_run_is_executed_by_one_taker_only(
    intake_deployment: uuid.UUID, s3_server: Settings
) -> None:
    from flows.intake import intake_batch
    from flows.warm import WarmRunner

    first = WarmRunner(s3_server, {intake_deployment: intake_batch})
    second = WarmRunner(s3_server, {intake_deployment: intake_batch})
    run_id = _run_now(intake_deployment)
    [due] = [r for r in first.due_runs() if r.id == run_id]
    assert first._take(due)
    assert not second._take(due), "a second taker won a run already taken"
    # Taken (Pending) runs are no longer due for anyone.
    assert run_id not in {r.id for r in second.due_runs()}
