"""OCR of pages that carry no text layer (scans), with Tesseract's Kazakh and Russian models.

Only image-only pages come here: OCR costs about a second a page, a text layer
costs milliseconds.  Tesseract runs as a subprocess with one thread, so the
caller decides the parallelism (one package per core) and a runaway page can
be stopped by its timeout.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import pypdfium2 as pdfium

from medlicense.errors import ConfigurationError, DocumentError

DEFAULT_LANGUAGES = "kaz+rus"
DEFAULT_DPI = 200
PAGE_TIMEOUT = 60.0


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def ocr_pages(
    data: bytes,
    page_numbers: list[int],
    *,
    languages: str = DEFAULT_LANGUAGES,
    dpi: int = DEFAULT_DPI,
    timeout: float = PAGE_TIMEOUT,
) -> dict[int, str]:
    """Text of the given 1-based pages, recognised from their rendered images."""
    if not page_numbers:
        return {}
    binary = shutil.which("tesseract")
    if binary is None:
        raise ConfigurationError(
            "tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-kaz tesseract-ocr-rus)",
            code="config.tesseract_missing",
        )
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise DocumentError(
            f"the PDF cannot be rendered for OCR: {exc}", code="document.malformed"
        ) from exc
    out: dict[int, str] = {}
    try:
        for number in page_numbers:
            page = doc[number - 1]
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            page.close()
            png = io.BytesIO()
            image.save(png, format="PNG")
            out[number] = _tesseract(binary, png.getvalue(), languages, timeout)
    finally:
        doc.close()
    return out


def _tesseract(binary: str, png: bytes, languages: str, timeout: float) -> str:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        proc = subprocess.run(
            [binary, "stdin", "stdout", "-l", languages, "--psm", "3"],
            input=png,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DocumentError("OCR of a page took too long", code="document.ocr_timeout") from exc
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [
            "unknown error"
        ]
        raise DocumentError(f"OCR failed: {message[0]}", code="document.ocr_failed")
    return proc.stdout.decode("utf-8", "replace")
