"""The intake job of a warm worker (:func:`medlicense.workers._package_job`) on one package,
against the real S3 server under the ``auto`` policy: what it costs the server in
requests, and what ``record.json`` says after it, whether it ends well or not."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from minio import Minio

from extractors.package import open_package
from medlicense import licensing, workers
from medlicense.errors import StorageUnavailable
from medlicense.processing import IntakeContext, application_id
from medlicense.publish import event_log
from medlicense.records import ApplicationRecord, NumberClaim
from medlicense.settings import Settings
from storage.client import sha256_hex
from tests.flows.helpers import PLACE, package

# An accepted package issued on the spot takes about 45 requests (the three events, the
# number, the signed documents, their publication, the record); before record.json was
# refreshed once per job it took 128.
MAX_REQUESTS = 52
OWNER = "job-test"


@pytest.fixture(scope="module")
def auto_ctx(s3_server: Settings) -> Iterator[IntakeContext]:
    from medlicense.processing import intake_context

    settings = s3_server.model_copy(update={"review_policy": "auto", "head_confirmation": False})
    with intake_context(settings) as built:
        yield built


@pytest.fixture
def job(auto_ctx: IntakeContext, monkeypatch: pytest.MonkeyPatch) -> IntakeContext:
    monkeypatch.setattr(workers, "_ctx", auto_ctx)
    # License numbers from a scope of their own: the workflow tests share the server
    # and expect the year's numbering to start with their first license.
    scope = f"job-{uuid.uuid4().hex[:8]}"

    def allocate(ctx: IntakeContext, app_id: str, now: dt.datetime) -> NumberClaim:
        return licensing.registry(ctx).allocate(
            scope, app_id, lambda _scope, seq: f"JT-{seq:04d}", now, binding="license"
        )

    monkeypatch.setattr(licensing, "allocate_license_number", allocate)
    return auto_ctx


@pytest.fixture(autouse=True)
def _leave_no_queue(auto_ctx: IntakeContext) -> Iterator[None]:
    """Applications these jobs leave queued have no live batch behind them: the workflow
    tests, which share the server, would start review runs for them."""
    yield
    registry = licensing.registry(auto_ctx)
    for app_id in registry.queued_reviews():
        claim = registry.intake_claim(app_id)
        if claim is not None and claim.owner == OWNER:
            registry.dequeue_review(app_id)


def _upload(ctx: IntakeContext, seed: int) -> str:
    key = f"{ctx.settings.uploads_prefix}job/{uuid.uuid4().hex[:12]}.zip"
    ctx.store.put_bytes(
        ctx.settings.bucket_uploads,
        key,
        package(seed, places=[PLACE]),
        content_type="application/zip",
    )
    return key


def _record(ctx: IntakeContext, app_id: str) -> ApplicationRecord:
    raw = ctx.store.get_bytes(ctx.settings.bucket_artifacts, f"applications/{app_id}/record.json")
    return ApplicationRecord.model_validate(json.loads(raw))


def _events_of(ctx: IntakeContext, app_id: str) -> list[Any]:
    return [e for e in event_log(ctx.store, ctx.settings).since(0) if e.application_id == app_id]


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every HTTP request any S3 client of this process sends, by method."""
    counted: Counter[str] = Counter()
    original = Minio._url_open

    def counting(self: Minio, method: str, *args: Any, **kwargs: Any) -> Any:
        counted[method] += 1
        return original(self, method, *args, **kwargs)

    monkeypatch.setattr(Minio, "_url_open", counting)
    return counted


def test_one_package_costs_few_requests_and_leaves_a_complete_record(
    job: IntakeContext, requests: Counter[str]
) -> None:
    key = _upload(job, 501)
    requests.clear()
    outcome = workers._package_job(key, OWNER)
    spent = sum(requests.values())
    assert outcome is not None and outcome.decided is not None, outcome
    assert outcome.decided.outcome == "issued"
    assert spent <= MAX_REQUESTS, dict(requests)
    # Nothing is looked up that this job had just written or knew to be absent.
    assert requests["HEAD"] == 0, dict(requests)

    app_id = application_id(key)
    record = _record(job, app_id)
    assert record.state == "issued" and record.license_number == outcome.decided.number
    assert [e.key for e in record.history] == ["register", "assign", "review-1", "sign", "deliver"]
    assert record.result_keys == outcome.decided.documents
    # Every document under the application, each with the digest of what is stored.
    bucket = job.settings.bucket_artifacts
    prefix = f"applications/{app_id}/"
    documents = [
        k
        for k in job.store.list_keys(bucket, prefix)
        if k[len(prefix) :].startswith(("package/", "documents/")) or k.endswith(".pdf")
    ]
    assert {d.key: d.sha256 for d in record.documents} == {
        k: sha256_hex(job.store.get_bytes(bucket, k)) for k in documents
    }
    assert set(outcome.decided.documents) <= set(documents)
    # Decided without a person: its files stay in the kept package, not stored a second time.
    assert not [k for k in documents if k.startswith(f"{prefix}documents/")]
    assert [e.type.value for e in _events_of(job, app_id)] == [
        "application.received",
        "application.accepted",
        "license.issued",
    ]


