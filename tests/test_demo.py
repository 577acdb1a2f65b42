"""The README's first command, end to end, in an isolated data directory and free ports.

Runs ``medlicense demo`` as a user would (a subprocess: real SeaweedFS, real
Prefect server, real signing) and checks what it prints and what it leaves.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from medlicense.settings import Settings
from signing.verify import verify_pdf

MEDLICENSE = str(Path(sys.executable).parent / "medlicense")


@pytest.fixture(scope="module")
def demo_run(s3_server: Settings) -> Iterator[subprocess.CompletedProcess[str]]:
    env = dict(os.environ)
    try:
        proc = subprocess.run(
            [MEDLICENSE, "demo"], capture_output=True, text=True, env=env, timeout=600, check=False
        )
        yield proc
    finally:
        subprocess.run([MEDLICENSE, "server", "down"], env=env, capture_output=True, timeout=60)


def test_demo_succeeds_and_reports_every_showcase_package(
    demo_run: subprocess.CompletedProcess[str],
) -> None:
    out = demo_run.stdout
    assert demo_run.returncode == 0, out + demo_run.stderr
    expected = {
        "01-issue-complete-kk.zip": "accepted",
        "02-issue-representative-ru.zip": "accepted",
        "03-issue-scanned-and-merged-kk.zip": "accepted",
        "04-issue-incomplete-ru.zip": "refused",
        "05-reissue-kk.zip": "accepted",
        "06-duplicate-gateway-ru.zip": "accepted",
        "07-nested-archive.zip": "rejected",
        "08-application-not-a-pdf.zip": "refused",
    }
    for name, outcome in expected.items():
        line = next((ln for ln in out.splitlines() if name in ln), None)
        assert line is not None, f"{name} missing from the demo output:\n{out}"
        assert f" {outcome}" in line, line
    assert "missing: fee_payment, sanitary_conclusion" in out
    assert "reason: package.nested_archive" in out
    assert "Prefect UI: http://127.0.0.1:" in out
    # The auto policy decides inside the batch what needs no person: licenses come out.
    assert "Review (auto policy)" in out
    assert re.search(r"issued KZ\d{2}-\d{4}", out), out


def test_demo_leaves_verifiable_receipt_copies(
    demo_run: subprocess.CompletedProcess[str], s3_server: Settings
) -> None:
    match = re.search(r"Copies of the signed receipts: (\S+)/", demo_run.stdout)
    assert match, demo_run.stdout
    copies = sorted(Path(match.group(1)).glob("receipt-*.pdf"))
    assert len(copies) == 7  # every package but the unreadable one
    root = s3_server.resolved_pki_dir / "root.pem"
    for pdf in copies:
        report = verify_pdf(pdf.read_bytes(), trust_roots=[root])
        assert report.valid, (pdf.name, report.errors)
