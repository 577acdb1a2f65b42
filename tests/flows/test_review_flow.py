"""The operator workflow end to end: intake, review suspended in Prefect and resumed with
input, signed results, re-issue and duplicate, concurrent and interrupted runs.

Real SeaweedFS, real TSA, Prefect's test harness with a runner serving the review
deployment (every review run is a process of its own, as in production).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from medlicense.models import Outcome, RequestKind
from medlicense.records import AppState, Decision
from medlicense.settings import Settings
from storage.client import ObjectStore

if TYPE_CHECKING:
    from medlicense.records import NumberClaim
    from medlicense.register import Registry
    from signing.verify import VerificationReport

from .helpers import (
    EDITION_SUBTYPES,
    PLACE,
    package,
    present,
    reconfigured,
    review_runs,
    upload,
    wait_for_state,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def harness(s3_server: Settings) -> Iterator[str]:
    """The test harness's Prefect server and the review deployment served as ``medlicense
    serve`` serves it: runs executed on threads of this process (flows.warm).  The demo
    test covers Prefect's own runner, a process per run."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from flows.context import dev_pki_services
    from flows.deploy import deployments
    from flows.review import review_application
    from flows.warm import WarmRunner

    with dev_pki_services(s3_server), prefect_test_harness(server_startup_timeout=120):
        # Sync here (async_dispatch); the stubs' union also covers async callers.
        review_id: Any = deployments(s3_server)[1].apply()
        with WarmRunner(s3_server, {review_id: review_application}, poll_seconds=1.0):
            yield str(PREFECT_API_URL.value())


@pytest.fixture(scope="module")
def registry(s3_server: Settings) -> Registry:
    from medlicense.register import Registry

    return Registry(ObjectStore.from_settings(s3_server), s3_server)


@pytest.fixture(scope="module")
def first_batch(harness: str, s3_server: Settings) -> dict[str, str]:
    """Two complete applications, one to approve and one to refuse, and an incomplete one."""
    from flows.intake import intake_batch

    apps = upload(
        s3_server,
        "review",
        {
            "approve.zip": package(101, places=[PLACE]),
            "refuse.zip": package(102, places=[PLACE]),
            "incomplete.zip": package(103, omit=frozenset({"sanitary_conclusion"})),
        },
    )
    # Groups of one: the reviews are handed over while the batch is still running, and
    # the tests below find each application with exactly one review run all the same.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("flows.intake.REVIEW_GROUP", 1)
        results = {r.package.rsplit("/", 1)[-1]: r for r in intake_batch()}
    assert results["approve.zip"].outcome is Outcome.ACCEPTED
    assert results["refuse.zip"].outcome is Outcome.ACCEPTED
    assert results["incomplete.zip"].outcome is Outcome.REFUSED
    return apps


def _verify(settings: Settings, key: str) -> VerificationReport:
    from signing.verify import verify_pdf

    pdf = ObjectStore.from_settings(settings).get_bytes(settings.bucket_artifacts, key)
    return verify_pdf(pdf, trust_roots=[settings.resolved_pki_dir / "root.pem"])


def test_accepted_applications_wait_in_the_ui_with_a_described_form(
    first_batch: dict[str, str], registry: Registry
) -> None:
    from prefect import get_client
    from prefect.exceptions import PrefectHTTPStatusError
    from prefect.input.run_input import keyset_from_paused_state

    from flows.review import waiting_reviews

    for name in ("approve.zip", "refuse.zip"):
        run = wait_for_state(first_batch[name], {"PAUSED"})
        assert run.state.state_details.pause_key == "review-1"
        assert len(review_runs(first_batch[name])) == 1
        keys = keyset_from_paused_state(run.state)
        # Prefect moves the run to Suspended first and saves the form's schema and
        # description right after; the UI shows the form once they are there.
        description = None
        deadline = time.monotonic() + 30
        with get_client(sync_client=True) as client:
            while description is None and time.monotonic() < deadline:
                try:
                    description = client.read_flow_run_input(run.id, keys["description"])
                except PrefectHTTPStatusError:
                    time.sleep(0.5)
        assert description is not None, "the form's description never appeared"
        assert "### Documents" in description and "### Automated checks" in description
        assert "### Fee" in description and "review due by" in description
        assert "X-Amz-Signature" in description  # presigned links to the documents
        with get_client(sync_client=True) as client:
            history = [(st.type.value, st.name) for st in client.read_flow_run_states(run.id)]
        # Created waiting by the intake batch: the run has not executed before the person.
        assert history == [("PAUSED", "Suspended")]
    waiting = {w["app_id"]: w for w in waiting_reviews()}
    assert waiting[first_batch["approve.zip"]]["waiting_for"] == "executor"
    # No review run for the incomplete package: its refusal receipt ends it.
    assert review_runs(first_batch["incomplete.zip"]) == []
    record = present(registry.record(first_batch["approve.zip"]))
    assert record.state is AppState.IN_REVIEW
    assert [e.step for e in record.history] == ["provider.register", "provider.assign"]