def test_a_repeated_job_changes_nothing_and_repeats_no_event(
    job: IntakeContext, requests: Counter[str]
) -> None:
    key = _upload(job, 502)
    first = workers._package_job(key, OWNER)
    app_id = application_id(key)
    before = _record(job, app_id)
    # The same run again, as a retry after a lost answer: it holds its own claim.
    again = workers._package_job(key, OWNER)
    assert again == first
    assert _record(job, app_id).history == before.history
    events = _events_of(job, app_id)
    assert len(events) == 3 and len({e.id for e in events}) == 3


def test_record_json_is_refreshed_when_the_auto_review_fails(
    job: IntakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _upload(job, 503)
    app_id = application_id(key)

    def storage_down(*_: object, **__: object) -> None:
        raise StorageUnavailable("published bucket unreachable")

    with monkeypatch.context() as mp:
        mp.setattr(licensing, "_publish", storage_down)
        outcome = workers._package_job(key, OWNER)
    assert outcome is not None and outcome.decided is None
    assert outcome.auto_review_error == "storage.unavailable"
    assert outcome.handover is None  # its review run prepares the form itself
    # The steps done before the failure are in the view, although nothing was
    # refreshed on the way.
    assert [e.key for e in _record(job, app_id).history] == [
        "register",
        "assign",
        "review-1",
        "sign",
    ]
    # Retried, the job finishes what was left, with the number and documents of the first try.
    retried = workers._package_job(key, OWNER)
    assert retried is not None and retried.decided is not None
    record = _record(job, app_id)
    assert record.state == "issued" and record.history[-1].key == "deliver"
    assert len([e for e in _events_of(job, app_id) if e.type.value == "license.issued"]) == 1


def test_record_json_is_refreshed_when_the_job_crashes(
    job: IntakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _upload(job, 504)
    app_id = application_id(key)

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("worker bug")

    monkeypatch.setattr(licensing, "_publish", crash)
    with pytest.raises(RuntimeError, match="worker bug"):
        workers._package_job(key, OWNER)
    assert [e.key for e in _record(job, app_id).history][-1] == "sign"


def test_under_the_manual_policy_the_job_stops_at_the_executors_form(
    auto_ctx: IntakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No auto review: the executor is assigned and the form prepared for the review run;
    the record, rebuilt once at the end of the job, says in review."""
    manual = dataclasses.replace(
        auto_ctx, settings=auto_ctx.settings.model_copy(update={"review_policy": "manual"})
    )
    monkeypatch.setattr(workers, "_ctx", manual)
    key = _upload(manual, 505)
    outcome = workers._package_job(key, OWNER)
    assert outcome is not None and outcome.decided is None and outcome.auto_review_error is None
    assert outcome.handover is not None and outcome.handover.app_id == application_id(key)
    assert "### Documents" in outcome.handover.form.description
    assert "Waiting for the executor" in outcome.handover.page
    record = _record(manual, application_id(key))
    assert record.state == "in_review" and [e.key for e in record.history] == ["register", "assign"]
    # The form links each document on its own: every one is stored, as it was in the package.
    bucket = manual.settings.bucket_artifacts
    base = f"applications/{record.app_id}/documents/"
    upload = manual.store.get_bytes(manual.settings.bucket_uploads, key)
    members = open_package(upload, "p.zip").files
    assert members
    for member in members:
        assert f"[{member.name}](" in outcome.handover.form.description
        assert manual.store.get_bytes(bucket, base + member.name) == member.data
    assert {d.key for d in record.documents} >= {base + m.name for m in members}
