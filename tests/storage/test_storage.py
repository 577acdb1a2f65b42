"""Object storage against a real SeaweedFS server."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from medlicense.errors import (
    IntegrityError,
    ObjectExists,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)
from medlicense.settings import Settings
from storage.client import ObjectStore, WrittenDigests, create_only_reads
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


def test_a_store_remembers_the_digest_of_what_it_wrote_and_nothing_else(
    store: ObjectStore, s3_server: Settings
) -> None:
    bucket = s3_server.bucket_artifacts
    key = f"t/digest-{uuid.uuid4().hex[:8]}.pdf"
    stored = store.put_bytes(bucket, key, b"first", if_absent=True)
    assert store.digests.get(bucket, key) == stored.sha256
    # A refused write leaves the key to whoever holds it: not known any more.
    with pytest.raises(ObjectExists):
        store.put_bytes(bucket, key, b"second", if_absent=True)
    assert store.digests.get(bucket, key) is None
    # Another store (another process) knows only its own writes.
    other = ObjectStore.from_settings(s3_server)
    assert other.digests.get(bucket, key) is None


def test_remembered_digests_are_bounded() -> None:
    digests = WrittenDigests(limit=2)
    for name in ("a", "b", "c"):
        digests.remember("bucket", name, name * 64)
    assert digests.get("bucket", "a") is None
    assert digests.get("bucket", "c") == "c" * 64


def test_create_only_objects_are_fetched_once_inside_the_block(
    store: ObjectStore, s3_server: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_server.bucket_artifacts
    run = uuid.uuid4().hex[:8]
    written, read, mutable = (f"t/{run}/once-written", f"t/{run}/once-read", f"t/{run}/mutable")
    store.put_bytes(bucket, read, b"read")
    store.put_bytes(bucket, mutable, b"v1")
    fetched: list[str] = []
    original = store.client.get_object

    def counting(bucket_name: str, object_name: str, *args: object, **kwargs: object) -> object:
        fetched.append(object_name)
        return original(bucket_name, object_name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store.client, "get_object", counting)
    with create_only_reads(lambda _bucket, key: "/once-" in key):
        store.put_bytes(bucket, written, b"written", if_absent=True)
        assert store.get_bytes(bucket, written) == b"written"
        assert store.get_bytes(bucket, read) == b"read"
        assert store.get_bytes(bucket, read) == b"read"
        assert store.get_bytes(bucket, mutable) == b"v1"
        store.put_bytes(bucket, mutable, b"v2")
        assert store.get_bytes(bucket, mutable) == b"v2"
        # Absence is never remembered: someone may create the object meanwhile.
        for _ in range(2):
            with pytest.raises(ObjectNotFound):
                store.get_bytes(bucket, f"t/{run}/once-absent")
    assert fetched == [read, mutable, mutable, f"t/{run}/once-absent", f"t/{run}/once-absent"]
    store.get_bytes(bucket, read)
    assert fetched[-1] == read, "the memory outlived its block"
