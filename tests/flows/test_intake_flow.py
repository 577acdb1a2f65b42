"""The intake flow end to end: real S3 server, real TSA, Prefect's test harness."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from medlicense.models import Outcome, ReceiptResult
from medlicense.settings import Settings
from storage.client import ObjectStore


@pytest.fixture(scope="module")
def prefect_harness(s3_server: Settings) -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    from flows.context import dev_pki_services

    # The intake's worker processes exit with the run; the development OCSP
    # responder that pdfsig asks afterwards must live as long as the tests.
    with dev_pki_services(s3_server), prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def uploaded(
    s3_server: Settings, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, object]]:
    """A mixed set of generated packages, uploaded as the portal would, with their truth."""
    from medlicense.samples import generate_packages

    out = tmp_path_factory.mktemp("packages")
    truth = generate_packages(out, 12, seed=11)
    store = ObjectStore.from_settings(s3_server)
    expected: dict[str, dict[str, object]] = {}
    for name, pkg in truth.items():
        key = f"{s3_server.uploads_prefix}flowtest/{name}"
        store.put_bytes(s3_server.bucket_uploads, key, (out / name).read_bytes())
        expected[key] = pkg.model_dump(mode="json")
    return expected


@pytest.fixture(scope="module")
def first_run(prefect_harness: None, uploaded: dict[str, dict[str, object]]) -> list[ReceiptResult]:
    from flows.intake import intake_batch

    return intake_batch()


def test_every_package_gets_the_expected_outcome(
    first_run: list[ReceiptResult], uploaded: dict[str, dict[str, object]]
) -> None:
    by_key = {r.package: r for r in first_run}
    assert set(by_key) == set(uploaded)
    for key, truth in uploaded.items():
        result = by_key[key]
        assert result.error is None, (key, result.error)
        assert result.outcome == truth["outcome"], (key, result, truth)
        if result.outcome is Outcome.REFUSED:
            assert sorted(result.missing) == sorted(cast(list[str], truth["missing"])), key
        if result.outcome is Outcome.REJECTED:
            assert result.reason == truth["reason"], key
    assert {r.outcome for r in first_run} >= {Outcome.ACCEPTED, Outcome.REFUSED}


def test_the_batch_has_a_task_run_per_group_of_packages(
    first_run: list[ReceiptResult], uploaded: dict[str, dict[str, object]], s3_server: Settings
) -> None:
    """What the operator sees in the UI: a task run per group, named by its packages."""
    import re
    import time

    from prefect import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    size = s3_server.intake_group_size
    expected = sorted([size] * (len(uploaded) // size) + [len(uploaded) % size] * 1)
    expected = [n for n in expected if n]
    sizes: list[int] = []
    deadline = time.monotonic() + 20
    with get_client(sync_client=True) as client:
        # Task runs reach the server as events, recorded a moment later.
        while sorted(sizes) != expected and time.monotonic() < deadline:
            runs = client.read_task_runs(
                task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="packages "))
            )
            sizes = [int(m.group(1)) for r in runs if (m := re.search(r"\((\d+)\)$", r.name))]
            time.sleep(0.5)
    assert len(uploaded) > size  # the batch is split at all
    assert sorted(sizes) == expected
    assert all(r.state is not None and r.state.is_completed() for r in runs)


def test_receipts_are_signed_verifiable_and_readable(
    first_run: list[ReceiptResult], s3_server: Settings, tmp_path: Path
) -> None:
    from signing.verify import verify_pdf

    store = ObjectStore.from_settings(s3_server)
    root = s3_server.resolved_pki_dir / "root.pem"
    receipts = [(r, k) for r in first_run for k in r.receipt_keys]
    assert receipts
    for result, key in receipts:
        pdf = store.get_bytes(s3_server.bucket_artifacts, key)
        report = verify_pdf(pdf, trust_roots=[root])
        assert report.valid and report.intact and report.trusted, report
        assert report.timestamp is not None
        assert report.pades_level == "B-T"
        assert report.document_number == result.receipt_number
        path = tmp_path / "receipt.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Медициналық қызметке лицензия беру" in text
        assert "Выдача лицензии на медицинскую деятельность" in text
        assert result.receipt_number is not None and result.receipt_number in text
        subprocess.run(["qpdf", "--check", str(path)], capture_output=True, check=True)


def test_receipts_pass_poppler_pdfsig_with_the_dev_root_trusted(
    first_run: list[ReceiptResult], s3_server: Settings, tmp_path: Path
) -> None:
    db = tmp_path / "nss"
    db.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    root = s3_server.resolved_pki_dir / "root.pem"
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{db}", "-n", "dev-root", "-t", "CT,C,C", "-i", str(root)],
        check=True,
    )
    store = ObjectStore.from_settings(s3_server)
    key = next(k for r in first_run for k in r.receipt_keys)
    path = tmp_path / "receipt.pdf"
    path.write_bytes(store.get_bytes(s3_server.bucket_artifacts, key))
    out = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{db}", str(path)], capture_output=True, text=True
    )
    assert "Signature is Valid" in out.stdout, out.stdout + out.stderr
    assert "Certificate is Trusted" in out.stdout, out.stdout


def test_rejected_packages_are_quarantined_with_their_reason(
    first_run: list[ReceiptResult], s3_server: Settings
) -> None:
    from medlicense.processing import application_id

    store = ObjectStore.from_settings(s3_server)
    rejected = [r for r in first_run if r.outcome is Outcome.REJECTED]
    for r in rejected:
        app = application_id(r.package)
        original = store.get_bytes(s3_server.bucket_uploads, r.package)
        kept = store.get_bytes(s3_server.bucket_quarantine, f"{app}/{Path(r.package).name}")
        assert kept == original
        reason = json.loads(store.get_bytes(s3_server.bucket_quarantine, f"{app}/reason.json"))
        assert reason["reason"] == r.reason


def test_second_run_processes_nothing_again(
    first_run: list[ReceiptResult], s3_server: Settings
) -> None:
    from flows.intake import intake_batch

    store = ObjectStore.from_settings(s3_server)
    before = {
        k: store.stat(s3_server.bucket_artifacts, k)["sha256"]
        for r in first_run
        for k in r.receipt_keys
    }
    assert intake_batch() == []
    after = {k: store.stat(s3_server.bucket_artifacts, k)["sha256"] for k in before}
    assert after == before


def test_collected_groups_are_not_kept_alive_until_the_batch_ends() -> None:
    # A thousand-package batch must not hold every group's outcomes (review pages
    # included) in the serving process until its last group is done.
    import concurrent.futures
    import gc
    import uuid
    import weakref

    from prefect.futures import PrefectConcurrentFuture

    from flows.intake import finishing_order

    class Outcomes(list[str]):
        pass  # a list that a weak reference can follow

    wrapped: list[concurrent.futures.Future[Outcomes]] = [
        concurrent.futures.Future() for _ in range(3)
    ]
    futures = [PrefectConcurrentFuture(uuid.uuid4(), w) for w in wrapped]
    ids = [f.task_run_id for f in futures]
    finished = finishing_order(futures)
    del futures
    watched = []
    for index in (2, 0, 1):  # groups finish out of order
        outcomes = Outcomes([f"package {index}"])
        watched.append(weakref.ref(outcomes))
        wrapped[index].set_result(outcomes)
        del outcomes
    order = []
    for _ in ids:
        future = finished.get_nowait()
        order.append(ids.index(future.task_run_id))
        del future
    assert order == [2, 0, 1]
    wrapped.clear()
    gc.collect()
    assert [ref() for ref in watched] == [None, None, None]
