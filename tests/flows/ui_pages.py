"""The Prefect UI as a person sees it: pages drawn by headless Chromium, their text, their
tables and a screenshot of the very same drawing.

Used by ``test_ui_browser.py``, and to regenerate the README's screenshot from a
demo batch in an isolated installation (own data directory and free ports, so a
running ``./run demo`` is not touched)::

    .venv/bin/python -m tests.flows.ui_pages docs/ui-batch.png

Why pages are opened the way they are (Prefect 3.9's UI):

* a table artifact's rows are drawn only on the artifact's own page,
  ``/artifacts/artifact/<id>``; ``/artifacts/key/<key>`` lists the key's versions
  (description, run, time) without their data;
* ``/runs/flow-run/<id>?tab=Artifacts`` opens on *Logs*: the tab is hidden until
  the run has loaded, and the UI falls back to the default tab;
* the UI draws after several API calls; ``--virtual-time-budget`` lets Chromium
  run them before ``--dump-dom`` and ``--screenshot`` (taken together, so the
  screenshot shows the DOM that was checked).  A page that is not finished yet
  is drawn again with a larger budget.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pydantic import BaseModel

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
BUDGETS_MS = (20_000, 40_000, 60_000)


class Page(BaseModel):
    url: str
    text: str  # the visible text, roughly: enough to look for words in
    tables: list[list[list[str]]]  # each table's rows (header row first), cell texts
    screenshot: Path | None = None


def chromium(url: str, profile: Path, *args: str, budget_ms: int) -> str:
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
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={budget_ms}",
        *args,
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def draw(
    url: str,
    profile: Path,
    ready: Callable[[Page], bool],
    *,
    screenshot: Path | None = None,
    window: tuple[int, int] = (1600, 1000),
) -> Page:
    """The page once ``ready`` says it is drawn (or as drawn with the largest budget)."""
    page = Page(url=url, text="", tables=[])
    for budget in BUDGETS_MS:
        args = [f"--window-size={window[0]},{window[1]}", "--dump-dom"]
        if screenshot is not None:
            screenshot.unlink(missing_ok=True)
            args.append(f"--screenshot={screenshot}")
        html = chromium(url, profile, *args, budget_ms=budget)
        page = Page(url=url, text=visible_text(html), tables=tables(html), screenshot=screenshot)
        if ready(page):
            break
    return page


def visible_text(html: str) -> str:
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in {"td", "th"} and self.tables and self.tables[-1]:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def table_artifact(flow_run_id: uuid.UUID, key: str) -> tuple[uuid.UUID, list[dict[str, str]]]:
    """The id (for its page) and the stored rows of the run's table artifact ``key``."""
    import json

    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
            )
        )
    assert len(found) == 1, f"{len(found)} artifacts {key} for run {flow_run_id}"
    data: Any = found[0].data
    rows = json.loads(data) if isinstance(data, str) else data
    return found[0].id, rows


def rows_drawn(page: Page, stored: list[dict[str, str]]) -> bool:
    """Whether the page shows a table whose header and rows are exactly ``stored``."""
    if not stored:
        return False
    header = list(stored[0])
    expected = [header, *([str(r.get(c, "")) for c in header] for r in stored)]
    normalized = [[" ".join(c.split()) for c in row] for row in expected]
    return any(t == normalized for t in page.tables)


# --- the README screenshot ---------------------------------------------------------------------


def demo_screenshot(out: Path, *, window: tuple[int, int] = (2560, 820)) -> None:
    """Run ``medlicense demo`` in an isolated installation and photograph its batch table."""
    from medlicense.isolation import isolated_environment

    root = Path(tempfile.mkdtemp(prefix="medlicense-ui-"))
    # Nothing of the caller's Prefect setup may leak into the demo's processes.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MEDLICENSE_"))}
    env.update(isolated_environment(root / "var"))
    medlicense = str(Path(sys.executable).parent / "medlicense")
    try:
        subprocess.run([medlicense, "demo"], env=env, cwd=REPO, check=True, timeout=1800)
        os.environ.clear()
        os.environ.update(env)
        from medlicense.settings import get_settings

        get_settings.cache_clear()
        settings = get_settings()
        from flows.server import PrefectServer, prefect_env

        os.environ.update(prefect_env(settings))
        batch = _latest_batch_run()
        artifact_id, stored = table_artifact(batch, "intake-batch")
        ui = PrefectServer(settings).ui_url
        page = draw(
            f"{ui}/artifacts/artifact/{artifact_id}",
            root / "chromium",
            lambda p: rows_drawn(p, stored),
            screenshot=out.resolve(),
            window=window,
        )
        assert rows_drawn(page, stored), f"the batch table was not drawn: {page.text[:500]}"
        print(f"{out}: the batch table of {len(stored)} package(s), from {page.url}")
    finally:
        for service in ("server", "storage"):
            subprocess.run([medlicense, service, "down"], env=env, cwd=REPO, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _latest_batch_run() -> uuid.UUID:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        [run] = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["intake-batch"])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
    return run.id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.flows.ui_pages",
        description="Regenerate the README screenshot: a demo batch's table in the Prefect UI.",
    )
    parser.add_argument("out", type=Path, help="PNG to write, e.g. docs/ui-batch.png")
    parser.add_argument("--width", type=int, default=2560)
    parser.add_argument("--height", type=int, default=820)
    args = parser.parse_args(argv)
    demo_screenshot(args.out, window=(args.width, args.height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
