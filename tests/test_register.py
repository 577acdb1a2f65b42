"""The register's exactly-once rules and the application record (``record.json``) against
the real S3 server, without Prefect."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from medlicense.errors import ObjectExists, StorageUnavailable
from medlicense.models import ApplicationRequest, Outcome, PackageVerdict
from medlicense.processing import IntakeContext
from medlicense.records import (
    ApplicationFile,
    AppState,
    Decision,
    HeadDecision,
    ReviewDecision,
    StepEvent,
)
from medlicense.register import Registry
from medlicense.settings import Settings
from storage.client import ObjectStore

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def registry(s3_server: Settings) -> Registry:
    return Registry(ObjectStore.from_settings(s3_server), s3_server)


def _fmt(scope: str, seq: int) -> str:
    return f"T{scope}-{seq:04d}"


def test_concurrent_allocation_is_unique_and_gap_free(registry: Registry) -> None:
    scope = f"t-{uuid.uuid4().hex[:8]}"
    apps = [f"app-{i:02d}" for i in range(12)]

    def take(app: str) -> str:
        return registry.allocate(scope, f"{scope}-{app}", _fmt, NOW, binding="license").number

    with ThreadPoolExecutor(6) as pool:
        # Every application asks twice at once, as a retried or doubled run would.
        numbers = list(pool.map(take, apps + apps))
    first, again = numbers[: len(apps)], numbers[len(apps) :]
    assert first == again, "a repeat got another number"
    assert sorted(first) == [_fmt(scope, i) for i in range(1, len(apps) + 1)]
    claims = registry.claims(scope)
    assert [c.seq for c in claims] == list(range(1, len(apps) + 1))


def test_a_claim_left_by_a_crash_is_found_again(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope = f"t-{uuid.uuid4().hex[:8]}"
    victim, other1, other2 = (f"{scope}-{n}" for n in ("victim", "other-1", "other-2"))
    registry.allocate(scope, other1, _fmt, NOW, binding="license")
    original_put_once = Registry.put_once

    def crash_on_binding(self: Registry, key: str, record):  # type: ignore[no-untyped-def]
        if key.endswith("/numbers/license.json"):
            raise RuntimeError("killed after claiming, before binding")
        return original_put_once(self, key, record)

    monkeypatch.setattr(Registry, "put_once", crash_on_binding)
    with pytest.raises(RuntimeError):
        registry.allocate(scope, victim, _fmt, NOW, binding="license")
    monkeypatch.setattr(Registry, "put_once", original_put_once)
    # Others take numbers meanwhile; the victim must get back the one it claimed.
    registry.allocate(scope, other2, _fmt, NOW, binding="license")
    held = registry.allocate(scope, victim, _fmt, NOW, binding="license")
    assert held.seq == 2
    assert [c.app_id for c in registry.claims(scope)] == [other1, victim, other2]


def test_a_repeat_in_a_new_year_keeps_the_first_scope(registry: Registry) -> None:
    year = f"y-{uuid.uuid4().hex[:6]}"
    first = registry.allocate(year, f"{year}-app", _fmt, NOW, binding="license")
    later = registry.allocate(f"{year}-next", f"{year}-app", _fmt, NOW, binding="license")
    assert later == first


def test_a_repeat_in_a_new_year_after_a_crash_before_claiming_keeps_the_first_scope(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    year = f"y-{uuid.uuid4().hex[:6]}"
    app = f"{year}-app"
    original_put_once = Registry.put_once

    def crash_on_claim(self: Registry, key: str, record):  # type: ignore[no-untyped-def]
        if key.startswith("register/numbers/"):
            raise RuntimeError("killed after the attempt marker, before claiming")
        return original_put_once(self, key, record)

    monkeypatch.setattr(Registry, "put_once", crash_on_claim)
    with pytest.raises(RuntimeError):
        registry.allocate(year, app, _fmt, NOW, binding="license")
    monkeypatch.setattr(Registry, "put_once", original_put_once)
    held = registry.allocate(f"{year}-next", app, _fmt, NOW, binding="license")
    assert (held.scope, held.seq) == (year, 1)
    assert registry.claims(f"{year}-next") == []


def test_intake_claims_exclude_other_runs_until_stale(registry: Registry) -> None:
    app = f"app-{uuid.uuid4().hex[:8]}"
    assert registry.claim_package(app, "run-a", NOW)
    assert registry.claim_package(app, "run-a", NOW), "a retry holds its own claim"
    assert not registry.claim_package(app, "run-b", NOW + dt.timedelta(seconds=5))
    stale = NOW + dt.timedelta(seconds=registry.settings.claim_stale_seconds + 1)
    assert registry.claim_package(app, "run-b", stale)


def test_signed_documents_are_never_overwritten(s3_server: Settings) -> None:
    store = ObjectStore.from_settings(s3_server)
    key = f"applications/test-{uuid.uuid4().hex[:8]}/license-X.pdf"
    store.put_bytes(s3_server.bucket_artifacts, key, b"first", if_absent=True)
    with pytest.raises(ObjectExists):
        store.put_bytes(s3_server.bucket_artifacts, key, b"second", if_absent=True)
    assert store.get_bytes(s3_server.bucket_artifacts, key) == b"first"


@pytest.fixture(scope="module")
def ctx(s3_server: Settings) -> Iterator[IntakeContext]:
    """A real working context: signing key, renderer, rules, the development TSA."""
    from medlicense.processing import intake_context

    with intake_context(s3_server) as built:
        yield built


def _accepted(ctx: IntakeContext, received: dt.datetime) -> ApplicationFile:
    app_id = f"app-{uuid.uuid4().hex[:16]}"
    app = ApplicationFile(
        app_id=app_id,
        upload_key=f"incoming/decisions/{app_id}.zip",
        received_at=received,
        receipt_number="Q-DECISIONS",
        receipt_key=f"applications/{app_id}/receipt-Q-DECISIONS.pdf",
        verdict=PackageVerdict(
            package="p.zip",
            package_sha256="0" * 64,
            outcome=Outcome.ACCEPTED,
            request=ApplicationRequest(
                iin_bin="990240001227",
                applicant_name="ТОО «Шешім»",
                subtypes=("outpatient_consultative",),
                places=("Орал қ., Құрманғазы көшесі, 154",),
            ),
        ),
        package_key=f"applications/{app_id}/package/p.zip",
    )
    Registry(ctx.store, ctx.settings).save_application(app)
    return app


def test_record_json_holds_every_decision_as_plain_data(ctx: IntakeContext) -> None:
    from medlicense.licensing import begin_review, record_decision, record_head, refuse

    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    at = [start + dt.timedelta(minutes=10 * i) for i in range(5)]
    app = _accepted(ctx, start)
    begin_review(ctx, app.app_id, at[0])
    # Round 1: approved, the head sends the draft back; round 2: refused, the head signs.
    approve = ReviewDecision(
        decision=Decision.APPROVE,
        actor="Жақсылықов Б. Т.",
        subtypes=("outpatient_consultative",),
        places=("Орал қ., Құрманғазы көшесі, 154",),
    )
    record_decision(ctx, app, approve, round_no=1, at=at[1])
    back = HeadDecision(confirmed=False, actor="Басшы", comment="Біліктілік расталмаған")
    record_head(ctx, app, back, round_no=1, at=at[2])
    no = ReviewDecision(
        decision=Decision.REFUSE,
        actor="Жақсылықов Б. Т.",
        grounds=("qualification_not_met",),
        reasoning="Маманның сертификаты жоқ / Нет сертификата специалиста",
    )
    record_decision(ctx, app, no, round_no=2, at=at[3])
    signs = HeadDecision(confirmed=True, actor="Басшы")
    record_head(ctx, app, signs, round_no=2, at=at[4])
    result = refuse(ctx, app.app_id, no, signs, at[4])

    # What someone without this code reads: the JSON object in the artifacts bucket.
    raw = json.loads(
        ctx.store.get_bytes(ctx.settings.bucket_artifacts, f"applications/{app.app_id}/record.json")
    )
    decisions = raw["decisions"]
    assert [(d["kind"], d["round"], d["decision"]) for d in decisions] == [
        ("review", 1, "approve"),
        ("head", 1, "return"),
        ("review", 2, "refuse"),
        ("head", 2, "confirm"),
        ("result", None, "refused"),
    ]
    first, returned, refused, confirmed, final = decisions
    assert first["actor"] == "Жақсылықов Б. Т." and first["at"].startswith(at[1].isoformat()[:19])
    assert first["subtypes"] == ["outpatient_consultative"] and first["grounds"] == []
    assert returned["actor"] == "Басшы" and returned["comment"] == "Біліктілік расталмаған"
    assert refused["grounds"] == ["qualification_not_met"]
    assert refused["reasoning"] == "Маманның сертификаты жоқ / Нет сертификата специалиста"
    assert confirmed["comment"] == ""
    assert final["number"] == result.number and final["documents"] == list(result.documents)
    assert final["documents"][0].endswith(f"/refusal-{result.number}.pdf")
    assert raw["state"] == "refused"
    # Each decision is stored with its step, so the history carries the same data.
    assert [e["decision"] for e in raw["history"] if e["decision"]] == decisions


def test_a_record_written_before_decisions_existed_still_reads(registry: Registry) -> None:
    app_id = f"app-{uuid.uuid4().hex[:16]}"
    old = {
        "app_id": app_id,
        "state": "in_review",
        "kind": "issue",
        "history": [
            {
                "key": "review-1",
                "step": "provider.review",
                "actor": "executor",
                "at": NOW.isoformat(),
                "state": "approved",
                "detail": "approve",
            }
        ],
    }
    registry.store.put_bytes(
        registry.bucket,
        f"applications/{app_id}/record.json",
        json.dumps(old).encode(),
        content_type="application/json",
    )
    record = registry.record(app_id)
    assert record is not None and record.decisions == ()
    assert record.history[0].decision is None


def test_a_record_refresh_reads_only_what_is_new(
    ctx: IntakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events and documents are create-only: a refresh takes the ones the previous
    record.json holds from it and reads only the new event, however long the history."""
    from medlicense.licensing import begin_review, record_decision

    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    app = _accepted(ctx, start)
    begin_review(ctx, app.app_id, start + dt.timedelta(minutes=1))
    registry = Registry(ctx.store, ctx.settings)
    for n in range(2, 6):
        registry.record_event(
            app.app_id,
            StepEvent(
                key=f"note-{n}",
                step="provider.review",
                actor="Жақсылықов Б. Т.",
                at=start + dt.timedelta(minutes=n),
                state=AppState.IN_REVIEW,
            ),
        )
    read: list[str] = []
    original = ctx.store.get_bytes

    def counting(bucket: str, key: str) -> bytes:
        read.append(key)
        return original(bucket, key)

    monkeypatch.setattr(ctx.store, "get_bytes", counting)
    decision = ReviewDecision(
        decision=Decision.APPROVE,
        actor="Жақсылықов Б. Т.",
        subtypes=("outpatient_consultative",),
        places=("Орал қ., Құрманғазы көшесі, 154",),
    )
    record_decision(ctx, registry.application(app.app_id), decision, round_no=1, at=start)
    event_reads = [k for k in read if "/events/" in k]
    assert event_reads == [f"applications/{app.app_id}/events/review-1.json"]
    record = registry.record(app.app_id)
    assert record is not None
    assert "review-1" in {e.key for e in record.history}
    assert len(record.history) == 6  # assign, four notes, the decision


