"""An isolated installation for one benchmark run: its own data directory and free ports.

Nothing is shared with ``./run demo`` or a developer's running services: the
run gets ``var/bench/<stamp>/`` (S3 data, PKI, Prefect home and SQLite
database) and free ports for SeaweedFS, the Prefect server and the dev PKI
services.  Call :func:`isolate` before anything imports Prefect.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from medlicense.isolation import isolated_environment
from medlicense.settings import Settings, get_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent


def isolate(data_dir: Path, *, runner_limit: int) -> Settings:
    """Point every ``MEDLICENSE_*`` and ``PREFECT_*`` setting of this process (and its
    children) at ``data_dir`` and fresh ports; returns the settings."""
    env = {
        **isolated_environment(data_dir),
        "MEDLICENSE_REVIEW_POLICY": "auto",
        "MEDLICENSE_DEPLOYMENT_PREFIX": "bench",
    }
    for key in (
        "MEDLICENSE_PREFECT_API_URL",
        "MEDLICENSE_TSA_URL",
        "MEDLICENSE_PREFECT_DATABASE_URL",
    ):
        os.environ.pop(key, None)
    os.environ.update(env)
    get_settings.cache_clear()
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from flows.server import prefect_env

    os.environ.update(prefect_env(settings))
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    # Review runs are subprocesses of the runner; at most this many at a time.
    os.environ["PREFECT_RUNNER_PROCESS_LIMIT"] = str(runner_limit)
    # Spawned workers import the project from the checkout.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_DIR), os.environ.get("PYTHONPATH", "")) if p
    )
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    return settings


def start_local_services(settings: Settings, stack: ExitStack) -> tuple[Any, Any, Any]:
    """SeaweedFS with the buckets, the development PKI and its services, and an intake
    context in this process, each stopped by ``stack``; returns (seaweed, store, context)."""
    from flows.context import dev_pki_services
    from medlicense.processing import ensure_pki, intake_context
    from storage.cli import ensure_all_buckets
    from storage.client import ObjectStore
    from storage.server import SeaweedServer

    seaweed = SeaweedServer(settings)
    seaweed.up()
    stack.callback(seaweed.down)
    store = ObjectStore.from_settings(settings)
    ensure_all_buckets(store)
    ensure_pki(settings)
    stack.enter_context(dev_pki_services(settings))
    ctx = stack.enter_context(intake_context(settings))
    return seaweed, store, ctx


# --- the Prefect server's database -----------------------------------------------------------

DEFAULT_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432"


def _admin(dsn: str, statement: str | None = None) -> None:
    """Connect to the server's maintenance database and run ``statement`` (if any)."""
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(f"{dsn}/postgres", timeout=3)
        try:
            if statement is not None:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def postgres_reachable(dsn: str) -> bool:
    try:
        _admin(dsn)
    except Exception:
        return False
    return True


def use_postgres(dsn: str, database: str) -> Settings:
    """Create ``database`` on the PostgreSQL server at ``dsn`` and point the Prefect server
    of this installation at it (the production configuration); returns the settings."""
    _admin(dsn, f'CREATE DATABASE "{database}"')
    host = dsn.split("://", 1)[1]
    os.environ["MEDLICENSE_PREFECT_DATABASE_URL"] = f"postgresql+asyncpg://{host}/{database}"
    get_settings.cache_clear()
    settings = get_settings()
    from flows.server import prefect_env

    os.environ.update(prefect_env(settings))
    return settings


def drop_postgres(dsn: str, database: str) -> None:
    _admin(dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
