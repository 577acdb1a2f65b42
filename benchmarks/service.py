"""The system under test: ``medlicense serve`` in a process of its own.

The pipeline scenarios measure what an operator runs: one serving process
(intake and review runs on its threads, its warm worker pool and their guarded
readers), the Prefect server and the S3 server.  The benchmark's driver (the
generated packages, the stage micro-benchmarks' own context, the plain-loop
pool) lives in another process, so its memory is not counted as the
pipeline's, and it asks for intake runs the way the schedule or an operator
does: a run of the intake deployment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from benchmarks.env import PROJECT_DIR
from medlicense.settings import Settings

# Schedules that do not fire during a benchmark: the driver requests every run.
NEVER = "0 0 1 1 *"


class ServeProcess:
    """Starts ``medlicense serve`` with the benchmark's settings; stops it on exit."""

    def __init__(self, settings: Settings, log: Path, *, timeout: float = 180.0) -> None:
        self.settings = settings
        self.log = log
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def intake_deployment(self) -> str:
        from flows.deploy import intake_deployment_name

        return f"intake-batch/{intake_deployment_name(self.settings)}"

    def __enter__(self) -> ServeProcess:
        from signing.pki import TSA_PATH
        from signing.services import services_url

        env = {
            **os.environ,
            "MEDLICENSE_INTAKE_CRON": NEVER,
            "MEDLICENSE_REPORT_CRON": NEVER,
            # Production shape: the timestamp authority is the CA's, outside the system.
            # The driver hosts the development one for every scenario (the plain loop
            # uses it too), so the serving process neither hosts nor imports one.
            "MEDLICENSE_TSA_URL": self.settings.tsa_url or services_url(self.settings) + TSA_PATH,
        }
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "medlicense.cli", "serve"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=PROJECT_DIR,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        """Until the deployments exist and one (empty) intake run has completed: the
        serving process has then warmed its worker pool, as a long-running one has."""
        from prefect import get_client
        from prefect.deployments import run_deployment
        from prefect.exceptions import ObjectNotFound

        assert self.proc is not None
        deadline = time.monotonic() + self.timeout
        with get_client(sync_client=True) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("medlicense serve exited:\n" + self._log_tail())
                try:
                    client.read_deployment_by_name(self.intake_deployment)
                    break
                except ObjectNotFound:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            "medlicense serve registered no deployment:\n" + self._log_tail()
                        ) from None
                    time.sleep(0.5)
        run = run_deployment(
            self.intake_deployment,
            flow_run_name="benchmark warm-up",
            timeout=max(deadline - time.monotonic(), 10.0),
        )
        state = getattr(run, "state", None)
        if state is None or not state.is_completed():
            raise RuntimeError(f"the warm-up intake run ended {state!r}:\n" + self._log_tail())

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
