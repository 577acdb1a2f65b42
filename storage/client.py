"""Object storage through the MinIO SDK, for any S3 endpoint.

Every object written here carries the SHA-256 of its bytes in its metadata
(``x-amz-meta-sha256``) and every read can check it, so a downstream system can
trust a document without trusting the transport.  Library errors are mapped to
the storage branch of the project's error tree at this boundary.

Three identities, so each credential can do only its part (see README, *Register,
published licenses and the event log*):

* the pipeline's (``s3_access_key``): everything in its own buckets, only reads
  in the published bucket;
* the publisher's (``publisher_access_key``): the only writer of the published
  bucket.  :class:`ObjectStore` routes writes to that bucket through it, and
  those writes are conditional: create-only, or compare-and-swap for the one
  object that has versions (a manifest);
* the downstream systems' (``downstream_access_key``): list and read the
  published bucket, nothing else.

Requests are what the S3 server's CPU goes to, so the client avoids two kinds
it can answer itself.  A store remembers the SHA-256 of what it last wrote
successfully under each key (:attr:`ObjectStore.digests`, bounded), so a view
listing document digests needs no ``stat`` of documents written by the same
process.  And inside :func:`create_only_reads` (one unit of work, one thread)
objects the caller names as create-only (written once, never changed or
deleted) are fetched at most once: their bytes, read or written, are kept
until the block ends.  Neither ever answers "absent": a missing object is
asked for again, since someone may create it in the meantime.

Buckets are created by an administrator, not by the pipeline.  On the local
SeaweedFS that is an identity of its own whose generated credentials are kept
in ``<data_dir>/seaweedfs/admin.json``; elsewhere the operator creates them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, ENABLED
from minio.error import S3Error
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.versioningconfig import VersioningConfig
from pydantic import BaseModel, SecretStr

from medlicense.errors import (
    IntegrityError,
    ObjectExists,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)
from medlicense.models import StoredObject
from medlicense.settings import Settings

SHA256_META = "sha256"
_NOT_FOUND = {"NoSuchKey", "NoSuchObject", "NoSuchBucket", "NoSuchVersion"}
_ALREADY_THERE = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Credentials(BaseModel):
    access_key: str
    secret_key: SecretStr


def admin_credentials_file(settings: Settings) -> Path:
    """Where the local SeaweedFS keeps its administrator's generated credentials."""
    return settings.weed_dir / "admin.json"


def read_admin_credentials(path: Path) -> Credentials | None:
    try:
        return Credentials.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _minio(settings: Settings, access_key: str, secret_key: SecretStr) -> Minio:
    # Few urllib3 retries and short connect timeouts: the flows retry with
    # backoff themselves, and a dead endpoint should surface in seconds.
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=3.0, read=60.0),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[502, 503, 504]),
        maxsize=16,
    )
    return Minio(
        settings.s3_endpoint,
        access_key=access_key,
        secret_key=secret_key.get_secret_value(),
        secure=settings.s3_secure,
        region=settings.s3_region,
        http_client=http,
    )


class WrittenDigests:
    """SHA-256 of the objects a store itself last wrote, newest ``limit`` keys.

    Only a write that the server acknowledged is remembered; a write that failed
    in any way (refused, timed out, unknown outcome) forgets the key, since the
    object may now hold anything.  What another writer puts under a key later is
    not seen, so this answers only for objects nobody rewrites (documents).
    """

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._digests: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, bucket: str, key: str) -> str | None:
        with self._lock:
            return self._digests.get((bucket, key))

    def remember(self, bucket: str, key: str, digest: str) -> None:
        with self._lock:
            self._digests[(bucket, key)] = digest
            self._digests.move_to_end((bucket, key))
            while len(self._digests) > self.limit:
                self._digests.popitem(last=False)

    def forget(self, bucket: str, key: str) -> None:
        with self._lock:
            self._digests.pop((bucket, key), None)


class _CreateOnlyMemo:
    def __init__(self, create_only: Callable[[str, str], bool]) -> None:
        self.create_only = create_only
        self.objects: dict[tuple[str, str], bytes] = {}
        # A context may be copied into another thread (a task runner does that).
        self.lock = threading.Lock()


_memo: ContextVar[_CreateOnlyMemo | None] = ContextVar("storage_create_only_memo", default=None)


@contextmanager
def create_only_reads(create_only: Callable[[str, str], bool]) -> Iterator[None]:
    """Within the block, fetch each object ``create_only(bucket, key)`` names at most once.

    For objects written once and never changed or deleted: what was read, or
    written successfully, is served from memory until the block ends.  Scoped
    to the current context (so to one thread, and to one unit of work); a nested
    block keeps the outer one's memory.
    """
    if _memo.get() is not None:
        yield
        return
    token = _memo.set(_CreateOnlyMemo(create_only))
    try:
        yield
    finally:
        _memo.reset(token)


def remembered(bucket: str, key: str) -> bytes | None:
    """The bytes of a create-only object already read or written in this block, if any."""
    memo = _memo.get()
    if memo is None:
        return None
    with memo.lock:
        return memo.objects.get((bucket, key))


