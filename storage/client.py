"""Object storage through the MinIO SDK, for any S3 endpoint.

Every object written here carries the SHA-256 of its bytes in its metadata
(``x-amz-meta-sha256``) and every read can check it, so a downstream system can
trust a document without trusting the transport.  Library errors are mapped to
the storage branch of the project's error tree at this boundary.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from typing import Any, Literal

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, ENABLED
from minio.error import S3Error
from minio.retention import Retention
from minio.versioningconfig import VersioningConfig

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


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ObjectStore:
    def __init__(self, client: Minio) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings, *, downstream: bool = False) -> ObjectStore:
        """The pipeline's client; ``downstream``: the read-only identity of the published bucket."""
        # Few urllib3 retries and short connect timeouts: the flows retry with
        # backoff themselves, and a dead endpoint should surface in seconds.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3.0, read=60.0),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[502, 503, 504]),
            maxsize=16,
        )
        client = Minio(
            settings.s3_endpoint,
            access_key=settings.downstream_access_key if downstream else settings.s3_access_key,
            secret_key=(
                settings.downstream_secret_key if downstream else settings.s3_secret_key
            ).get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
            http_client=http,
        )
        return cls(client)

    # -- buckets -------------------------------------------------------------------------
    def ensure_buckets(self, *names: str) -> None:
        """Create missing buckets; existing ones are left as they are."""
        for name in names:
            with _mapped(name):
                if not self.client.bucket_exists(name):
                    try:
                        self.client.make_bucket(name)
                    except S3Error as exc:
                        # Another process may have created it between the two calls.
                        if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                            raise

    def ensure_locked_bucket(self, name: str) -> None:
        """Create ``name`` with object lock (and so versioning) if missing.

        Object lock can only be switched on when a bucket is created; an existing
        bucket without it is an error, not something to paper over, since the
        published documents' immutability depends on it.
        """
        with _mapped(name):
            if not self.client.bucket_exists(name):
                try:
                    self.client.make_bucket(name, object_lock=True)
                except S3Error as exc:
                    if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise
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
                self.client.set_bucket_versioning(name, VersioningConfig(ENABLED))

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
        retain_until: dt.datetime | None = None,
    ) -> StoredObject:
        """Write ``data``; with ``if_absent`` the write fails with ObjectExists if the key is taken.

        The create-only write is what makes claims and signed documents safe under
        concurrent runs: S3 decides, not a check-then-write race in our code.
        ``retain_until`` (buckets with object lock) puts the version under COMPLIANCE
        retention: nobody, the owner included, can delete or overwrite it before then.
        """
        digest = sha256_hex(data)
        meta: dict[str, str | list[str] | tuple[str]] = {SHA256_META: digest, **(metadata or {})}
        with _mapped(bucket, key):
            if if_absent:
                headers: dict[str, Any] = {
                    "Content-Type": content_type,
                    "If-None-Match": "*",
                    **{f"x-amz-meta-{k}": v for k, v in meta.items()},
                }
                if retain_until is not None:
                    headers["x-amz-object-lock-mode"] = COMPLIANCE
                    headers["x-amz-object-lock-retain-until-date"] = _iso(retain_until)
                # The public put_object() prefixes unknown headers as user metadata,
                # so the conditional header goes through the SDK's single-part PUT.
                self.client._put_object(bucket, key, data, headers)
            else:
                self.client.put_object(
                    bucket,
                    key,
                    io.BytesIO(data),
                    len(data),
                    content_type=content_type,
                    metadata=meta,
                    retention=Retention(COMPLIANCE, retain_until) if retain_until else None,
                )
        return StoredObject(bucket=bucket, key=key, sha256=digest, size=len(data))

    def get_bytes(self, bucket: str, key: str, *, verify: bool = True) -> bytes:
        with _mapped(bucket, key):
            response = self.client.get_object(bucket, key)
            try:
                data = response.read()
                recorded = response.headers.get(f"x-amz-meta-{SHA256_META}")
            finally:
                response.close()
                response.release_conn()
        if verify and recorded is not None and recorded != sha256_hex(data):
            raise IntegrityError(
                f"s3://{bucket}/{key}: content does not match its recorded SHA-256",
                bucket=bucket,
                key=key,
            )
        return data

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


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


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
