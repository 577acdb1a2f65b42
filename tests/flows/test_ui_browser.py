"""What operators see: a headless Chromium opens the Prefect UI of a real server after a
batch and finds the batch's table artifact and the suspended review.

Chromium (Debian's ``chromium``) draws the UI with JavaScript; ``--virtual-time-budget``
lets it finish fetching and drawing before ``--dump-dom``/``--screenshot`` run.  The
screenshots are kept under ``test-artifacts/`` for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from medlicense.settings import Settings

from .helpers import package, upload, wait_for_state

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"
PLACE = "Батыс Қазақстан облысы, Орал қ., Құрманғазы көшесі, 154"


def chromium(url: str, tmp: Path, *args: str, budget_ms: int = 20000) -> str:
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={tmp}",
        f"--virtual-time-budget={budget_ms}",
        *args,
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


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


def test_the_ui_shows_the_batch_table_and_the_suspended_review(
    ui_server: str, s3_server: Settings, tmp_path: Path
) -> None:
    from flows.intake import intake_batch

    apps = upload(s3_server, "ui", {"ui-demo.zip": package(701, places=[PLACE])})
    batch = intake_batch(return_state=True).state_details.flow_run_id
    review = wait_for_state(apps["ui-demo.zip"], {"PAUSED"})

    ARTIFACTS_DIR.mkdir(exist_ok=True)
    pages = {
        "ui-artifacts": "/artifacts",
        "ui-batch-artifact": "/artifacts/key/intake-batch",
        "ui-review-run": f"/runs/flow-run/{review.id}",
        "ui-batch-run": f"/runs/flow-run/{batch}?tab=Artifacts",
    }
    expect = {
        "ui-artifacts": f"application-{apps['ui-demo.zip']}",
        "ui-batch-artifact": "Flow run intake ",
        "ui-review-run": "Suspended",
        "ui-batch-run": "intake-batch",
    }
    dom = {}
    for name, path in pages.items():
        dom[name] = page_text(f"{ui_server}{path}", tmp_path / name, expect[name])
        (ARTIFACTS_DIR / f"{name}.txt").write_text(dom[name], encoding="utf-8")
    listing = dom["ui-artifacts"]
    assert "intake-batch" in listing and "intake-progress" in listing
    assert f"application-{apps['ui-demo.zip']}" in listing
    # The batch's artifact page, opened from its flow run (named by the batch time).
    assert "Intake batch: 1 package(s), 1 review(s) started" in dom["ui-batch-artifact"]
    assert "Flow run intake " in dom["ui-batch-artifact"]
    assert "Suspended" in dom["ui-review-run"]
    assert f"review {apps['ui-demo.zip']}" in dom["ui-review-run"]
    assert "intake-batch" in dom["ui-batch-run"]
    for name in ("ui-batch-run", "ui-batch-artifact", "ui-review-run"):
        shot = ARTIFACTS_DIR / f"{name}.png"
        shot.unlink(missing_ok=True)
        chromium(
            f"{ui_server}{pages[name]}",
            tmp_path / f"{name}-shot",
            f"--screenshot={shot}",
            "--window-size=1440,1000",
            budget_ms=40000,
        )
        assert shot.exists() and shot.stat().st_size > 10_000


def page_text(url: str, tmp: Path, expect: str) -> str:
    """The drawn page's text; drawing races the API calls, so a page that is not
    finished yet (``expect`` missing) is loaded again with a longer budget."""
    text = ""
    for budget in (20000, 40000, 60000):
        text = _text(chromium(url, tmp, "--dump-dom", budget_ms=budget))
        if expect in text:
            break
    return text


def _text(html: str) -> str:
    """The page's visible text, roughly: enough to look for words in."""
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))