def _memorise(bucket: str, key: str, data: bytes | None) -> None:
    memo = _memo.get()
    if memo is None or not memo.create_only(bucket, key):
        return
    with memo.lock:
        if data is None:
            memo.objects.pop((bucket, key), None)
        else:
            memo.objects[(bucket, key)] = data


class ObjectStore:
    """Reads and writes with one identity (``client``).

    ``writers`` names buckets whose writes go through another identity (the
    publisher's, for the published bucket).  ``admin`` creates missing buckets
    and switches versioning on; without one, ``client`` tries.
    """

    def __init__(
        self,
        client: Minio,
        *,
        writers: Mapping[str, Minio] | None = None,
        admin: Minio | None = None,
    ) -> None:
        self.client = client
        self.writers = dict(writers or {})
        self.admin = admin
        self.digests = WrittenDigests()

    @classmethod
    def from_settings(cls, settings: Settings, *, downstream: bool = False) -> ObjectStore:
        """The pipeline's store; ``downstream``: the read-only identity of the published bucket."""
        if downstream:
            return cls(
                _minio(settings, settings.downstream_access_key, settings.downstream_secret_key)
            )
        admin = read_admin_credentials(admin_credentials_file(settings))
        return cls(
            _minio(settings, settings.s3_access_key, settings.s3_secret_key),
            writers={
                settings.bucket_published: _minio(
                    settings, settings.publisher_access_key, settings.publisher_secret_key
                )
            },
            admin=_minio(settings, admin.access_key, admin.secret_key) if admin else None,
        )

    @classmethod
    def as_admin(cls, settings: Settings, credentials: Credentials) -> ObjectStore:
        """A store that does everything with the administrator's identity (bucket setup)."""
        client = _minio(settings, credentials.access_key, credentials.secret_key)
        return cls(client, admin=client)

    def writer(self, bucket: str) -> Minio:
        return self.writers.get(bucket, self.client)

    # -- buckets -------------------------------------------------------------------------
    def _make_bucket(self, name: str, *, object_lock: bool = False) -> None:
        try:
            (self.admin or self.client).make_bucket(name, object_lock=object_lock)
        except S3Error as exc:
            # Another process may have created it between the check and the call.
            if exc.code not in _ALREADY_THERE:
                raise

    def ensure_buckets(self, *names: str) -> None:
        """Create missing buckets; existing ones are left as they are."""
        for name in names:
            with _mapped(name):
                if not self.client.bucket_exists(name):
                    self._make_bucket(name)

    def ensure_locked_bucket(self, name: str) -> None:
        """Create ``name`` with object lock (and so versioning) if missing.

        Object lock can only be switched on when a bucket is created; an existing
        bucket without it is an error, not something to paper over, since the
        published documents' immutability depends on it.
        """
        with _mapped(name):
            if not self.client.bucket_exists(name):
                self._make_bucket(name, object_lock=True)
            versioning = self.client.get_bucket_versioning(name)
        if versioning.status != "Enabled":
            raise StorageError(
                f"s3://{name}: exists without versioning/object lock; "
                "published documents need a bucket created with object lock",
                code="storage.not_locked",
            )

    def ensure_versioned_bucket(self, name: str) -> None:
        """Create ``name`` if missing and keep every version of what is rewritten in it."""
        self.ensure_buckets(name)
        with _mapped(name):
            if self.client.get_bucket_versioning(name).status != "Enabled":
                (self.admin or self.client).set_bucket_versioning(name, VersioningConfig(ENABLED))

    def set_default_retention(self, name: str, days: int) -> None:
        """Every new version in ``name`` under COMPLIANCE retention for ``days`` (administrator).

        The bucket's rule rather than a retention header per object: on SeaweedFS
        only an administrator may send that header, and the publisher is none.
        """
        with _mapped(name):
            (self.admin or self.client).set_object_lock_config(
                name, ObjectLockConfig(COMPLIANCE, days, DAYS)
            )

    def set_bucket_policy(self, name: str, policy: dict[str, Any]) -> None:
        with _mapped(name):
            (self.admin or self.client).set_bucket_policy(name, json.dumps(policy))

    # -- objects ---------------------------------------------------------------------------
    def put_bytes(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
        if_absent: bool = False,
        if_match: str | None = None,
    ) -> StoredObject:
        """Write ``data``; with ``if_absent`` the write fails with ObjectExists if the key is taken.

        The create-only write is what makes claims and signed documents safe under
        concurrent runs: S3 decides, not a check-then-write race in our code.
        ``if_match`` (an ETag from :meth:`get_with_etag`) replaces the object only
        if it is still the version that was read; otherwise ObjectExists with the
        code ``storage.changed``.
        """
        digest = sha256_hex(data)
        meta: dict[str, str | list[str] | tuple[str]] = {SHA256_META: digest, **(metadata or {})}
        # Until the server says the write is done, what the key holds is unknown.
        self.digests.forget(bucket, key)
        _memorise(bucket, key, None)
        self._put(bucket, key, data, content_type, meta, if_absent=if_absent, if_match=if_match)
        self.digests.remember(bucket, key, digest)
        _memorise(bucket, key, data)
        return StoredObject(bucket=bucket, key=key, sha256=digest, size=len(data))

    def _put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        content_type: str,
        meta: dict[str, str | list[str] | tuple[str]],
        *,
        if_absent: bool,
        if_match: str | None,
    ) -> None:
        client = self.writer(bucket)
        with _mapped(bucket, key):
            if if_absent or if_match is not None:
                headers: dict[str, Any] = {
                    "Content-Type": content_type,
                    **{f"x-amz-meta-{k}": v for k, v in meta.items()},
                }
                if if_absent:
                    headers["If-None-Match"] = "*"
                if if_match is not None:
                    headers["If-Match"] = if_match
                # The public put_object() prefixes unknown headers as user metadata,
                # so the conditional header goes through the SDK's single-part PUT.
                try:
                    client._put_object(bucket, key, data, headers)
                except S3Error as exc:
                    if exc.code == "PreconditionFailed" and if_match is not None:
                        raise ObjectExists(
                            f"s3://{bucket}/{key}: changed since it was read",
                            code="storage.changed",
                        ) from exc
                    raise
            else:
                client.put_object(
                    bucket,
                    key,
                    io.BytesIO(data),
                    len(data),
                    content_type=content_type,
                    metadata=meta,
                )

    def get_bytes(self, bucket: str, key: str, *, verify: bool = True) -> bytes:
        """The object's bytes; a create-only object inside :func:`create_only_reads` once."""
        known = remembered(bucket, key)
        if known is not None:
            return known
        data = self.get_with_etag(bucket, key, verify=verify)[0]
        if verify:
            _memorise(bucket, key, data)
        return data

    def get_with_etag(self, bucket: str, key: str, *, verify: bool = True) -> tuple[bytes, str]:
        """The object's bytes and the ETag that names this version for ``put_bytes(if_match=)``."""
        with _mapped(bucket, key):
            response = self.client.get_object(bucket, key)
            try:
                data = response.read()
                recorded = response.headers.get(f"x-amz-meta-{SHA256_META}")
                etag = response.headers.get("ETag", "")
            finally:
                response.close()
                response.release_conn()
        if verify and recorded is not None and recorded != sha256_hex(data):
            raise IntegrityError(
                f"s3://{bucket}/{key}: content does not match its recorded SHA-256",
                bucket=bucket,
                key=key,
            )
        return data, etag

    def stat(self, bucket: str, key: str) -> dict[str, str]:
        """User metadata of an object (keys without the x-amz-meta- prefix)."""
        with _mapped(bucket, key):
            st = self.client.stat_object(bucket, key)
        prefix = "x-amz-meta-"
        return {
            k[len(prefix) :].lower(): v
            for k, v in (st.metadata or {}).items()
            if k.lower().startswith(prefix)
        }

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.stat(bucket, key)
        except ObjectNotFound:
            return False
        return True

    def list_keys(
        self, bucket: str, prefix: str = "", *, start_after: str | None = None
    ) -> Iterator[str]:
        """Keys under ``prefix`` in lexical order, optionally only those after ``start_after``."""
        with _mapped(bucket):
            for obj in self.client.list_objects(
                bucket, prefix=prefix, recursive=True, start_after=start_after
            ):
                if obj.object_name and not obj.is_dir:
                    yield obj.object_name

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> StoredObject:
        """Copy through this process so the SHA-256 metadata is re-checked on the way."""
        data = self.get_bytes(src_bucket, src_key)
        return self.put_bytes(dst_bucket, dst_key, data)

    def presigned_get(self, bucket: str, key: str, seconds: int) -> str:
        with _mapped(bucket, key):
            return self.client.presigned_get_object(
                bucket, key, expires=dt.timedelta(seconds=seconds)
            )

    def ping(self) -> None:
        with _mapped():
            self.client.list_buckets()


class _mapped:
    """Translate MinIO / urllib3 errors into the storage error branch."""

    def __init__(self, bucket: str | None = None, key: str | None = None) -> None:
        self.where = f"s3://{bucket or ''}/{key or ''}"

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> Literal[False]:
        if exc is None or isinstance(exc, StorageError):
            return False
        if isinstance(exc, S3Error):
            if exc.code in _NOT_FOUND:
                raise ObjectNotFound(f"{self.where}: not found ({exc.code})") from exc
            if exc.code == "PreconditionFailed":
                raise ObjectExists(f"{self.where}: already exists") from exc
            if exc.code in {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId"}:
                raise StorageError(
                    f"{self.where}: access denied ({exc.code})", code="storage.access_denied"
                ) from exc
            raise StorageError(f"{self.where}: {exc.code}: {exc.message}") from exc
        if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | OSError):
            raise StorageUnavailable(f"{self.where}: object storage unreachable: {exc}") from exc
        return False
