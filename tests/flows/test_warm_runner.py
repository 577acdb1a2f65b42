"""How ``medlicense serve`` takes runs: one taker per run.

Execution itself is tested through the real process in test_serve.py: flow
runs executed on a thread of the pytest process leave Prefect's log and event
workers bound to that thread's loop, and the test harness then hangs draining
them when it stops.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from medlicense.settings import Settings


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


def test_a_run_is_executed_by_one_taker_only(
    intake_deployment: uuid.UUID, s3_server: Settings
) -> None:
    from flows.intake import intake_batch
    from flows.warm import WarmRunner

    first = WarmRunner(s3_server, {intake_deployment: intake_batch})
    second = WarmRunner(s3_server, {intake_deployment: intake_batch})
    try:
        run_id = _run_now(intake_deployment)
        [due] = [r for r in first.due_runs() if r.id == run_id]
        assert first._take(due)
        assert not second._take(due), "a second taker won a run already taken"
        # Taken (Pending) runs are no longer due for anyone.
        assert run_id not in {r.id for r in second.due_runs()}
    finally:
        first.stop()
        second.stop()
