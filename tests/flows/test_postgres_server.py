"""The Prefect server in its production configuration: PostgreSQL (local, 127.0.0.1:5432)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr

from medlicense.settings import Settings

pytestmark = pytest.mark.slow
DSN = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "prefect_test"


def _postgres_up() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", 5432)) == 0


async def _create_database() -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{DSN}/postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


@contextmanager
def _peak_backends() -> Iterator[list[int]]:
    """The most backends of the test database seen while inside (sampled every 0.2 s)."""
    import asyncpg

    peak = [0]
    stop = threading.Event()

    async def sample() -> None:
        conn = await asyncpg.connect(f"{DSN}/postgres")
        try:
            while not stop.is_set():
                count = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", DATABASE
                )
                peak[0] = max(peak[0], int(count))
                await asyncio.sleep(0.2)
        finally:
            await conn.close()

    thread = threading.Thread(target=asyncio.run, args=(sample(),), daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


FLOW = """
import time

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

@task
def double(x: int) -> int:
    time.sleep(0.02)
    return 2 * x

# Sixteen task threads at once, as an intake batch runs them: with Prefect's default
# pool (5 + 10) the server opened 9 connections for this.
@flow(name="postgres-smoke", task_runner=ThreadPoolTaskRunner(max_workers=16))
def smoke() -> int:
    return sum(double.map(range(200)).result())

assert smoke() == 39800
"""
# Pool (3) and overflow (2) of flows.server.SERVER_POOL, and two connections outside
# the pool: the triggers service's LISTEN and one the server opens at start.
MAX_BACKENDS = 3 + 2 + 2


@pytest.mark.skipif(not _postgres_up(), reason="no PostgreSQL on 127.0.0.1:5432")
def test_prefect_server_runs_flows_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.server import SERVER_POOL, PrefectServer

    asyncio.run(_create_database())
    settings = Settings(
        data_dir=tmp_path / "var",
        prefect_port=_free_port(),
        prefect_database_url=SecretStr(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}"),
    )
    for name in (*SERVER_POOL, "PREFECT_SQLALCHEMY_POOL_SIZE", "PREFECT_SQLALCHEMY_MAX_OVERFLOW"):
        monkeypatch.delenv(name, raising=False)
    server = PrefectServer(settings)
    server.up(timeout=180)
    try:
        env = {
            **os.environ,
            "PREFECT_API_URL": settings.resolved_prefect_api_url,
            "PREFECT_HOME": str(settings.prefect_home),
        }
        with _peak_backends() as peak:
            subprocess.run([sys.executable, "-c", FLOW], env=env, check=True, timeout=180)
        log = server.log_file.read_text(errors="replace")
        assert "sqlite" not in log.lower()
    finally:
        assert server.down()
    assert 0 < peak[0] <= MAX_BACKENDS

    async def count_runs() -> int:
        import asyncpg

        conn = await asyncpg.connect(f"{DSN}/{DATABASE}")
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM flow_run fr JOIN flow f ON f.id = fr.flow_id "
                    "WHERE f.name = 'postgres-smoke' AND fr.state_type = 'COMPLETED'"
                )
            )
        finally:
            await conn.close()

    assert asyncio.run(count_runs()) >= 1
