"""The environment of the Prefect server that flows.server starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from flows.server import SERVER_TASK_RUN_RECORDER, server_env
from medlicense.settings import Settings

POOL_SIZE = "PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE"
MAX_OVERFLOW = "PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW"
POSTGRES = SecretStr("postgresql+asyncpg://prefect@127.0.0.1:5432/prefect")


def test_a_server_on_postgresql_gets_a_small_connection_pool(tmp_path: Path) -> None:
    env = server_env(Settings(data_dir=tmp_path, prefect_database_url=POSTGRES), {})
    assert env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] == POSTGRES.get_secret_value()
    assert (env[POOL_SIZE], env[MAX_OVERFLOW]) == ("3", "2")


def test_the_operators_pool_settings_win(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, prefect_database_url=POSTGRES)
    env = server_env(settings, {POOL_SIZE: "20", "PREFECT_SQLALCHEMY_MAX_OVERFLOW": "0"})
    assert env[POOL_SIZE] == "20"
    # Set under Prefect's older name: ours must not shadow it under the newer one.
    assert MAX_OVERFLOW not in env
    assert env["PREFECT_SQLALCHEMY_MAX_OVERFLOW"] == "0"


def test_no_pool_settings_for_sqlite(tmp_path: Path) -> None:
    sqlite = SecretStr(f"sqlite+aiosqlite:///{tmp_path}/prefect.db")
    for url in (None, sqlite):
        env = server_env(Settings(data_dir=tmp_path, prefect_database_url=url), {"X": "1"})
        assert env["X"] == "1"
        assert POOL_SIZE not in env and MAX_OVERFLOW not in env


def test_the_server_gets_few_malloc_arenas_unless_the_operator_says(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert server_env(settings, {})["MALLOC_ARENA_MAX"] == "2"
    assert server_env(settings, {"MALLOC_ARENA_MAX": "8"})["MALLOC_ARENA_MAX"] == "8"


def test_the_server_records_task_runs_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The names are Prefect's own: its settings, read from the server's environment,
    carry the batch size and the flush interval (a misspelt name would be ignored)."""
    from prefect.settings.models.root import Settings as PrefectSettings

    env = server_env(Settings(data_dir=tmp_path), {})
    for name in SERVER_TASK_RUN_RECORDER:
        monkeypatch.setenv(name, env[name])
    recorder = PrefectSettings().server.services.task_run_recorder
    assert recorder.batch_size == 100
    assert recorder.flush_interval == 1
    # The operator's choice stands.
    name = "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"
    assert server_env(Settings(data_dir=tmp_path), {name: "1"})[name] == "1"
