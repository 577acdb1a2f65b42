"""`medlicense serve` as an operator starts it: a process that takes intake and review runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medlicense.settings import Settings
from storage.client import ObjectStore

from .helpers import PLACE, package, upload, wait_for_state

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def serving(s3_server: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from flows.context import dev_pki_services

    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with dev_pki_services(s3_server), prefect_test_harness(server_startup_timeout=120):
        api = str(PREFECT_API_URL.value())
        env = {**os.environ, "PREFECT_API_URL": api, "MEDLICENSE_PREFECT_API_URL": api}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "medlicense.cli", "serve"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=ROOT,
            )
        try:
            _wait_for_deployments(s3_server, proc, log)
            yield api
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise AssertionError("serve did not stop on SIGTERM") from None


def _wait_for_deployments(settings: Settings, proc: subprocess.Popen[bytes], log: Path) -> None:
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    from flows.deploy import intake_deployment_name, review_deployment_name

    wanted = [
        f"intake-batch/{intake_deployment_name(settings)}",
        f"review-application/{review_deployment_name(settings)}",
    ]
    deadline = time.monotonic() + 120
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text(errors="replace")
            try:
                for name in wanted:
                    client.read_deployment_by_name(name)
                return
            except ObjectNotFound:
                time.sleep(1)
    raise AssertionError("serve never registered its deployments:\n" + log.read_text())


def _event_names(run_id: Any, *, until_seen: str, timeout: float = 60) -> set[str]:
    """Names of the stored events about one flow run, once ``until_seen`` is among them
    (events are stored in batches, a moment after they happen)."""
    from prefect import get_client
    from prefect.events.filters import EventFilter, EventResourceFilter

    wanted = EventFilter(resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}"]))
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            names = {e.event for e in client.read_events(wanted, limit=50).events}
            if until_seen in names:
                return names
            assert time.monotonic() < deadline, f"{until_seen} never stored; got {names}"
            time.sleep(1)


def test_an_intake_run_is_served_and_its_review_waits_for_a_person(
    serving: str, s3_server: Settings
) -> None:
    from prefect import get_client
    from prefect.deployments import run_deployment

    from flows.deploy import intake_deployment_name
    from medlicense.processing import processed_key

    [app_id] = upload(s3_server, "serve", {"s.zip": package(500, places=[PLACE])}).values()
    run: Any = run_deployment(f"intake-batch/{intake_deployment_name(s3_server)}", timeout=0)
    store = ObjectStore.from_settings(s3_server)
    deadline = time.monotonic() + 120
    while not store.exists(s3_server.bucket_artifacts, processed_key(app_id)):
        assert time.monotonic() < deadline, "the served intake run produced no receipt"
        time.sleep(0.5)
    with get_client(sync_client=True) as client:
        while True:
            state = client.read_flow_run(run.id).state
            if state is not None and state.is_final():
                break
            assert time.monotonic() < deadline, f"the intake run did not finish: {state}"
            time.sleep(0.5)
    assert state.type.value == "COMPLETED"
    # Runs executed inside the serving process send no heartbeats (the engine would wait
    # for the heartbeat thread's sleep at the end of every run).
    names = _event_names(run.id, until_seen="prefect.flow-run.Completed")
    assert "prefect.flow-run.Running" in names
    assert "prefect.flow-run.heartbeat" not in names
    # The manual policy: the accepted application's review run, taken by the same
    # serving process, waits for the executor's form.
    wait_for_state(app_id, {"PAUSED"}, timeout=120)
    # A second batch on the same serving process (its workers are warm by now).
    [second] = upload(s3_server, "serve-2", {"t.zip": package(501, places=[PLACE])}).values()
    run_deployment(f"intake-batch/{intake_deployment_name(s3_server)}", timeout=0)
    deadline = time.monotonic() + 60
    while not store.exists(s3_server.bucket_artifacts, processed_key(second)):
        assert time.monotonic() < deadline, "the second served intake run produced no receipt"
        time.sleep(0.5)
