"""Which queued applications an intake batch hands to review runs (real S3, no Prefect)."""

from __future__ import annotations

import datetime as dt
import uuid

from medlicense.settings import Settings
from storage.client import ObjectStore

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def _queue(registry, app_id: str, owner: str, queued: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    assert registry.claim_package(app_id, owner, queued)
    registry.enqueue_review(app_id, queued)


def test_a_batch_leaves_a_live_batchs_entries_and_takes_orphans(s3_server: Settings) -> None:
    from flows.intake import reviews_to_start
    from medlicense.register import Registry

    registry = Registry(ObjectStore.from_settings(s3_server), s3_server)
    tag = uuid.uuid4().hex[:8]
    live, dead = str(uuid.uuid4()), str(uuid.uuid4())
    mine = f"app-q-{tag}-mine"
    others = f"app-q-{tag}-live"  # another batch, still running, may auto-decide it
    orphan = f"app-q-{tag}-dead"  # its batch ended without handing it over
    old = f"app-q-{tag}-old"  # queued long ago by a batch that claims to be alive
    _queue(registry, mine, "this-batch", NOW)
    _queue(registry, others, live, NOW - dt.timedelta(seconds=5))
    _queue(registry, orphan, dead, NOW - dt.timedelta(seconds=5))
    stale = dt.timedelta(seconds=s3_server.claim_stale_seconds + 1)
    _queue(registry, old, live, NOW - stale)

    chosen = reviews_to_start(
        registry, {mine}, NOW, batch_alive=lambda owner: owner in {live, "this-batch"}
    )
    ours = {a for a in chosen if a.startswith(f"app-q-{tag}")}
    assert ours == {mine, orphan, old}
    for app_id in (mine, others, orphan, old):
        registry.dequeue_review(app_id)
