"""Shared fixtures: one Renderer and one rendering of each receipt per session.

Setting a Renderer up and laying out a PDF are the slow parts, and every check
here only reads the result, so they are shared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from templates import ReceiptData, Renderer

from .documents import BUILDERS
from .helpers import acceptance, refusal


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture(scope="session")
def acceptance_data() -> ReceiptData:
    return acceptance()


@pytest.fixture(scope="session")
def refusal_data() -> ReceiptData:
    return refusal()


@pytest.fixture(scope="session")
def acceptance_pdf(
    renderer: Renderer, acceptance_data: ReceiptData, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("receipts") / "acceptance.pdf"
    path.write_bytes(renderer.render_receipt(acceptance_data))
    return path


@pytest.fixture(scope="session")
def refusal_pdf(
    renderer: Renderer, refusal_data: ReceiptData, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("receipts") / "refusal.pdf"
    path.write_bytes(renderer.render_receipt(refusal_data))
    return path


@pytest.fixture(scope="session", params=["acceptance", "refusal"])
def any_pdf(request: pytest.FixtureRequest, acceptance_pdf: Path, refusal_pdf: Path) -> Path:
    return acceptance_pdf if request.param == "acceptance" else refusal_pdf


# --- results of the service (templates/documents tests) ---------------------------


@pytest.fixture(scope="session")
def document_pdfs(renderer: Renderer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every test record of documents.BUILDERS rendered once, by kind."""
    directory = tmp_path_factory.mktemp("documents")
    paths = {}
    for kind, build in BUILDERS.items():
        paths[kind] = directory / f"{kind}.pdf"
        paths[kind].write_bytes(renderer.render(build()))
    return paths


@pytest.fixture(scope="session", params=list(BUILDERS))
def document_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def document_pdf(document_pdfs: dict[str, Path], document_kind: str) -> Path:
    return document_pdfs[document_kind]