def _step(key: str, at: dt.datetime) -> StepEvent:
    return StepEvent(
        key=key, step="provider.review", actor="Жақсылықов Б. Т.", at=at, state=AppState.IN_REVIEW
    )


def _record_writes(ctx: IntakeContext, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    written: list[str] = []
    original = ctx.store.put_bytes

    def spy(bucket: str, key: str, data: bytes, **kwargs: object) -> object:
        if key.endswith("/record.json"):
            written.append(key)
        return original(bucket, key, data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ctx.store, "put_bytes", spy)
    return written


def test_a_unit_of_work_rebuilds_the_record_once_at_its_end(
    ctx: IntakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from medlicense.register import unit_of_work

    app = _accepted(ctx, NOW)
    written = _record_writes(ctx, monkeypatch)
    # Registries made ad hoc, as the steps do, all belong to the unit.
    with unit_of_work():
        for n in range(3):
            Registry(ctx.store, ctx.settings).record_event(
                app.app_id, _step(f"note-{n}", NOW + dt.timedelta(minutes=n))
            )
        with unit_of_work():  # a nested unit is part of the outer one
            Registry(ctx.store, ctx.settings).record_event(
                app.app_id, _step("note-3", NOW + dt.timedelta(minutes=3))
            )
        assert written == []
        assert Registry(ctx.store, ctx.settings).record(app.app_id) is None
    assert written == [f"applications/{app.app_id}/record.json"]
    record = Registry(ctx.store, ctx.settings).record(app.app_id)
    assert record is not None
    assert [e.key for e in record.history] == ["note-0", "note-1", "note-2", "note-3"]
    # Outside a unit, each step refreshes at once, as before.
    Registry(ctx.store, ctx.settings).record_event(
        app.app_id, _step("note-4", NOW + dt.timedelta(minutes=4))
    )
    assert len(written) == 2


def test_a_unit_that_fails_still_rebuilds_the_record_and_keeps_its_exception(
    ctx: IntakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from medlicense.register import unit_of_work

    app = _accepted(ctx, NOW)
    registry = Registry(ctx.store, ctx.settings)
    with pytest.raises(RuntimeError, match="step failed"), unit_of_work():
        registry.record_event(app.app_id, _step("done", NOW))
        raise RuntimeError("step failed")
    record = registry.record(app.app_id)
    assert record is not None and [e.key for e in record.history] == ["done"]

    # A refresh that fails too does not hide why the unit failed.
    other = _accepted(ctx, NOW)

    def no_refresh(self: Registry, app_id: str) -> None:
        raise StorageUnavailable("down")

    with pytest.raises(RuntimeError, match="step failed") as failed, unit_of_work():
        registry.record_event(other.app_id, _step("done", NOW))
        monkeypatch.setattr(Registry, "refresh_record", no_refresh)
        raise RuntimeError("step failed")
    assert any(other.app_id in note for note in failed.value.__notes__)


def test_a_unit_reads_create_only_records_once_and_never_remembers_absence(
    ctx: IntakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from medlicense.register import unit_of_work

    app = _accepted(ctx, NOW)
    registry = Registry(ctx.store, ctx.settings)
    registry.record_event(app.app_id, _step("done", NOW))
    registry.enqueue_review(app.app_id, NOW)
    fetched: list[str] = []
    original = ctx.store.get_with_etag

    def counting(bucket: str, key: str, **kwargs: bool) -> tuple[bytes, str]:
        fetched.append(key.removeprefix(f"applications/{app.app_id}/"))
        return original(bucket, key, **kwargs)

    monkeypatch.setattr(ctx.store, "get_with_etag", counting)
    queued = f"queue/review/{app.app_id}.json"
    with unit_of_work():
        for _ in range(2):
            assert registry.application(app.app_id) == app
            assert registry.event(app.app_id, "done") is not None
            assert registry.result(app.app_id) is None
            assert registry.record(app.app_id) is not None
            assert registry.queued_review(app.app_id) is not None
    # Once: what never changes.  Every time: what is absent, rewritten or deleted.
    assert fetched == [
        "application.json",
        "events/done.json",
        *(["result.json", "record.json", queued] * 2),
    ]


def test_a_unit_knows_the_claims_and_bindings_it_created(registry: Registry) -> None:
    from medlicense.register import bound_here, claimed_here, unit_of_work

    scope = f"t-{uuid.uuid4().hex[:8]}"
    app, other = f"{scope}-app", f"{scope}-other"
    assert registry.claim_package(other, "run-b", NOW)
    with unit_of_work():
        assert registry.claim_package(app, "run-a", NOW) and claimed_here(app)
        assert registry.claim_package(other, "run-b", NOW) and not claimed_here(other)
        registry.allocate(scope, app, _fmt, NOW, binding="license")
        assert bound_here(app, "license") and not bound_here(app, "duplicate")
    assert not claimed_here(app) and not bound_here(app, "license")
    with unit_of_work():
        # A repeat holds the same claim and number, but made neither.
        assert registry.claim_package(app, "run-a", NOW) and not claimed_here(app)
        registry.allocate(scope, app, _fmt, NOW, binding="license")
        assert not bound_here(app, "license")


def test_a_number_costs_the_same_however_long_the_register_is(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived worker lists only the numbers claimed since its last one, not the
    year's whole register on every license."""
    scope = f"t-{uuid.uuid4().hex[:8]}"
    for i in range(25):
        registry.allocate(scope, f"{scope}-app-{i}", _fmt, NOW, binding="license")
    listed: list[str] = []
    original = ObjectStore.list_keys

    def counting(self: ObjectStore, *args: Any, **kwargs: Any) -> Iterator[str]:
        for key in original(self, *args, **kwargs):
            listed.append(key)
            yield key

    monkeypatch.setattr(ObjectStore, "list_keys", counting)
    claim = registry.allocate(scope, f"{scope}-app-last", _fmt, NOW, binding="license")
    assert claim.seq == 26
    assert [k for k in listed if "/numbers/" in k] == [f"register/numbers/{scope}/000025.json"]
    # Another process (a fresh store object) knows nothing yet and lists them all.
    other = Registry(ObjectStore.from_settings(registry.settings), registry.settings)
    assert other.allocate(scope, f"{scope}-app-other", _fmt, NOW, binding="license").seq == 27


def test_a_register_emptied_under_a_running_process_starts_again_at_one(
    registry: Registry,
) -> None:
    scope = f"t-{uuid.uuid4().hex[:8]}"
    for i in range(3):
        registry.allocate(scope, f"{scope}-app-{i}", _fmt, NOW, binding="license")
    for key in list(registry.keys(f"register/numbers/{scope}/")):
        registry.store.client.remove_object(registry.bucket, key)
    claim = registry.allocate(scope, f"{scope}-app-new", _fmt, NOW, binding="license")
    assert claim.seq == 1, "a number was skipped on the strength of a stale memory"
