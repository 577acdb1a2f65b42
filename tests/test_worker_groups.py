"""A group of packages on the worker pool: an outcome per package, in order, whatever fails."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from medlicense import workers
from medlicense.errors import MedLicenseError, StorageUnavailable
from medlicense.models import Outcome, ReceiptResult
from medlicense.workers import PackageOutcome, WorkerPool


class _Broken(MedLicenseError):
    default_code = "package.broken"


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> WorkerPool:
    """The pool's logic over threads and a scripted job: no worker processes to start."""
    calls: Counter[str] = Counter()

    def job(key: str, owner: str) -> PackageOutcome | None:
        calls[key] += 1
        if key == "flaky" and calls[key] == 1:
            raise StorageUnavailable("storage did not answer")
        if key == "down":
            raise StorageUnavailable("storage did not answer")
        if key == "broken":
            raise _Broken("the package cannot be read")
        if key == "bug":
            raise ValueError("a bug in a library")
        if key == "taken":
            return None
        return PackageOutcome(receipt=ReceiptResult(package=key, outcome=Outcome.ACCEPTED))

    monkeypatch.setattr(workers, "_package_job", job)
    p = WorkerPool.__new__(WorkerPool)
    p._pool = ThreadPoolExecutor(2)  # type: ignore[assignment]
    p.calls = calls  # type: ignore[attr-defined]
    return p


def test_each_package_of_a_group_gets_its_own_outcome_in_order(pool: WorkerPool) -> None:
    keys = ["ok-1", "broken", "flaky", "bug", "taken", "down", "ok-2"]
    out = pool.handle_packages(keys, "owner", retry_delays=[0.0, 0.0])
    assert len(out) == len(keys)
    by_key = dict(zip(keys, out, strict=True))
    assert by_key["taken"] is None  # claimed by another run
    for key in ("ok-1", "ok-2", "flaky"):  # flaky: the retry after the outage succeeded
        result = by_key[key]
        assert result is not None and result.receipt.package == key
        assert result.receipt.outcome is Outcome.ACCEPTED and result.receipt.error is None
    codes = {k: o.receipt.error for k, o in by_key.items() if o is not None and o.receipt.error}
    assert codes == {
        "broken": "package.broken",
        "bug": "internal.unexpected",
        "down": "storage.unavailable",
    }
    assert by_key["broken"].receipt.reason == "the package cannot be read"  # type: ignore[union-attr]
    # Outages are tried again after each delay; what cannot heal is not.
    calls = pool.calls  # type: ignore[attr-defined]
    assert calls["flaky"] == 2 and calls["down"] == 3 and calls["broken"] == 1