def test_approval_issues_a_signed_license_and_appendix(
    first_batch: dict[str, str], s3_server: Settings, registry: Registry
) -> None:
    from flows.review import resume_review
    from medlicense.review import terminal_input

    app_id = first_batch["approve.zip"]
    wait_for_state(app_id, {"PAUSED"})
    resume_review(
        app_id,
        terminal_input(
            Decision.APPROVE, executor="Жақсылықов Б. Т.", subtypes=list(EDITION_SUBTYPES)
        ),
    )
    run = wait_for_state(app_id, {"COMPLETED"}, timeout=180)
    result = present(registry.result(app_id))
    assert result.outcome == "issued" and run.state.is_completed()
    year = result.issued_at.year % 100
    assert result.number == f"KZ{year:02d}-0001"
    for key, level in zip(result.documents, ("B-LTA", "B-LTA"), strict=True):
        report = _verify(s3_server, key)
        assert report.valid and report.trusted and report.pades_level == level, report
    entry = present(registry.license(result.number))
    assert entry.app_id == app_id and entry.subtypes == EDITION_SUBTYPES
    record = present(registry.record(app_id))
    assert record.state is AppState.ISSUED
    steps = {e.step: e for e in record.history}
    assert list(steps) == [
        "provider.register",
        "provider.assign",
        "provider.review",
        "provider.sign",
        "provider.deliver",
    ]
    assert steps["provider.review"].actor == "Жақсылықов Б. Т."
    assert steps["provider.review"].due_by is not None
    assert not steps["provider.review"].overdue


def test_refusal_issues_a_signed_reasoned_refusal(
    first_batch: dict[str, str], s3_server: Settings, registry: Registry
) -> None:
    from flows.review import resume_review
    from medlicense.review import terminal_input

    app_id = first_batch["refuse.zip"]
    wait_for_state(app_id, {"PAUSED"})
    resume_review(
        app_id,
        terminal_input(
            Decision.REFUSE,
            executor="Executor",
            grounds=["qualification_not_met"],
            reasoning="Қызметкерлердің сертификаттары жоқ.",
        ),
    )
    wait_for_state(app_id, {"COMPLETED"}, timeout=180)
    result = present(registry.result(app_id))
    assert result.outcome == "refused" and len(result.documents) == 1
    report = _verify(s3_server, result.documents[0])
    assert report.valid and report.pades_level == "B-T"
    assert present(registry.record(app_id)).state is AppState.REFUSED
    # The application's page in the UI: "in review" when handed over, then the
    # decision; the resumed run does not publish the unchanged page once more.
    assert [a.description.rsplit(": ", 1)[-1] for a in _page_versions(app_id)] == [
        "in review",
        "refused",
    ]


