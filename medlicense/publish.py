"""Signed licenses for downstream systems: the published bucket, its manifests, the event log.

The published bucket is created with object lock (so versioning) and a default
COMPLIANCE retention of ``published_retention_days`` on every version written to
it, and its policy refuses deletes to everyone (:mod:`storage.server`).  Only the
publisher identity writes it (:class:`storage.client.ObjectStore` routes the
writes), and every write is conditional: a signed document or an event is
created once (``If-None-Match: *``; a second write of the key is refused with
``storage.exists``), a manifest is replaced only if it is still the version this
run read (``If-Match``).  Keys are stable by license number::

    licenses/<number>/<file>.pdf        license, appendix, duplicates (never rewritten)
    licenses/<number>/manifest.json     files, SHA-256, verification summary, register entry
    events/<seq>.json                   the event log (:mod:`storage.events`)

The manifest is the one object that is rewritten (a new version when the
license changes state: replaced by a re-issue, a duplicate added); its earlier
versions stay in the bucket's history, under the same retention.  Publishing
again what is already published changes nothing.

Downstream systems get read-only credentials for this bucket alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import weakref
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from medlicense.errors import IntegrityError, ObjectExists, ObjectNotFound
from medlicense.records import DuplicateEntry, LicenseEntry, NumberClaim
from medlicense.register import Registry
from medlicense.settings import Settings
from storage.client import ObjectStore, sha256_hex
from storage.events import Event, EventLog, EventType

MANIFEST = "manifest.json"
PDF = "application/pdf"
# A manifest changes a handful of times in a license's life; more lost races than
# this in one call means something other than a concurrent publisher is writing.
_MANIFEST_ATTEMPTS = 3


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class VerificationSummary(_Frozen):
    """What :func:`signing.verify.verify_pdf` said when the file was published."""

    valid: bool
    intact: bool
    trusted: bool
    signer: str | None = None
    pades_level: str | None = None
    timestamp: dt.datetime | None = None
    signatures: int = 0
    errors: tuple[str, ...] = ()
    # False: checked as the signer checks its own output (everything but pyHanko's
    # analysis of later revisions, which a downstream verifier runs in full).
    modifications_analysed: bool = True


Role = Literal["license", "appendix", "duplicate-license", "duplicate-appendix"]


class PublishedFile(_Frozen):
    name: str
    key: str
    role: Role
    sha256: str
    size: int
    source_key: str  # where the pipeline keeps it (artifacts bucket), for operators
    verification: VerificationSummary


class Manifest(_Frozen):
    license_number: str
    status: Literal["in_force", "replaced"]
    replaced_by: str | None = None
    previous_number: str | None = None
    entry: LicenseEntry  # the license as in the register
    duplicates: tuple[DuplicateEntry, ...] = ()
    files: tuple[PublishedFile, ...]
    updated_at: dt.datetime

    def same_content(self, other: Manifest) -> bool:
        return self.model_dump(exclude={"updated_at"}) == other.model_dump(exclude={"updated_at"})


def license_prefix(number: str) -> str:
    return f"licenses/{number.replace('/', '_')}/"


_logs: weakref.WeakKeyDictionary[ObjectStore, dict[str, EventLog]] = weakref.WeakKeyDictionary()
_logs_lock = threading.Lock()


def event_log(store: ObjectStore, settings: Settings) -> EventLog:
    """The log of ``store``'s published bucket, one per store for the life of the store.

    An ``EventLog`` remembers the last number it saw and lists only what came
    after it; a fresh one per event would list the whole log every time, which
    grows with every package ever processed.
    """
    with _logs_lock:
        per_bucket = _logs.setdefault(store, {})
        log = per_bucket.get(settings.bucket_published)
        if log is None:
            log = per_bucket[settings.bucket_published] = EventLog(store, settings.bucket_published)
        return log


def emit(
    store: ObjectStore,
    settings: Settings,
    type_: EventType,
    app_id: str,
    *,
    license_number: str | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Append one event to the downstream log; a repeat returns the first (stable id)."""
    return event_log(store, settings).append(
        type_, app_id, license_number=license_number, data=data
    )


