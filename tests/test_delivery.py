"""Delivery to downstream systems against a real S3 server: the published bucket under
object lock and a policy, who may write it (the publisher only, create-only) and who may
not (the pipeline's identity, anyone deleting), manifests, the read-only downstream
identity, ``fetch`` and ``events``."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from minio.commonconfig import CopySource
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from medlicense.cli import main
from medlicense.errors import IntegrityError, ObjectExists, StorageError
from medlicense.publish import MANIFEST, Publisher, current_files, emit, license_prefix
from medlicense.records import DuplicateEntry, LicenseEntry, NumberClaim
from medlicense.register import Registry
from medlicense.settings import Settings
from storage.client import ObjectStore, sha256_hex
from storage.events import EventType

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(s3_server: Settings) -> ObjectStore:
    return ObjectStore.from_settings(s3_server)


@pytest.fixture
def downstream(s3_server: Settings) -> ObjectStore:
    return ObjectStore.from_settings(s3_server, downstream=True)


def _license(store: ObjectStore, settings: Settings) -> tuple[str, dict[str, bytes]]:
    """A license in the register whose (stand-in) documents are in the artifacts bucket."""
    number = f"KZ26-T{uuid.uuid4().hex[:8].upper()}"
    app_id = f"app-{uuid.uuid4().hex[:16]}"
    docs = {
        f"applications/{app_id}/license-{number}.pdf": b"%PDF-1.7 license " + number.encode(),
        f"applications/{app_id}/appendix-{number}-001.pdf": b"%PDF-1.7 appendix " + number.encode(),
    }
    for key, data in docs.items():
        store.put_bytes(settings.bucket_artifacts, key, data, content_type="application/pdf")
    license_key, appendix_key = docs
    Registry(store, settings).register_license(
        LicenseEntry(
            number=number,
            app_id=app_id,
            kind="issue",
            licensee_kind="legal_entity",
            licensee_name="ТОО «Тест»",
            licensee_iin_bin="990240001227",
            licensee_address="Орал қ.",
            subtypes=("outpatient_consultative",),
            places=("Орал қ.",),
            issued_at=NOW,
            first_issued_on=NOW.date(),
            license_key=license_key,
            appendix_key=appendix_key,
        )
    )
    return number, docs


def test_the_manifest_lists_every_file_with_its_hash_and_republishing_is_a_no_op(
    s3_server: Settings, store: ObjectStore
) -> None:
    number, docs = _license(store, s3_server)
    publisher = Publisher(store, s3_server)
    manifest = publisher.publish(number)
    raw = json.loads(store.get_bytes(s3_server.bucket_published, license_prefix(number) + MANIFEST))
    assert raw["license_number"] == number and raw["status"] == "in_force"
    assert raw["entry"]["licensee_name"] == "ТОО «Тест»"
    assert {f["name"]: f["sha256"] for f in raw["files"]} == {
        key.rsplit("/", 1)[-1]: sha256_hex(data) for key, data in docs.items()
    }
    for f in raw["files"]:
        published = store.get_bytes(s3_server.bucket_published, f["key"])
        assert sha256_hex(published) == f["sha256"]
        assert "valid" in f["verification"]  # the stand-ins are not signed: valid false
    manifest_key = license_prefix(number) + MANIFEST
    version = store.client.stat_object(s3_server.bucket_published, manifest_key).version_id
    assert publisher.publish(number) == manifest
    assert store.client.stat_object(s3_server.bucket_published, manifest_key).version_id == version

    # A duplicate adds files and a new manifest version; the earlier files stay as they were.
    app_id = manifest.entry.app_id
    dup_keys = (
        f"applications/{app_id}/duplicate-{number}-D1.pdf",
        f"applications/{app_id}/duplicate-appendix-{number}-001-D1.pdf",
    )
    for key in dup_keys:
        store.put_bytes(s3_server.bucket_artifacts, key, b"%PDF dup " + key.encode())
    Registry(store, s3_server).register_duplicate(
        DuplicateEntry(
            number=number, duplicate_no=1, app_id=app_id, issued_at=NOW, documents=dup_keys
        )
    )
    Registry(store, s3_server).mark_replaced(
        number,
        NumberClaim(number="KZ26-NEXT", seq=99, scope="2026", app_id="app-x", claimed_at=NOW),
    )
    updated = publisher.publish(number)
    assert [f.role for f in updated.files] == [
        "license",
        "appendix",
        "duplicate-license",
        "duplicate-appendix",
    ]
    assert updated.files[:2] == manifest.files[:2]
    assert updated.status == "replaced" and updated.replaced_by == "KZ26-NEXT"
    versions = list(
        store.client.list_objects(
            s3_server.bucket_published, prefix=manifest_key, include_version=True
        )
    )
    assert len(versions) == 2


def _versions(store: ObjectStore, bucket: str, key: str) -> list[tuple[str, bool]]:
    """(version id, is a delete marker) of every version of ``key``, newest first."""
    assert store.admin is not None
    return [
        (str(o.version_id), bool(o.is_delete_marker))
        for o in store.admin.list_objects(bucket, prefix=key, include_version=True)
        if o.object_name == key
    ]


def _denied(call: Callable[[], object]) -> None:
    with pytest.raises(S3Error) as denied:
        call()
    assert denied.value.code == "AccessDenied"


def test_published_versions_are_under_compliance_retention_from_the_bucket_rule(
    s3_server: Settings, store: ObjectStore
) -> None:
    number, _ = _license(store, s3_server)
    key = Publisher(store, s3_server).publish(number).files[0].key
    # Retention and versions are the administrator's to read on SeaweedFS.
    assert store.admin is not None
    retention = store.admin.get_object_retention(s3_server.bucket_published, key)
    assert retention is not None and retention.mode == "COMPLIANCE"
    days = s3_server.published_retention_days
    assert retention.retain_until_date > dt.datetime.now(dt.UTC) + dt.timedelta(days=days - 1)
    [(version, _)] = _versions(store, s3_server.bucket_published, key)
    # Not even the administrator deletes it: retention and the bucket policy both refuse.
    _denied(lambda: store.admin.remove_object(s3_server.bucket_published, key))  # type: ignore[union-attr]
    _denied(
        lambda: store.admin.remove_object(  # type: ignore[union-attr]
            s3_server.bucket_published, key, version_id=version
        )
    )
    assert _versions(store, s3_server.bucket_published, key) == [(version, False)]


def test_the_pipeline_identity_cannot_overwrite_delete_or_hide_a_published_document(
    s3_server: Settings, store: ObjectStore
) -> None:
    number, docs = _license(store, s3_server)
    manifest = Publisher(store, s3_server).publish(number)
    bucket = s3_server.bucket_published
    key = manifest.files[0].key
    before = _versions(store, bucket, key)
    pipeline = store.client  # the pipeline's own credentials, not the publisher's
    _denied(lambda: pipeline.put_object(bucket, key, io.BytesIO(b"forged"), 6))
    _denied(lambda: pipeline.put_object(bucket, f"{key}.new", io.BytesIO(b"new"), 3))
    _denied(lambda: pipeline.copy_object(bucket, key, CopySource(bucket, manifest.files[1].key)))
    _denied(lambda: pipeline.remove_object(bucket, key))  # would add a delete marker
    _denied(lambda: pipeline.remove_object(bucket, key, version_id=before[0][0]))
    errors = list(pipeline.remove_objects(bucket, [DeleteObject(key)]))
    assert [e.code for e in errors] == ["AccessDenied"]
    # ... nor lift the policy that says so: it is no administrator.
    _denied(lambda: pipeline.delete_bucket_policy(bucket))
    _denied(lambda: pipeline.set_bucket_policy(bucket, json.dumps({"Version": "2012-10-17"})))
    assert _versions(store, bucket, key) == before
    assert store.get_bytes(bucket, key) == docs[manifest.files[0].source_key]
    assert {f.sha256 for f in current_files(store, s3_server, number)} == {
        sha256_hex(d) for d in docs.values()
    }


def test_the_publisher_creates_once_and_cannot_delete(
    s3_server: Settings, store: ObjectStore
) -> None:
    number, docs = _license(store, s3_server)
    manifest = Publisher(store, s3_server).publish(number)
    bucket = s3_server.bucket_published
    key = manifest.files[0].key
    original = docs[manifest.files[0].source_key]
    [(version, _)] = _versions(store, bucket, key)
    # Every write of the pipeline's code to this bucket is conditional: a second
    # write of a published key is refused by the server with a coded error.
    with pytest.raises(ObjectExists) as exists:
        store.put_bytes(bucket, key, b"forged", if_absent=True)
    assert exists.value.code == "storage.exists"
    publisher = store.writer(bucket)
    assert publisher is not store.client
    _denied(lambda: publisher.remove_object(bucket, key))
    _denied(lambda: publisher.remove_object(bucket, key, version_id=version))
    errors = list(publisher.remove_objects(bucket, [DeleteObject(key)]))
    assert [e.code for e in errors] == ["AccessDenied"]
    assert _versions(store, bucket, key) == [(version, False)]
    # What SeaweedFS cannot refuse: an unconditional PUT with the publisher's own
    # credentials adds a newer version.  The signed version stays, locked, and
    # fetch refuses the newer one.
    publisher.put_object(bucket, key, io.BytesIO(b"forged"), 6)
    versions = _versions(store, bucket, key)
    assert len(versions) == 2 and versions[-1] == (version, False)
    kept = store.client.get_object(bucket, key, version_id=version)
    assert kept.read() == original
    with pytest.raises(IntegrityError):
        current_files(store, s3_server, number)


def test_a_manifest_is_replaced_only_if_it_is_the_version_read(
    s3_server: Settings, store: ObjectStore
) -> None:
    number, _ = _license(store, s3_server)
    publisher = Publisher(store, s3_server)
    publisher.publish(number)
    bucket, key = s3_server.bucket_published, license_prefix(number) + MANIFEST
    body, etag = store.get_with_etag(bucket, key)

    def touched(seconds: int) -> bytes:
        # Same content but the time: an ETag names content, so it must differ.
        data = json.loads(body)
        data["updated_at"] = (NOW + dt.timedelta(seconds=seconds)).isoformat()
        return json.dumps(data).encode()

    store.put_bytes(bucket, key, touched(1), content_type="application/json", if_match=etag)
    with pytest.raises(ObjectExists) as stale:
        store.put_bytes(bucket, key, touched(2), if_match=etag)
    assert stale.value.code == "storage.changed"
    # A publisher that lost such a race reads again: the duplicate still lands.
    app_id = publisher.manifest(number).entry.app_id  # type: ignore[union-attr]
    dup = f"applications/{app_id}/duplicate-{number}-D1.pdf"
    store.put_bytes(s3_server.bucket_artifacts, dup, b"%PDF dup")
    Registry(store, s3_server).register_duplicate(
        DuplicateEntry(
            number=number, duplicate_no=1, app_id=app_id, issued_at=NOW, documents=(dup,)
        )
    )
    original_read = Publisher._manifest_and_etag
    calls = 0

    def read_then_lose_the_race(self: Publisher, n: str):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        got = original_read(self, n)
        if calls == 1:  # another publisher replaces the manifest right after our read
            store.put_bytes(bucket, key, touched(3), content_type="application/json")
        return got

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Publisher, "_manifest_and_etag", read_then_lose_the_race)
        updated = publisher.publish(number)
    assert calls == 2
    assert [f.role for f in updated.files][-1] == "duplicate-license"
    assert json.loads(store.get_bytes(bucket, key))["duplicates"][0]["duplicate_no"] == 1


def test_downstream_can_list_fetch_and_verify_but_not_read_applications_or_write(
    s3_server: Settings, store: ObjectStore, downstream: ObjectStore
) -> None:
    number, docs = _license(store, s3_server)
    Publisher(store, s3_server).publish(number)
    listed = list(downstream.list_keys(s3_server.bucket_published, license_prefix(number)))
    assert len(listed) == 3
    files = current_files(downstream, s3_server, number)
    assert {f.sha256 for f in files} == {sha256_hex(d) for d in docs.values()}
    artifact_key = next(iter(docs))
    with pytest.raises(StorageError) as exc:
        downstream.get_bytes(s3_server.bucket_artifacts, artifact_key)
    assert exc.value.code == "storage.access_denied"
    with pytest.raises(StorageError) as exc:
        list(downstream.list_keys(s3_server.bucket_artifacts, "applications/"))
    assert exc.value.code == "storage.access_denied"
    for bucket in (s3_server.bucket_published, s3_server.bucket_artifacts):
        with pytest.raises(StorageError) as exc:
            downstream.put_bytes(bucket, f"licenses/{number}/extra.pdf", b"x")
        assert exc.value.code == "storage.access_denied"
    with pytest.raises(Exception) as denied:
        downstream.client.remove_object(s3_server.bucket_published, listed[0])
    assert getattr(denied.value, "code", "") == "AccessDenied"


def test_fetch_prints_working_presigned_urls_and_downloads(
    s3_server: Settings, store: ObjectStore, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    number, docs = _license(store, s3_server)
    Publisher(store, s3_server).publish(number)
    assert main(["fetch", number, "--json", "--downstream"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    for line in lines:
        body = httpx.get(line["url"], timeout=10).content
        assert sha256_hex(body) == line["sha256"]
    assert main(["fetch", number, "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(k.rsplit("/", 1)[-1] for k in docs)


def test_fetch_refuses_a_tampered_document(
    s3_server: Settings, store: ObjectStore, capsys: pytest.CaptureFixture[str]
) -> None:
    number, _ = _license(store, s3_server)
    manifest = Publisher(store, s3_server).publish(number)
    f = manifest.files[1]
    # Tampered: other bytes under the recorded SHA-256 (a newer version of the key,
    # which only the publisher's credentials can write).
    store.writer(s3_server.bucket_published).put_object(
        s3_server.bucket_published,
        f.key,
        io.BytesIO(b"tampered"),
        8,
        metadata={"sha256": f.sha256},
    )
    capsys.readouterr()
    assert main(["fetch", number]) == 2
    assert "storage.integrity" in capsys.readouterr().err


def test_events_cli_prints_json_lines_from_a_cursor(
    s3_server: Settings, store: ObjectStore, capsys: pytest.CaptureFixture[str]
) -> None:
    app = f"app-{uuid.uuid4().hex[:16]}"
    first = emit(store, s3_server, EventType.APPLICATION_RECEIVED, app)
    emit(store, s3_server, EventType.APPLICATION_ACCEPTED, app)
    emit(store, s3_server, EventType.LICENSE_ISSUED, app, license_number="KZ26-0001")
    emit(store, s3_server, EventType.APPLICATION_ACCEPTED, app)  # a repeat: no new event
    capsys.readouterr()
    assert main(["events", "--since", str(first.seq - 1), "--downstream"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    mine = [e for e in events if e["application_id"] == app]
    assert [e["type"] for e in mine] == [
        "application.received",
        "application.accepted",
        "license.issued",
    ]
    assert all(
        {"seq", "type", "time", "application_id", "license_number"} <= e.keys() for e in mine
    )
    assert mine[-1]["license_number"] == "KZ26-0001"
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert main(["events", "--since", str(first.seq - 1), "--limit", "1"]) == 0
    limited = capsys.readouterr().out.splitlines()
    assert len(limited) == 1 and json.loads(limited[0])["seq"] == first.seq


def test_the_daily_report_lists_overdue_and_due_today_open_applications(
    s3_server: Settings, store: ObjectStore
) -> None:
    from types import SimpleNamespace

    from medlicense.models import Outcome, PackageVerdict
    from medlicense.records import ApplicationFile, AppState, StepEvent
    from medlicense.report import due_report
    from medlicense.rules import load_rulebook

    reg = Registry(store, s3_server)
    ctx = SimpleNamespace(settings=s3_server, store=store, rulebook=load_rulebook(None))
    old = dt.datetime(2025, 1, 6, 5, 0, tzinfo=dt.UTC)
    app_id = f"app-{uuid.uuid4().hex[:16]}"
    reg.save_application(
        ApplicationFile(
            app_id=app_id,
            upload_key=f"incoming/report/{app_id}.zip",
            received_at=old,
            receipt_number="Q-REPORT",
            receipt_key=f"applications/{app_id}/receipt-Q-REPORT.pdf",
            verdict=PackageVerdict(
                package="p.zip", package_sha256="0" * 64, outcome=Outcome.ACCEPTED
            ),
            package_key=f"applications/{app_id}/package/p.zip",
        )
    )
    reg.record_event(
        app_id,
        StepEvent(
            key="register", step="provider.register", actor="clerk", at=old, state=AppState.ACCEPTED
        ),
    )
    reg.record_event(
        app_id,
        StepEvent(
            key="assign", step="provider.assign", actor="head", at=old, state=AppState.IN_REVIEW
        ),
    )
    items = {i.app_id: i for i in due_report(ctx, dt.datetime.now(dt.UTC))}  # type: ignore[arg-type]
    assert items[app_id].status == "overdue"
    assert items[app_id].waiting_for == "provider.review"
    # Nothing is due for it when "now" is the day it arrived, long before the limit.
    assert app_id not in {i.app_id for i in due_report(ctx, old)}  # type: ignore[arg-type]
