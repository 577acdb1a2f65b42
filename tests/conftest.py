"""Shared fixtures: a real SeaweedFS S3 server and isolated settings for the session.

The S3 server runs on free ports in a temporary data directory, so the tests
never touch a developer's running ``medlicense storage up`` instance.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from medlicense.isolation import isolated_environment
from medlicense.settings import Settings, get_settings


@pytest.fixture(scope="session")
def test_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment for an isolated medlicense installation under a temp directory."""
    root = tmp_path_factory.mktemp("medlicense")
    env = {
        **isolated_environment(root / "var"),
        "MEDLICENSE_S3_ACCESS_KEY": "test-access",
        "MEDLICENSE_S3_SECRET_KEY": "test-secret-key",
        # Smaller than the default, so a test's dozen packages make several task runs.
        "MEDLICENSE_INTAKE_GROUP_SIZE": "5",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def settings(test_env: dict[str, str]) -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def s3_server(settings: Settings) -> Iterator[Settings]:
    """A running SeaweedFS with the project's buckets; stopped at the end of the session."""
    from storage.cli import ensure_all_buckets
    from storage.client import ObjectStore
    from storage.server import SeaweedServer

    server = SeaweedServer(settings)
    server.up()
    ensure_all_buckets(ObjectStore.from_settings(settings), settings)
    yield settings
    server.down()


@pytest.fixture(scope="session")
def data_dir(settings: Settings) -> Path:
    return settings.data_dir