def _page_versions(app_id: str) -> list[Any]:
    """The versions of an application's page artifact, oldest first."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from medlicense.review_page import artifact_key

    with get_client(sync_client=True) as client:
        newest_first = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[artifact_key(app_id)])),
            sort=ArtifactSort.CREATED_DESC,
        )
    return newest_first[::-1]


def test_reissue_and_duplicate_against_the_issued_license(
    first_batch: dict[str, str], s3_server: Settings, registry: Registry
) -> None:
    from flows.intake import intake_batch
    from flows.review import resume_review
    from medlicense.review import terminal_input

    issued = present(registry.result(first_batch["approve.zip"]))
    assert issued is not None, "runs after the approval test"
    apps = upload(
        s3_server,
        "after-issue",
        {
            "duplicate.zip": package(104, kind=RequestKind.DUPLICATE, license_number=issued.number),
        },
    )
    intake_batch()
    dup = apps["duplicate.zip"]
    wait_for_state(dup, {"PAUSED"})
    resume_review(dup, terminal_input(Decision.APPROVE, executor="Executor"))
    wait_for_state(dup, {"COMPLETED"}, timeout=180)
    result = present(registry.result(dup))
    assert result.outcome == "duplicate" and result.number == issued.number
    assert all(_verify(s3_server, k).valid for k in result.documents)
    assert [d.duplicate_no for d in registry.duplicates(issued.number)] == [1]

    apps = upload(
        s3_server,
        "reissue",
        {
            "reissue.zip": package(
                105,
                kind=RequestKind.REISSUE,
                license_number=issued.number,
                reissue_ground="licensee_name_or_address",
                applicant_name="ТОО «Жаңа Атау Медикал»",
            ),
        },
    )
    intake_batch()
    re_app = apps["reissue.zip"]
    wait_for_state(re_app, {"PAUSED"})
    resume_review(re_app, terminal_input(Decision.APPROVE, executor="Executor"))
    wait_for_state(re_app, {"COMPLETED"}, timeout=180)
    result = present(registry.result(re_app))
    assert result.outcome == "reissued" and result.number != issued.number
    assert present(registry.replaced_by(issued.number)).number == result.number
    entry = present(registry.license(result.number))
    assert entry.previous_number == issued.number
    # The licensee's name is the one the application states (read at intake).
    assert entry.licensee_name == registry.application(re_app).verdict.request.applicant_name
    assert all(_verify(s3_server, k).valid for k in result.documents)


def _year_claims(registry: Registry) -> list[NumberClaim]:
    import datetime as dt

    return registry.claims(str(dt.datetime.now(dt.UTC).year))


def test_two_intake_runs_together_issue_each_license_once(
    first_batch: dict[str, str],
    s3_server: Settings,
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Auto policy: what needs no person is decided inside the batch, without a review run;
    what does (here: a subtype the nomenclature does not know) gets a review run that waits
    for the executor."""
    from concurrent.futures import ThreadPoolExecutor

    from flows.intake import intake_batch

    apps = upload(
        s3_server,
        "concurrent",
        {f"c{i}.zip": package(200 + i, places=[PLACE]) for i in range(3)},
    )
    needs_person = upload(
        s3_server, "concurrent-person", {"p.zip": package(210, subtypes=["no_such_subtype"])}
    )
    with reconfigured(monkeypatch, MEDLICENSE_REVIEW_POLICY="auto"), ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(intake_batch) for _ in range(2)]
        results = [r.result() for r in runs]
        [person] = needs_person.values()
        # Inside: the review run builds the runner's cached context from the settings of
        # the moment; ending the block while it does would leave the auto policy cached
        # for the tests after this one.
        wait_for_state(person, {"PAUSED"}, timeout=240)
    processed = [r.package for batch in results for r in batch]
    assert sorted(processed) == sorted(set(processed)), "a package was processed twice"
    for app_id in apps.values():
        assert registry.result(app_id) is not None, "not decided by the batch"
        assert review_runs(app_id) == [], "an auto-decided application got a review run"
        assert app_id not in registry.queued_reviews()
    assert registry.result(person) is None
    numbers = [present(registry.result(a)).number for a in apps.values()]
    assert len(set(numbers)) == 3
    claims = _year_claims(registry)
    assert [c.seq for c in claims] == list(range(1, len(claims) + 1)), "gap in the numbers"
    assert len({c.app_id for c in claims}) == len(claims), "an application holds two numbers"


