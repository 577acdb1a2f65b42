"""The register's exactly-once rules against the real S3 server, without Prefect."""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from medlicense.errors import ObjectExists
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
