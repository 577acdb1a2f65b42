"""Shared fixtures: one generated batch reused by the batch-level tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from medlicense.samples import Truth, generate_packages

BATCH_COUNT = 40
BATCH_SEED = 20260101


@pytest.fixture(scope="session")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    out = tmp_path_factory.mktemp("samples")
    return out, generate_packages(out, BATCH_COUNT, BATCH_SEED)


def pdftotext_pages(pdf: Path) -> list[str]:
    """Text of each page, as poppler extracts it (pages are split on form feeds)."""
    run = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    pages = run.stdout.split("\f")
    return pages[:-1] if pages and pages[-1] == "" else pages


def squash(text: str) -> str:
    """Whitespace-insensitive form: wrapped titles come out on several lines."""
    return " ".join(text.split())
