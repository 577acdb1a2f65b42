"""Reading the text of one PDF, defensively.

The bytes are checked before any parser sees them (header, end marker, size),
encryption is reported instead of crashed on, and every parser error is turned
into a DocumentError with a code that tells the applicant what is wrong with
the file.
"""

from __future__ import annotations

import io
import logging
from typing import Literal

import pdfplumber
import pypdf
from pydantic import BaseModel, ConfigDict
from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError, PyPdfError

from extractors.ocr import ocr_pages
from medlicense.errors import DocumentError

TextEngine = Literal["pdfplumber", "pdfium"]

# pdfminer and pypdf log every recoverable oddity of real-world PDFs at WARNING.
for _noisy in ("pdfminer", "pypdf"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)


class PageText(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int  # 1-based
    text: str
    ocr: bool = False  # the text was recognised from the page image

    @property
    def has_text(self) -> bool:
        return len(self.text.strip()) >= 20


class PdfText(BaseModel):
    model_config = ConfigDict(frozen=True)

    pages: tuple[PageText, ...]

    @property
    def page_count(self) -> int:
        return len(self.pages)


def sniff_pdf(data: bytes) -> None:
    """Reject what is not a complete PDF before a parser spends time on it."""
    head = data[:1024]
    if b"%PDF-" not in head:
        raise DocumentError("the file is not a PDF", code="document.not_pdf")
    # A PDF ends with %%EOF (possibly followed by whitespace); an upload cut short does not.
    if b"%%EOF" not in data[-2048:]:
        raise DocumentError("the PDF is incomplete (truncated upload?)", code="document.truncated")


def read_pdf(
    data: bytes, *, max_pages: int = 300, engine: TextEngine = "pdfplumber", ocr: bool = True
) -> PdfText:
    sniff_pdf(data)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise DocumentError(
                "the PDF is encrypted or password-protected", code="document.encrypted"
            )
        count = len(reader.pages)
    except DocumentError:
        raise
    except FileNotDecryptedError as exc:
        raise DocumentError("the PDF is encrypted", code="document.encrypted") from exc
    except LimitReachedError as exc:
        # pypdf's own guard against page trees nested to exhaust the stack.
        raise DocumentError(
            f"the PDF page tree is too deep: {exc}", code="document.too_deep"
        ) from exc
    except (
        PdfReadError,
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        RecursionError,
    ) as exc:
        raise DocumentError(f"the PDF cannot be parsed: {exc}", code="document.malformed") from exc
    if count == 0:
        raise DocumentError("the PDF has no pages", code="document.no_pages")
    if count > max_pages:
        raise DocumentError(
            f"the PDF has {count} pages, over the limit", code="document.too_many_pages"
        )
    texts = _pdfium_text(data) if engine == "pdfium" else _plumber_text(data)
    pages = [PageText(number=i + 1, text=t) for i, t in enumerate(texts)]
    blank = [p.number for p in pages if not p.has_text]
    if ocr and blank:
        recognised = ocr_pages(data, blank)
        pages = [
            PageText(number=p.number, text=recognised[p.number], ocr=True)
            if p.number in recognised
            else p
            for p in pages
        ]
    return PdfText(pages=tuple(pages))


def _plumber_text(data: bytes) -> list[str]:
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            out = []
            for page in pdf.pages:
                out.append(page.extract_text() or "")
                # pdfplumber caches layout objects per page; drop them to keep memory flat.
                page.flush_cache()
            return out
    except Exception as exc:  # pdfminer raises a zoo of private exception types
        raise DocumentError(
            f"the PDF text cannot be read: {exc}", code="document.malformed"
        ) from exc


def _pdfium_text(data: bytes) -> list[str]:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise DocumentError(f"the PDF cannot be parsed: {exc}", code="document.malformed") from exc
    try:
        out = []
        for index in range(len(doc)):
            page = doc[index]
            textpage = page.get_textpage()
            out.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return out
    finally:
        doc.close()
