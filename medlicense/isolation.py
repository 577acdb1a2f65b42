"""A self-contained installation on one machine: its own data directory and free ports.

Used by the tests and the benchmarks so they never touch a developer's running
``./run demo`` services: every port the local services listen on is chosen
free, and all state goes under one directory.
"""

from __future__ import annotations

import socket
from pathlib import Path


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair(used: set[int]) -> int:
    """A free port p whose gRPC twin p + 10000 (SeaweedFS's convention) is free as well."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port < 55000 and not {port, port + 10000} & used and _port_free(port + 10000):
            used.update({port, port + 10000})
            return port
    raise RuntimeError("no free port pair")


def isolated_environment(data_dir: Path) -> dict[str, str]:
    """``MEDLICENSE_*`` variables for an installation under ``data_dir`` on free ports."""
    used: set[int] = set()
    names = ("S3", "MASTER", "VOLUME", "FILER", "ADMIN", "WEBDAV")
    env = {f"MEDLICENSE_WEED_{name}_PORT": str(free_port_pair(used)) for name in names}
    env["MEDLICENSE_DATA_DIR"] = str(data_dir.resolve())
    env["MEDLICENSE_PREFECT_PORT"] = str(free_port_pair(used))
    env["MEDLICENSE_PKI_SERVICES_PORT"] = str(free_port_pair(used))
    env["MEDLICENSE_S3_ENDPOINT"] = f"127.0.0.1:{env['MEDLICENSE_WEED_S3_PORT']}"
    return env
