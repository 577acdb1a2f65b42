"""What operators see: a headless Chromium opens the Prefect UI of a real server after a
real intake batch and finds, drawn on the page, the rows of the batch's table artifact,
the application's page and the suspended review.

How the pages are opened (and why the table rows did not draw before: the artifact
*key* page lists versions without their data) is in :mod:`tests.flows.ui_pages`.
The screenshots, each of the very DOM that was checked, are kept under
``test-artifacts/`` for a person to look at.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from medlicense.models import Outcome
from medlicense.settings import Settings

from .helpers import package, upload, wait_for_state
from .ui_pages import CHROMIUM, Page, draw, rows_drawn, table_artifact

pytestmark = pytest.mark.slow
ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"
PLACE = "Батыс Қазақстан облысы, Орал қ., Құрманғазы көшесі, 154"
WINDOW = (1600, 1000)


@pytest.fixture(scope="module")
def ui_server(s3_server: Settings) -> Iterator[str]:
    """A Prefect server with its UI on a free port, and a runner of the review deployment."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.context import dev_pki_services
    from flows.deploy import BackgroundRunner
    from flows.server import PrefectServer, prefect_env

    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    server = PrefectServer(s3_server)
    server.up()
    saved = {k: os.environ.get(k) for k in prefect_env(s3_server)}
    os.environ.update(prefect_env(s3_server))
    try:
        with (
            temporary_settings(updates={PREFECT_API_URL: server.api_url}),
            dev_pki_services(s3_server),
            BackgroundRunner(s3_server, query_seconds=1),
        ):
            yield server.ui_url
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.down()


def _png_size(path: Path) -> tuple[int, int]:
    with path.open("rb") as png:
        head = png.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _keep(name: str, page: Page) -> None:
    (ARTIFACTS_DIR / f"{name}.txt").write_text(page.text, encoding="utf-8")
    assert page.screenshot is not None and page.screenshot.stat().st_size > 10_000
    assert _png_size(page.screenshot) == WINDOW


def test_the_ui_draws_the_batch_rows_the_application_and_the_suspended_review(
    ui_server: str, s3_server: Settings, tmp_path: Path
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.intake import BATCH_ARTIFACT, intake_batch

    apps = upload(
        s3_server,
        "ui",
        {
            "ui-complete.zip": package(701, places=[PLACE]),
            "ui-incomplete.zip": package(702, omit=frozenset({"sanitary_conclusion"})),
        },
    )
    state = intake_batch(return_state=True)
    results = {r.package.rsplit("/", 1)[-1]: r for r in state.result()}
    accepted, refused = results["ui-complete.zip"], results["ui-incomplete.zip"]
    assert accepted.outcome is Outcome.ACCEPTED and refused.outcome is Outcome.REFUSED
    review = wait_for_state(apps["ui-complete.zip"], {"PAUSED"})
    ARTIFACTS_DIR.mkdir(exist_ok=True)

    # The batch table: what the flow stored holds the batch's values ...
    batch_run = state.state_details.flow_run_id
    assert batch_run is not None
    artifact_id, stored = table_artifact(batch_run, BATCH_ARTIFACT)
    rows = {row["package"]: row for row in stored}
    for r in (accepted, refused):
        row = rows[r.package]
        assert row["application"] == apps[r.package.rsplit("/", 1)[-1]]
        assert row["applicant"] == r.applicant and r.applicant
        assert row["outcome"] == r.outcome.value  # type: ignore[union-attr]
        assert row["receipt"] == ", ".join(r.receipt_keys) and r.receipt_keys
    assert rows[refused.package]["reason"] == "missing: sanitary_conclusion"
    assert rows[accepted.package]["reason"] == ""
    # ... and the page draws exactly those rows, under their column names.
    batch = draw(
        f"{ui_server}/artifacts/artifact/{artifact_id}",
        tmp_path / "batch",
        lambda p: rows_drawn(p, stored),
        screenshot=ARTIFACTS_DIR / "ui-batch-artifact.png",
        window=WINDOW,
    )
    _keep("ui-batch-artifact", batch)
    assert rows_drawn(batch, stored), batch.text[:2000]
    assert "Intake batch: 2 package(s)" in batch.text

    # The application's page (markdown artifact, its latest version).
    app_id = apps["ui-complete.zip"]
    with get_client(sync_client=True) as client:
        versions = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"application-{app_id}"]))
        )
    latest = max(versions, key=lambda a: a.created.timestamp() if a.created else 0.0)
    application = draw(
        f"{ui_server}/artifacts/artifact/{latest.id}",
        tmp_path / "application",
        lambda p: "Steps and time limits" in p.text,
        screenshot=ARTIFACTS_DIR / "ui-application-artifact.png",
        window=WINDOW,
    )
    _keep("ui-application-artifact", application)
    assert accepted.applicant and accepted.applicant in application.text
    assert "Steps and time limits" in application.text and "provider.assign" in application.text
    assert "Waiting for the executor's decision" in application.text

    # The review waiting for the executor: a Suspended run named after the application.
    suspended = draw(
        f"{ui_server}/runs/flow-run/{review.id}",
        tmp_path / "review",
        lambda p: "Suspended" in p.text,
        screenshot=ARTIFACTS_DIR / "ui-review-run.png",
        window=WINDOW,
    )
    _keep("ui-review-run", suspended)
    assert "Suspended" in suspended.text
    assert f"review {app_id}" in suspended.text
