"""Object storage against a real SeaweedFS server."""

from __future__ import annotations

import hashlib

import pytest

from medlicense.errors import (
    IntegrityError,
    ObjectExists,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)
from medlicense.settings import Settings
from storage.client import ObjectStore
from storage.server import SeaweedServer


@pytest.fixture
def store(s3_server: Settings) -> ObjectStore:
    return ObjectStore.from_settings(s3_server)


def test_every_object_carries_its_sha256(store: ObjectStore, s3_server: Settings) -> None:
    data = "Қазақстан / Казахстан".encode()
    stored = store.put_bytes(s3_server.bucket_artifacts, "t/sha.txt", data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert store.stat(s3_server.bucket_artifacts, "t/sha.txt")["sha256"] == stored.sha256
    assert store.get_bytes(s3_server.bucket_artifacts, "t/sha.txt") == data


def test_create_only_write_refuses_to_overwrite(store: ObjectStore, s3_server: Settings) -> None:
    bucket = s3_server.bucket_artifacts
    store.put_bytes(bucket, "t/once.pdf", b"first", if_absent=True)
    with pytest.raises(ObjectExists) as info:
        store.put_bytes(bucket, "t/once.pdf", b"second", if_absent=True)
    assert info.value.code == "storage.exists"
    assert store.get_bytes(bucket, "t/once.pdf") == b"first"


def test_tampered_object_is_detected(store: ObjectStore, s3_server: Settings) -> None:
    bucket = s3_server.bucket_artifacts
    # Written behind our back: right metadata name, wrong digest.
    import io

    store.client.put_object(
        bucket, "t/tampered", io.BytesIO(b"evil"), 4, metadata={"sha256": "0" * 64}
    )
    with pytest.raises(IntegrityError) as info:
        store.get_bytes(bucket, "t/tampered")
    assert info.value.code == "storage.integrity"


def test_missing_object_and_bucket_setup_is_idempotent(
    store: ObjectStore, s3_server: Settings
) -> None:
    store.ensure_buckets(s3_server.bucket_uploads, s3_server.bucket_uploads, "extra-bucket")
    assert store.client.bucket_exists("extra-bucket")
    with pytest.raises(ObjectNotFound):
        store.get_bytes(s3_server.bucket_artifacts, "t/absent")
    assert not store.exists(s3_server.bucket_artifacts, "t/absent")


def test_wrong_credentials_are_a_coded_error(s3_server: Settings) -> None:
    bad = s3_server.model_copy(update={"s3_secret_key": s3_server.s3_secret_key.__class__("wrong")})
    with pytest.raises(StorageError) as info:
        ObjectStore.from_settings(bad).ping()
    assert info.value.code == "storage.access_denied"


def test_unreachable_endpoint_is_unavailable(s3_server: Settings) -> None:
    dead = s3_server.model_copy(update={"s3_endpoint": "127.0.0.1:1"})
    with pytest.raises(StorageUnavailable):
        ObjectStore.from_settings(dead).ping()


def test_server_binds_loopback_only_and_data_survives_restart(s3_server: Settings) -> None:
    import subprocess

    server = SeaweedServer(s3_server)
    store = ObjectStore.from_settings(s3_server)
    store.put_bytes(s3_server.bucket_artifacts, "t/durable", b"kept")
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    pid = server.pid()
    assert pid is not None
    ours = [line for line in listening.splitlines() if f"pid={pid}," in line]
    assert ours, "weed is not listening"
    assert all("127.0.0.1:" in line for line in ours), ours
    assert "-master.telemetry=false" in server.command()
    assert server.down()
    assert not server.status().healthy
    server.up()
    assert store.get_bytes(s3_server.bucket_artifacts, "t/durable") == b"kept"
