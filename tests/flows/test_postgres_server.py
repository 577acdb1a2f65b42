"""The Prefect server in its production configuration: PostgreSQL (local, 127.0.0.1:5432)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


FLOW = """
from prefect import flow, task

@task
def double(x: int) -> int:
    return 2 * x

@flow(name="postgres-smoke")
def smoke() -> int:
    return sum(double.map([1, 2, 3]).result())

assert smoke() == 12
"""


@pytest.mark.skipif(not _postgres_up(), reason="no PostgreSQL on 127.0.0.1:5432")
def test_prefect_server_runs_flows_on_postgresql(tmp_path: Path) -> None:
    from flows.server import PrefectServer

    asyncio.run(_create_database())
    settings = Settings(
        data_dir=tmp_path / "var",
        prefect_port=_free_port(),
        prefect_database_url=SecretStr(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}"),
    )
    server = PrefectServer(settings)
    server.up(timeout=180)
    try:
        env = {
            **os.environ,
            "PREFECT_API_URL": settings.resolved_prefect_api_url,
            "PREFECT_HOME": str(settings.prefect_home),
        }
        subprocess.run([sys.executable, "-c", FLOW], env=env, check=True, timeout=120)
        log = server.log_file.read_text(errors="replace")
        assert "sqlite" not in log.lower()
    finally:
        assert server.down()

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
