"""Running the Prefect server that operators open in a browser.

``medlicense server up`` starts ``prefect server start`` in the background with
its home (and SQLite database, unless a PostgreSQL URL is configured) under
``<data_dir>/prefect``, and waits until its API answers.  The environment for
talking to it is set in one place, :func:`prefect_env`, before Prefect is
imported by the flows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from medlicense.errors import ConfigurationError
from medlicense.settings import Settings


def prefect_env(settings: Settings, *, server: bool = False) -> dict[str, str]:
    """Environment variables that point Prefect at our home, database and API."""
    home = settings.prefect_home.resolve()
    env = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": settings.resolved_prefect_api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "true",
        # Results must outlive the process: paused reviews resume from them.
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "results"),
    }
    if server:
        env["PREFECT_SERVER_API_HOST"] = "127.0.0.1"
        env["PREFECT_SERVER_API_PORT"] = str(settings.prefect_port)
        if settings.prefect_database_url is not None:
            env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = (
                settings.prefect_database_url.get_secret_value()
            )
    return env


# The server's connection pool on PostgreSQL.  Prefect's default (5 kept, 10 more
# under load) grew to ~15 backends in a benchmark batch, a PostgreSQL process of
# ~7 MiB each.  The API and all the server's services share this one pool (only
# the triggers service holds a connection of its own, for LISTEN); 3 + 2 recorded
# 1,800 task runs from 16 threads as fast as the default (12 s), 2 + 1 took 16 s.
SERVER_POOL = {
    "PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE": "3",
    "PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW": "2",
}
# Prefect also reads these older names; a value set under either one is the operator's.
_POOL_ALIASES = {
    "PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE": "PREFECT_SQLALCHEMY_POOL_SIZE",
    "PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW": "PREFECT_SQLALCHEMY_MAX_OVERFLOW",
}


# Prefect records task runs from their clients' events, by default in one database
# transaction per event.  A batch of packages sends hundreds of them in bursts; written
# up to a hundred at a time (and at least every second, so the UI lags by a second at
# most) the server spent about a fifth less CPU on a 200-package benchmark batch
# (5.8 core-s against 7.0-8.6, together with 16 packages per task run instead of 8).
SERVER_TASK_RUN_RECORDER = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
}


def server_env(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of the ``prefect server start`` that :class:`PrefectServer` runs."""
    env = {**environ, **prefect_env(settings, server=True)}
    # The server's API and services run on dozens of threads (uvicorn, the
    # services' loops, the database pool); glibc's default of up to 16 malloc
    # arenas on two cores lets its heap settle well above what it holds, as in our
    # own serving process (medlicense.memory.limit_arenas).
    env.setdefault("MALLOC_ARENA_MAX", "2")
    for name, value in SERVER_TASK_RUN_RECORDER.items():
        env.setdefault(name, value)
    url = settings.prefect_database_url
    if url is not None and url.get_secret_value().startswith("postgresql"):
        for name, value in SERVER_POOL.items():
            if name not in environ and _POOL_ALIASES[name] not in environ:
                env[name] = value
    return env


def apply_prefect_env(settings: Settings) -> None:
    """Point this process's Prefect client at the configured server (call before importing prefect)."""
    for key, value in prefect_env(settings).items():
        os.environ.setdefault(key, value)
    settings.prefect_home.mkdir(parents=True, exist_ok=True)


class PrefectServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.prefect_home.resolve()
        self.pid_file = self.home / "server.pid"
        self.log_file = self.home / "server.log"
        self.api_url = settings.resolved_prefect_api_url
        self.ui_url = self.api_url.removesuffix("/api")

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        return pid

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/health", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def up(self, timeout: float = 120.0) -> None:
        if self.healthy():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        prefect = Path(sys.executable).parent / "prefect"
        if not prefect.exists():
            raise ConfigurationError(
                "the prefect command is not installed", code="config.prefect_missing"
            )
        env = server_env(self.settings, os.environ)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                [
                    str(prefect),
                    "server",
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.settings.prefect_port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ConfigurationError(
                    f"the Prefect server exited with status {proc.returncode}; see {self.log_file}",
                    code="config.prefect_start_failed",
                )
            if self.healthy():
                return
            time.sleep(0.5)
        self.down()
        raise ConfigurationError(
            f"the Prefect server did not answer within {timeout:.0f} s; see {self.log_file}",
            code="config.prefect_start_timeout",
        )

    def down(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        # The server runs in its own session; stop the whole group (uvicorn workers too).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.pid() is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.2)
        if self.pid() is not None:
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True
