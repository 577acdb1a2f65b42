"""The event log against a real S3 server: order, uniqueness under races, cursors, repeats."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from medlicense.settings import Settings
from storage.client import ObjectStore
from storage.events import INDEX_PREFIX, EventLog, EventType, event_id, first_attempt


@pytest.fixture
def log(s3_server: Settings) -> EventLog:
    store = ObjectStore.from_settings(s3_server)
    bucket = f"events-{uuid.uuid4().hex[:12]}"
    store.ensure_buckets(bucket)
    return EventLog(store, bucket)


def test_sequence_is_monotonic_and_cursor_reads_the_rest(log: EventLog) -> None:
    first = log.append(EventType.APPLICATION_RECEIVED, "app-1")
    second = log.append(EventType.APPLICATION_ACCEPTED, "app-1")
    third = log.append(EventType.LICENSE_ISSUED, "app-1", license_number="KZ26-0001")
    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert [e.seq for e in log.since(0)] == [1, 2, 3]
    tail = list(log.since(1))
    assert [e.type for e in tail] == [EventType.APPLICATION_ACCEPTED, EventType.LICENSE_ISSUED]
    assert tail[-1].license_number == "KZ26-0001"
    assert list(log.since(3)) == []


def test_the_same_event_is_recorded_once(log: EventLog) -> None:
    a = log.append(EventType.APPLICATION_REFUSED, "app-2")
    b = log.append(EventType.APPLICATION_REFUSED, "app-2")
    assert a == b
    assert len(list(log.since(0))) == 1


def test_concurrent_writers_never_share_a_sequence_number(
    log: EventLog, s3_server: Settings
) -> None:
    # Separate EventLog objects: separate processes in production, no shared lock.
    store = ObjectStore.from_settings(s3_server)
    writers = [EventLog(store, log.bucket) for _ in range(4)]

    def write(i: int) -> int:
        return writers[i % 4].append(EventType.APPLICATION_RECEIVED, f"app-{i}").seq

    with ThreadPoolExecutor(max_workers=4) as pool:
        seqs = list(pool.map(write, range(24)))
    assert sorted(seqs) == list(range(1, 25))
    listed = list(log.since(0))
    assert [e.seq for e in listed] == list(range(1, 25))
    assert len({e.application_id for e in listed}) == 24


def test_emitting_reads_only_the_tail_of_a_long_log(
    s3_server: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log grows with every package ever processed; an event must not list it all."""
    from medlicense.publish import emit

    store = ObjectStore.from_settings(s3_server)
    first = emit(store, s3_server, EventType.APPLICATION_RECEIVED, f"app-{uuid.uuid4().hex[:16]}")
    listed: list[str | None] = []
    original = store.list_keys

    def spy(bucket: str, prefix: str, **kwargs: str | None) -> object:
        listed.append(kwargs.get("start_after"))
        return original(bucket, prefix, **kwargs)

    monkeypatch.setattr(store, "list_keys", spy)
    second = emit(store, s3_server, EventType.APPLICATION_RECEIVED, f"app-{uuid.uuid4().hex[:16]}")
    assert second.seq > first.seq
    assert listed and None not in listed, "the whole log was listed again"


def _index_reads(log: EventLog, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    original = log.store.get_bytes

    def spy(bucket: str, key: str, **kwargs: bool) -> bytes:
        if key.startswith(INDEX_PREFIX):
            reads.append(key)
        return original(bucket, key, **kwargs)

    monkeypatch.setattr(log.store, "get_bytes", spy)
    return reads


def test_a_first_attempt_does_not_look_for_an_earlier_copy_and_a_retry_finds_it(
    log: EventLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = _index_reads(log, monkeypatch)
    with first_attempt("app-new"):
        first = log.append(EventType.APPLICATION_RECEIVED, "app-new")
        # Only the application named is concerned.
        log.append(EventType.APPLICATION_RECEIVED, "app-other")
    assert reads == [f"{INDEX_PREFIX}{event_id(EventType.APPLICATION_RECEIVED, 'app-other')}"]
    # A retry (no longer a first attempt) returns the event the first attempt indexed.
    assert log.append(EventType.APPLICATION_RECEIVED, "app-new") == first
    assert [e.application_id for e in log.since(0)] == ["app-new", "app-other"]


def test_a_mistaken_first_attempt_repeats_an_event_and_loses_none(log: EventLog) -> None:
    """What the contract allows: a repeat under a new seq with the same id, the index
    still naming the first."""
    first = log.append(EventType.APPLICATION_ACCEPTED, "app-3")
    with first_attempt("app-3"):
        repeat = log.append(EventType.APPLICATION_ACCEPTED, "app-3")
    assert repeat.seq > first.seq and repeat.id == first.id
    assert [e.id for e in log.since(0)] == [first.id, first.id]
    assert log.append(EventType.APPLICATION_ACCEPTED, "app-3") == first
