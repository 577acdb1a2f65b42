"""Reading the text of one PDF, defensively.

The bytes are checked before any parser sees them (header, end marker, size),
encryption is reported instead of crashed on, and every parser error is turned
into a DocumentError with a code that tells the applicant what is wrong with
the file.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator, Sequence
from typing import Literal

import pdfplumber
import pypdf
import pypdfium2 as pdfium
from pydantic import BaseModel, ConfigDict
from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError, PyPdfError

from extractors.ocr import ocr_pages
from extractors.tables import Table, page_tables
from medlicense.errors import DocumentError

TextEngine = Literal["pdfplumber", "pdfium"]
# Pages kept loaded between the text and the tables of one file (see OpenPdf).
KEEP_PAGES = 24

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


def check_pdf(data: bytes, *, max_pages: int = 300) -> int:
    """The page count of a PDF any parser may read; DocumentError with its code if not.

    pypdf looks first: it tells encryption, a page tree nested to exhaust a
    stack and a broken structure apart, each with its own code for the applicant.
    """
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
    return count


def read_pdf(
    data: bytes, *, max_pages: int = 300, engine: TextEngine = "pdfplumber", ocr: bool = True
) -> PdfText:
    if engine == "pdfium":
        with open_pdf(data, max_pages=max_pages, ocr=ocr, keep_pages=0) as pdf:
            return pdf.text
    check_pdf(data, max_pages=max_pages)
    return _with_ocr(data, _plumber_text(data), ocr=ocr)


@contextlib.contextmanager
def open_pdf(
    data: bytes, *, max_pages: int = 300, ocr: bool = True, keep_pages: int = KEEP_PAGES
) -> Iterator[OpenPdf]:
    """:func:`read_pdf` with pypdfium2, the document left open for its tables."""
    check_pdf(data, max_pages=max_pages)
    with OpenPdf(data, keep_pages=keep_pages) as pdf:
        pdf.text = _with_ocr(data, pdf.page_texts(), ocr=ocr)
        yield pdf


def _with_ocr(data: bytes, texts: list[str], *, ocr: bool) -> PdfText:
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


class OpenPdf:
    """One PDF opened once with pdfium: its page text, then the tables of some pages.

    The tables of a document are read after the pages are classified, so each
    page would be loaded twice.  Loading costs 0.5-0.8 ms a page and its text
    page 0.2-0.3 ms, so up to ``keep_pages`` pages stay loaded from the text pass
    to the tables (about 0.3 MB each on the generated forms: a ten-page file
    holds 3 MB a little longer); later pages are loaded again when asked for.
    """

    def __init__(self, data: bytes, *, keep_pages: int = KEEP_PAGES) -> None:
        try:
            self._doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise DocumentError(
                f"the PDF cannot be parsed: {exc}", code="document.malformed"
            ) from exc
        self._keep = keep_pages
        self._loaded: dict[int, tuple[pdfium.PdfPage, pdfium.PdfTextPage]] = {}
        self.text = PdfText(pages=())  # filled by open_pdf: page_texts() plus OCR

    def __enter__(self) -> OpenPdf:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def page_texts(self) -> list[str]:
        out = []
        for index in range(len(self._doc)):
            page = self._doc[index]
            textpage = page.get_textpage()
            out.append(textpage.get_text_range())
            if len(self._loaded) < self._keep:
                self._loaded[index + 1] = (page, textpage)
            else:
                textpage.close()
                page.close()
        return out

    def tables(self, pages: Sequence[int]) -> list[Table]:
        """Ruled tables of the given 1-based pages (see :mod:`extractors.tables`)."""
        out: list[Table] = []
        for number in pages:
            if not 1 <= number <= len(self._doc):
                continue
            kept = self._loaded.get(number)
            if kept is not None:
                out.extend(page_tables(*kept))
                continue
            try:
                page = self._doc[number - 1]
            except pdfium.PdfiumError:
                continue  # it loaded for its text; tables are a bonus either way
            try:
                out.extend(page_tables(page))
            finally:
                page.close()
        return out

    def close(self) -> None:
        for page, textpage in self._loaded.values():
            textpage.close()
            page.close()
        self._loaded.clear()
        self._doc.close()


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
    with OpenPdf(data, keep_pages=0) as pdf:
        return pdf.page_texts()
