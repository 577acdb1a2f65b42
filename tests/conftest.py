"""Shared fixtures: a real SeaweedFS S3 server and isolated settings for the session.

The S3 server runs on free ports in a temporary data directory, so the tests
never touch a developer's running ``medlicense storage up`` instance.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from medlicense.settings import Settings, get_settings


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port_pair(used: set[int]) -> int:
    """A port p such that p and p + 10000 (SeaweedFS's gRPC twin) are both free."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if (
            port < 55000
            and port not in used
            and port + 10000 not in used
            and _port_free(port + 10000)
        ):
            used.update({port, port + 10000})
            return port
    raise RuntimeError("no free port pair")


@pytest.fixture(scope="session")
def test_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment for an isolated medlicense installation under a temp directory."""
    root = tmp_path_factory.mktemp("medlicense")
    used: set[int] = set()
    env = {
        "MEDLICENSE_DATA_DIR": str(root / "var"),
        "MEDLICENSE_WEED_S3_PORT": str(_free_port_pair(used)),
        "MEDLICENSE_WEED_MASTER_PORT": str(_free_port_pair(used)),
        "MEDLICENSE_WEED_VOLUME_PORT": str(_free_port_pair(used)),
        "MEDLICENSE_WEED_FILER_PORT": str(_free_port_pair(used)),
        "MEDLICENSE_WEED_ADMIN_PORT": str(_free_port_pair(used)),
        "MEDLICENSE_WEED_WEBDAV_PORT": str(_free_port_pair(used)),
        "MEDLICENSE_S3_ACCESS_KEY": "test-access",
        "MEDLICENSE_S3_SECRET_KEY": "test-secret-key",
        "MEDLICENSE_PREFECT_PORT": str(_free_port_pair(used)),
        "MEDLICENSE_PKI_SERVICES_PORT": str(_free_port_pair(used)),
    }
    env["MEDLICENSE_S3_ENDPOINT"] = f"127.0.0.1:{env['MEDLICENSE_WEED_S3_PORT']}"
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