class Publisher:
    def __init__(self, store: ObjectStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.bucket = settings.bucket_published
        self.registry = Registry(store, settings)

    def trust_roots(self) -> list[Path]:
        # The development root exists only where the dev PKI was initialised.
        roots = [*self.settings.trust_roots, self.settings.resolved_pki_dir / "root.pem"]
        return [r for r in roots if r.exists()]

    def manifest(self, number: str) -> Manifest | None:
        current = self._manifest_and_etag(number)
        return current[0] if current else None

    def _manifest_and_etag(self, number: str) -> tuple[Manifest, str] | None:
        try:
            data, etag = self.store.get_with_etag(self.bucket, license_prefix(number) + MANIFEST)
        except ObjectNotFound:
            return None
        return Manifest.model_validate_json(data), etag

    def publish(self, number: str, *, now: dt.datetime | None = None) -> Manifest:
        """Bring ``licenses/<number>/`` in line with the register; idempotent.

        Two runs publishing the same license at once (a re-issue updating the
        replaced license while its duplicate is delivered) each replace only the
        manifest they read; the one that loses reads again and recomputes.
        """
        for _ in range(_MANIFEST_ATTEMPTS - 1):
            # Only the manifest's conditional write lets ObjectExists out (first
            # version: storage.exists, a later one: storage.changed).
            with contextlib.suppress(ObjectExists):
                return self._publish_once(number, now)
        return self._publish_once(number, now)

    def _publish_once(self, number: str, now: dt.datetime | None) -> Manifest:
        entry = self.registry.license(number)
        if entry is None:
            raise ObjectNotFound(
                f"license {number} is not in the register", code="register.unknown_license"
            )
        duplicates = tuple(self.registry.duplicates(number))
        successor: NumberClaim | None = self.registry.replaced_by(number)
        current = self._manifest_and_etag(number)
        previous = current[0] if current else None
        known = {f.name: f for f in previous.files} if previous else {}
        sources: list[tuple[Role, str]] = [
            ("license", entry.license_key),
            ("appendix", entry.appendix_key),
        ]
        for dup in duplicates:
            for i, key in enumerate(dup.documents):
                sources.append(("duplicate-license" if i == 0 else "duplicate-appendix", key))
        files = tuple(self._publish_file(number, role, key, known) for role, key in sources)
        manifest = Manifest(
            license_number=number,
            status="replaced" if successor is not None else "in_force",
            replaced_by=successor.number if successor is not None else None,
            previous_number=entry.previous_number,
            entry=entry,
            duplicates=duplicates,
            files=files,
            updated_at=now or dt.datetime.now(dt.UTC),
        )
        if previous is not None and previous.same_content(manifest):
            return previous
        self.store.put_bytes(
            self.bucket,
            license_prefix(number) + MANIFEST,
            manifest.model_dump_json(indent=2).encode(),
            content_type="application/json",
            if_absent=current is None,
            if_match=current[1] if current else None,
        )
        return manifest

    def _publish_file(
        self, number: str, role: Role, source_key: str, known: dict[str, PublishedFile]
    ) -> PublishedFile:
        name = PurePosixPath(source_key).name
        key = license_prefix(number) + name
        data = self.store.get_bytes(self.settings.bucket_artifacts, source_key)
        digest = sha256_hex(data)
        stored = known.get(name)
        if stored is not None and stored.sha256 == digest:
            return stored  # published and verified before: nothing to do
        try:
            # Retention comes from the bucket's default rule, not from this request.
            self.store.put_bytes(self.bucket, key, data, content_type=PDF, if_absent=True)
        except ObjectExists:
            # Published by an earlier, interrupted run; locked, so it must be these bytes.
            existing = self.store.stat(self.bucket, key).get("sha256")
            if existing != digest:
                raise IntegrityError(
                    f"s3://{self.bucket}/{key} holds other bytes than {source_key}",
                    code="storage.integrity",
                ) from None
        return PublishedFile(
            name=name,
            key=key,
            role=role,
            sha256=digest,
            size=len(data),
            source_key=source_key,
            verification=self._verify(data),
        )

    def _verify(self, data: bytes) -> VerificationSummary:
        from signing.verify import verify_pdf

        # The file comes from the artifacts bucket, where only the pipeline writes and
        # nothing is overwritten: every revision after the first signature is our
        # signer's.  The difference analysis could only confirm that, and it is most of
        # the cost of verifying a tagged PDF; what it guards against is the business
        # of whoever verifies a copy from elsewhere (`medlicense verify`, downstream).
        report = verify_pdf(data, trust_roots=self.trust_roots(), analyse_modifications=False)
        return VerificationSummary(
            valid=report.valid,
            intact=report.intact,
            trusted=report.trusted,
            signer=report.signer,
            pades_level=report.pades_level,
            timestamp=report.timestamp,
            signatures=report.signatures,
            errors=tuple(e.code for e in report.errors),
            modifications_analysed=False,
        )


# --- reading, for downstream systems and ``medlicense fetch`` -------------------------------------


class FetchedFile(_Frozen):
    name: str
    key: str
    sha256: str
    url: str | None = None
    path: str | None = None


def current_files(store: ObjectStore, settings: Settings, number: str) -> list[PublishedFile]:
    """The files of license ``number`` per its manifest, each checked against its SHA-256."""
    try:
        raw = store.get_bytes(settings.bucket_published, license_prefix(number) + MANIFEST)
    except ObjectNotFound:
        raise ObjectNotFound(
            f"license {number} is not published", code="publish.unknown_license"
        ) from None
    manifest = json.loads(raw)  # plain JSON: what a downstream system without our code reads
    out = []
    for item in manifest["files"]:
        f = PublishedFile.model_validate(item)
        data = store.get_bytes(settings.bucket_published, f.key)
        if sha256_hex(data) != f.sha256:
            raise IntegrityError(
                f"s3://{settings.bucket_published}/{f.key} does not match its manifest's SHA-256",
                key=f.key,
            )
        out.append(f)
    return out