def test_a_killed_intake_run_rerun_loses_and_duplicates_nothing(
    first_batch: dict[str, str], harness: str, s3_server: Settings, registry: Registry
) -> None:
    from flows.intake import intake_batch
    from medlicense.processing import receipt_number

    apps = upload(
        s3_server, "killed", {f"k{i}.zip": package(300 + i, places=[PLACE]) for i in range(3)}
    )
    env = {**os.environ, "PREFECT_API_URL": harness, "MEDLICENSE_PREFECT_API_URL": harness}
    proc = subprocess.Popen(
        [sys.executable, "-m", "medlicense.cli", "batch"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    store = ObjectStore.from_settings(s3_server)
    deadline = time.monotonic() + 120
    # Kill it in the middle: once it has claimed a package and before it finishes them all.
    while time.monotonic() < deadline:
        claimed = [
            a for a in apps.values() if store.exists(s3_server.bucket_artifacts, f"claims/{a}.json")
        ]
        if claimed:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # The killed run's claims are stale at once for the re-run.
    os.environ["MEDLICENSE_CLAIM_STALE_SECONDS"] = "0"
    from medlicense.settings import get_settings

    get_settings.cache_clear()
    try:
        intake_batch()
    finally:
        del os.environ["MEDLICENSE_CLAIM_STALE_SECONDS"]
        get_settings.cache_clear()
    for name, app_id in apps.items():
        receipts = [
            k
            for k in store.list_keys(s3_server.bucket_artifacts, f"applications/{app_id}/receipt-")
        ]
        assert receipts == [f"applications/{app_id}/receipt-{receipt_number(app_id)}.pdf"], name
        assert store.exists(s3_server.bucket_artifacts, f"processed/{app_id}.json"), name
        wait_for_state(app_id, {"PAUSED"})
        assert len(review_runs(app_id)) == 1, name
    assert registry.queued_reviews() == []


def test_head_confirms_an_unsigned_draft_before_signing(
    first_batch: dict[str, str],
    s3_server: Settings,
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.intake import intake_batch
    from flows.review import resume_review, waiting_reviews
    from medlicense.review import terminal_input

    with reconfigured(monkeypatch, MEDLICENSE_HEAD_CONFIRMATION="true"):
        app_id = upload(s3_server, "head", {"head.zip": package(400, places=[PLACE])})["head.zip"]
        intake_batch()
        wait_for_state(app_id, {"PAUSED"})
        resume_review(app_id, terminal_input(Decision.APPROVE, executor="Executor"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            waiting = {w["app_id"]: w for w in waiting_reviews()}
            if waiting.get(app_id, {}).get("waiting_for") == "head":
                break
            time.sleep(1)
        else:
            raise AssertionError("the review never waited for the head")
        store = ObjectStore.from_settings(s3_server)
        draft = store.get_bytes(
            s3_server.bucket_artifacts, f"applications/{app_id}/draft-license.pdf"
        )
        assert b"/ByteRange" not in draft, "the draft must not be signed"
        assert registry.result(app_id) is None and registry.held_number(app_id, "license") is None
        resume_review(app_id, {"decision": "sign", "head": "Қуанышев Е. С."}, head=True)
        wait_for_state(app_id, {"COMPLETED"}, timeout=180)
        result = present(registry.result(app_id))
        assert result.outcome == "issued"
    steps = [(e.step, e.actor) for e in present(registry.record(app_id)).history]
    assert ("provider.sign", "Қуанышев Е. С.") in steps


def test_published_register_events_and_artifacts_after_the_workflow(
    first_batch: dict[str, str], s3_server: Settings, registry: Registry
) -> None:
    """After every run of this module: each step's event exactly once, the licenses
    published with their manifests, the records plain JSON, the artifacts in the UI."""
    import json
    from collections import Counter

    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from medlicense.processing import application_id
    from medlicense.publish import current_files, event_log
    from medlicense.review_page import artifact_key
    from signing.verify import verify_pdf
    from storage.client import sha256_hex

    store = ObjectStore.from_settings(s3_server)
    events = list(event_log(store, s3_server).since(0))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len({e.id for e in events}) == len(events), "an event was recorded twice"
    per_app: dict[str, Counter[str]] = {}
    for e in events:
        per_app.setdefault(e.application_id, Counter())[e.type.value] += 1
    processed = [
        json.loads(store.get_bytes(s3_server.bucket_artifacts, k))
        for k in store.list_keys(s3_server.bucket_artifacts, "processed/")
    ]
    expected_outcome = {
        "accepted": "application.accepted",
        "refused": "application.refused",
        "rejected": "application.rejected",
    }
    for receipt in processed:
        app_id = application_id(receipt["package"])
        counts = per_app[app_id]
        assert counts["application.received"] == 1, app_id
        assert counts[expected_outcome[receipt["outcome"]]] >= 1, app_id
        result = registry.result(app_id)
        result_events = {
            "issued": "license.issued",
            "reissued": "license.reissued",
            "duplicate": "license.duplicated",
        }
        if result is not None and result.outcome in result_events:
            assert counts[result_events[result.outcome]] == 1, app_id
            license_event = next(
                e
                for e in events
                if e.application_id == app_id and e.type.value == result_events[result.outcome]
            )
            assert license_event.license_number == result.number
        elif result is not None:  # a reasoned refusal after an accepted package
            assert counts["application.accepted"] == 1 and counts["application.refused"] == 1
        assert sum(counts.values()) == 2 + (result is not None), (app_id, counts)

    # The first license: duplicated and re-issued in this module, so replaced, 4 files.
    issued = present(registry.result(first_batch["approve.zip"]))
    manifest = json.loads(
        store.get_bytes(s3_server.bucket_published, f"licenses/{issued.number}/manifest.json")
    )
    assert manifest["status"] == "replaced" and manifest["replaced_by"]
    assert len(manifest["files"]) == 4
    roots = [s3_server.resolved_pki_dir / "root.pem"]
    downstream = ObjectStore.from_settings(s3_server, downstream=True)
    for f in current_files(downstream, s3_server, issued.number):
        data = downstream.get_bytes(s3_server.bucket_published, f.key)
        assert sha256_hex(data) == f.sha256
        assert f.verification.valid and verify_pdf(data, trust_roots=roots).valid

    # The record is plain JSON: state, steps, findings, digests of every document.
    record = json.loads(
        store.get_bytes(
            s3_server.bucket_artifacts, f"applications/{first_batch['approve.zip']}/record.json"
        )
    )
    assert record["state"] == "issued" and record["license_number"] == issued.number
    assert record["history"][0]["step"] == "provider.register"
    digests = {d["key"]: d["sha256"] for d in record["documents"]}
    for key in issued.documents:
        assert digests[key] == sha256_hex(store.get_bytes(s3_server.bucket_artifacts, key))
    assert any("/receipt-" in k for k in digests) and any("/package/" in k for k in digests)

    with get_client(sync_client=True) as client:
        keys = {
            a.key
            for a in client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(
                        any_=[
                            "intake-batch",
                            "intake-progress",
                            artifact_key(first_batch["approve.zip"]),
                        ]
                    )
                )
            )
        }
    assert keys == {"intake-batch", "intake-progress", artifact_key(first_batch["approve.zip"])}


def test_a_run_left_without_its_form_gets_it_from_a_later_batch(
    harness: str, s3_server: Settings, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that stopped between creating a review run and storing its form must not
    leave the executor an empty page: the next batch that finds the application queued
    prepares the form again, without a hand-over of its own."""
    import datetime as dt

    from prefect import get_client
    from prefect.exceptions import PrefectHTTPStatusError
    from prefect.input.run_input import keyset_from_paused_state

    import flows.intake
    from flows.intake import intake_batch, start_reviews

    apps = upload(s3_server, "formless", {"formless.zip": package(131, places=[PLACE])})
    app_id = apps["formless.zip"]
    with monkeypatch.context() as patch:
        patch.setattr(flows.intake, "store_first_form", lambda *args: None)
        results = {r.package.rsplit("/", 1)[-1]: r for r in intake_batch()}
    assert results["formless.zip"].outcome is Outcome.ACCEPTED
    run = wait_for_state(app_id, {"PAUSED"})
    keys = keyset_from_paused_state(run.state)
    with get_client(sync_client=True) as client, pytest.raises(PrefectHTTPStatusError):
        client.read_flow_run_input(run.id, keys["description"])
    # The stopped batch never took it off the queue.
    registry.enqueue_review(app_id, dt.datetime.now(dt.UTC))
    assert start_reviews([app_id]) == [app_id]
    with get_client(sync_client=True) as client:
        description = client.read_flow_run_input(run.id, keys["description"])
        assert client.read_flow_run_input(run.id, keys["schema"])
        assert [st.name for st in client.read_flow_run_states(run.id)] == ["Suspended"]
    assert "### Documents" in description and "X-Amz-Signature" in description
    assert len(review_runs(app_id)) == 1
    assert app_id not in registry.queued_reviews()


def test_a_review_run_the_server_refuses_is_reported_alone(
    harness: str, s3_server: Settings
) -> None:
    """Runs are created a group per request: one the server refuses must not cost the
    others theirs, and its reason is the server's."""
    from prefect import get_client

    from flows.handover import create_waiting
    from flows.intake import review_deployment_name
    from medlicense.review_page import FormSpec, ReviewHandover

    spec = FormSpec(
        executor="Executor",
        grounds=("g1",),
        subtypes=("s1",),
        default_subtypes=(),
        places=(),
        refusal_item="10",
        description="## Review",
    )
    good, bad = (
        ReviewHandover(app_id=a, form=spec, page="# page", page_description="d", wait_seconds=60)
        for a in ("bulk-good", "bulk-bad")
    )

    def fields(app_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": f"review {app_id}", "idempotency_key": f"test-{app_id}"}
        if app_id == "bulk-bad":
            out["work_queue_name"] = "no-such-queue"  # the served deployment has no work pool
        return out

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(review_deployment_name(s3_server))
        created = create_waiting(client, deployment.id, [bad, good], fields=fields)
        try:
            assert list(created.runs) == ["bulk-good"]
            assert "work pool" in created.refused["bulk-bad"]
            run = client.read_flow_run(created.runs["bulk-good"])
            assert run.state is not None and run.state.name == "Suspended"
        finally:
            for run_id in created.runs.values():
                client.delete_flow_run(run_id)


def test_a_repeated_hand_over_completes_the_form_and_leaves_a_decided_run_alone(
    harness: str, s3_server: Settings
) -> None:
    """A retried start-reviews gets the same run back: a run created before its form was
    stored gets the form; a run a person has resumed is not suspended again."""
    import orjson
    from prefect import get_client
    from prefect.input.run_input import keyset_from_paused_state

    from flows.handover import create_waiting, store_first_form
    from flows.intake import review_deployment_name
    from medlicense.review_page import FormSpec, ReviewHandover

    spec = FormSpec(
        executor="Executor",
        grounds=("g1",),
        subtypes=("s1",),
        default_subtypes=("s1",),
        places=("Astana",),
        refusal_item="10",
        description="## Review: a form stored on the second attempt",
    )
    handover = ReviewHandover(
        app_id="handover-retry", form=spec, page="# page", page_description="d", wait_seconds=600
    )
    fields: dict[str, Any] = {
        "name": "review handover-retry",
        "idempotency_key": "test-handover-retry",
        "tags": ["review"],
    }

    def hand_over() -> uuid.UUID:
        created = create_waiting(client, deployment.id, [handover], fields=lambda _: fields)
        assert created.refused == {}
        run_id = created.runs["handover-retry"]
        store_first_form(client, run_id, handover)
        return run_id

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(review_deployment_name(s3_server))
        run_id = hand_over()
        run = client.read_flow_run(run_id)
        try:
            keys = keyset_from_paused_state(present(run.state))
            stored = client.read_flow_run_input(run.id, keys["description"])
            assert orjson.loads(stored) == spec.description
            # An attempt that stopped before storing the description.
            client.delete_flow_run_input(run.id, keys["description"])
            assert hand_over() == run.id
            assert "second attempt" in client.read_flow_run_input(run.id, keys["description"])
            # Resumed by a person (scheduled again): a late repeat must not suspend it.
            client.resume_flow_run(run.id, run_input={"decision": "approve", "executor": "E"})
            resumed = client.read_flow_run(run.id)
            # The served deployment may take it at once: anything but paused again.
            assert resumed.state is not None and resumed.state.type.value != "PAUSED"
            assert hand_over() == run.id
            after = client.read_flow_run(run.id).state
            assert after is not None and after.type.value != "PAUSED"
        finally:
            client.delete_flow_run(run.id)
